"""The ``gateway.auth`` front door exports exactly what other rooms use; every name resolves (STYLE §1)."""

from __future__ import annotations

import gateway.auth
from tests.support.exports import assert_front_door

EXPECTED = [
    "ROLES", "TOTP_ROLES", "Accounts", "AttemptLimiter", "AuditLog", "AuthConfig", "AuthError",
    "AuthService", "AuthUnavailableError", "CipherConfig", "CipherError", "Claims", "ConflictError",
    "CsrfError", "ForbiddenError", "InvalidCredentialsError", "InvalidOneTimeTokenError",
    "InvalidTokenError", "IssuedTokens", "KeyValue", "LocalCipher", "LockedOutError", "LockoutConfig",
    "LogMailSender", "MailConfig", "MailSender", "PasswordHashConfig", "PasswordHasher",
    "PasswordPolicyError", "Principal", "RequestMeta", "RevocationList", "SecretCipher", "SessionStore",
    "SmtpMailSender", "TokenInQueryError", "TokenKind", "TokenService", "TotpEnrolment",
    "TotpRequiredError", "UserLike", "UserStore", "VaultTransitCipher", "enrolment", "hash_token",
    "mail_sender_for", "matching_step", "new_secret", "new_token", "password_problem",
]  # fmt: skip


def test_the_front_door_exports_exactly_the_pinned_names() -> None:
    assert_front_door(gateway.auth, EXPECTED)
