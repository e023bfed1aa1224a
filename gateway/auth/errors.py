"""The auth part of the gateway's exception tree (a branch of ``gateway.errors.GatewayError``).

::

    GatewayError
    └── AuthError                       401 unauthorised (base: not authenticated)
        ├── InvalidTokenError           401 invalid_token: bad, expired, revoked or mistyped token
        ├── InvalidCredentialsError     401 invalid_credentials: same answer for unknown user, wrong password
        │                                   and wrong code (no enumeration)
        ├── ForbiddenError              403 forbidden: authenticated, but the role may not do this
        │   └── ReauthenticationError   403 reauth_failed: the password or code confirming a grave change
        │                                   is wrong (the session stays valid, U-05)
        ├── CsrfError                   403 csrf_failed: a cookie session's unsafe request without the token
        ├── TokenInQueryError           400 token_in_query: a credential in a URL is refused
        ├── LockedOutError              429 too_many_attempts: soft lockout (Retry-After)
        ├── InvalidOneTimeTokenError    400 invalid_one_time_token: activation/reset token unknown, used,
        │                                   expired
        ├── PasswordPolicyError         422 weak_password: U-04 policy (the reason says which rule)
        ├── TotpRequiredError           403 totp_enrolment_required: the role needs 2FA and none is enrolled
        ├── AuthUnavailableError        503 auth_unavailable: Redis did not answer (fail closed)
        └── ConflictError               409 conflict: e-mail taken, 2FA mandatory, nothing pending …

``gateway.app`` answers each from ``status_code``/``error`` like every other ``GatewayError``.
"""

from __future__ import annotations

from gateway.errors import GatewayError

__all__ = [
    "AuthError",
    "AuthUnavailableError",
    "ConflictError",
    "CsrfError",
    "ForbiddenError",
    "InvalidCredentialsError",
    "InvalidOneTimeTokenError",
    "InvalidTokenError",
    "LockedOutError",
    "PasswordPolicyError",
    "ReauthenticationError",
    "TokenInQueryError",
    "TotpRequiredError",
]


class AuthError(GatewayError):
    """Not authenticated."""

    status_code = 401
    error = "unauthorised"


class InvalidTokenError(AuthError):
    error = "invalid_token"


class InvalidCredentialsError(AuthError):
    error = "invalid_credentials"


class ForbiddenError(AuthError):
    status_code = 403
    error = "forbidden"


class ReauthenticationError(ForbiddenError):
    error = "reauth_failed"


class CsrfError(AuthError):
    status_code = 403
    error = "csrf_failed"


class TokenInQueryError(AuthError):
    status_code = 400
    error = "token_in_query"


class LockedOutError(AuthError):
    """Too many failures: try again after ``retry_after_s``."""

    status_code = 429
    error = "too_many_attempts"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class InvalidOneTimeTokenError(AuthError):
    status_code = 400
    error = "invalid_one_time_token"


class PasswordPolicyError(AuthError):
    status_code = 422
    error = "weak_password"


class TotpRequiredError(AuthError):
    status_code = 403
    error = "totp_enrolment_required"


class AuthUnavailableError(AuthError):
    status_code = 503
    error = "auth_unavailable"


class ConflictError(AuthError):
    status_code = 409
    error = "conflict"
