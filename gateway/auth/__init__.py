"""Authentication, sessions, accounts and secrets of the gateway (U-01..U-11, DESIGN §10).

Front door (STYLE §1): the gateway's routes and the composition root import only the names below.
"""

from __future__ import annotations

from gateway.auth.accounts import Accounts, hash_token, new_token
from gateway.auth.cipher import CipherError, LocalCipher, SecretCipher, VaultTransitCipher
from gateway.auth.config import AuthConfig, CipherConfig, LockoutConfig, MailConfig, PasswordHashConfig
from gateway.auth.errors import (
    AuthError,
    AuthUnavailableError,
    ConflictError,
    CsrfError,
    ForbiddenError,
    InvalidCredentialsError,
    InvalidOneTimeTokenError,
    InvalidTokenError,
    LockedOutError,
    PasswordPolicyError,
    TokenInQueryError,
    TotpRequiredError,
)
from gateway.auth.limits import AttemptLimiter, KeyValue, RevocationList
from gateway.auth.mail import LogMailSender, MailSender, SmtpMailSender, mail_sender_for
from gateway.auth.passwords import PasswordHasher, password_problem
from gateway.auth.ports import RequestMeta, SessionStore, UserLike, UserStore
from gateway.auth.service import ROLES, TOTP_ROLES, AuditLog, AuthService, IssuedTokens, Principal
from gateway.auth.tokens import Claims, TokenKind, TokenService
from gateway.auth.totp import TotpEnrolment, enrolment, matching_step, new_secret

__all__ = [
    "ROLES",
    "TOTP_ROLES",
    "Accounts",
    "AttemptLimiter",
    "AuditLog",
    "AuthConfig",
    "AuthError",
    "AuthService",
    "AuthUnavailableError",
    "CipherConfig",
    "CipherError",
    "Claims",
    "ConflictError",
    "CsrfError",
    "ForbiddenError",
    "InvalidCredentialsError",
    "InvalidOneTimeTokenError",
    "InvalidTokenError",
    "IssuedTokens",
    "KeyValue",
    "LocalCipher",
    "LockedOutError",
    "LockoutConfig",
    "LogMailSender",
    "MailConfig",
    "MailSender",
    "PasswordHashConfig",
    "PasswordHasher",
    "PasswordPolicyError",
    "Principal",
    "RequestMeta",
    "RevocationList",
    "SecretCipher",
    "SessionStore",
    "SmtpMailSender",
    "TokenInQueryError",
    "TokenKind",
    "TokenService",
    "TotpEnrolment",
    "TotpRequiredError",
    "UserLike",
    "UserStore",
    "VaultTransitCipher",
    "enrolment",
    "hash_token",
    "mail_sender_for",
    "matching_step",
    "new_secret",
    "new_token",
    "password_problem",
]
