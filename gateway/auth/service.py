"""Sessions (U-02, U-03): login, refresh with rotation and reuse detection, logout, and the check every
authenticated request goes through.

A session is a refresh-token family. Login opens one (after the password, and the TOTP code for roles that
need it, U-05); each refresh swaps its one valid refresh token for a new one; presenting an older one revokes
the family. Every revocation is mirrored into Redis (``RevocationList``) and announced to the listeners (the
SSE hub closes the session's streams), so access tokens of a revoked session stop working at once.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import structlog

from gateway.auth.cipher import SecretCipher
from gateway.auth.config import AuthConfig
from gateway.auth.errors import InvalidCredentialsError, InvalidTokenError, TotpRequiredError
from gateway.auth.limits import AttemptLimiter, KeyValue, RevocationList, account_key
from gateway.auth.passwords import PasswordHasher
from gateway.auth.ports import RequestMeta, SessionStore, UserLike, UserStore
from gateway.auth.tokens import TokenKind, TokenService
from gateway.auth.totp import matching_step

__all__ = ["ROLES", "TOTP_ROLES", "AuditLog", "AuthService", "IssuedTokens", "Principal", "Via"]

log = structlog.get_logger(__name__)

ROLES = ("viewer", "trader", "admin")
TOTP_ROLES = frozenset({"trader", "admin"})  # U-05: mandatory for these
Via = Literal["bearer", "cookie"]
RevocationListener = Callable[[uuid.UUID | None, Sequence[uuid.UUID]], None]
_BAD_LOGIN = "invalid e-mail, password or code"


class AuditLog(Protocol):
    """Append-only audit (``storage.AuditRepository``)."""

    async def append(
        self,
        action: str,
        details: Mapping[str, object] | None = None,
        *,
        actor: str | None = None,
        target_type: str | None = None,
        target_id: str | None = None,
        context: RequestMeta | None = None,
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of a request."""

    user_id: uuid.UUID
    role: str
    sid: uuid.UUID
    via: Via
    csrf: str | None
    exp: int


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    """A fresh access + refresh pair (``csrf`` only for cookie sessions)."""

    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    csrf: str | None


def totp_context(user_id: uuid.UUID) -> str:
    """Return the cipher context binding a TOTP secret to its user row."""
    return f"totp:{user_id}"


class AuthService:
    """Login, refresh, logout and per-request authentication over the stores and Redis."""

    def __init__(
        self,
        *,
        config: AuthConfig,
        tokens: TokenService,
        users: UserStore,
        sessions: SessionStore,
        audit: AuditLog,
        kv: KeyValue,
        cipher: SecretCipher,
        hasher: PasswordHasher,
    ) -> None:
        self.config = config
        self.tokens = tokens
        self.users = users
        self.sessions = sessions
        self.audit = audit
        self.cipher = cipher
        self.hasher = hasher
        self.limiter = AttemptLimiter(kv, config.lockout)
        self.revoked = RevocationList(kv, ttl_s=config.access_ttl_s + 60, cache_s=config.revocation_cache_s)
        self._listeners: list[RevocationListener] = []

    def on_revoke(self, listener: RevocationListener) -> None:
        """Call ``listener(user_id, sids)`` after sessions are revoked (user_id None: unknown user)."""
        self._listeners.append(listener)

    # ------------------------------------------------------------------------------------------ per request

    async def authenticate(self, token: str) -> Principal:
        """Return the principal of a valid, unrevoked access token; raise ``InvalidTokenError`` otherwise."""
        claims = self.tokens.verify(token, TokenKind.ACCESS)
        if await self.revoked.is_revoked(claims.sid):
            raise InvalidTokenError("invalid token: the session was ended")
        via: Via = "cookie" if claims.csrf is not None else "bearer"
        return Principal(claims.sub, claims.role, claims.sid, via, claims.csrf, claims.exp)

    # ------------------------------------------------------------------------------------------ login

    async def check_totp(self, user: UserLike, code: str | None) -> int | None:
        """Return the accepted time step of ``code`` for ``user`` (claimed: never accepted again), or None."""
        if not code or user.totp_secret_enc is None:
            return None
        secret = await self.cipher.decrypt(user.totp_secret_enc, totp_context(user.id))
        step = matching_step(secret, code)
        if step is None or not await self.users.claim_totp_step(user.id, step):
            return None
        return step

    async def login(
        self, email: str, password: str, totp_code: str | None, meta: RequestMeta, via: Via
    ) -> IssuedTokens:
        """Check e-mail, password and (when enrolled or required) the TOTP code; open a session.

        Unknown e-mail, disabled account, wrong password and wrong code give the same answer after the same
        work (a password hash is always verified). Failures count toward the account's and the address's
        soft lockout, which is checked first.
        """
        acct, ip = account_key(email), meta.ip or "unknown"
        await self.limiter.check(acct, ip)
        user = await self.users.by_email(email)
        usable = user is not None and user.is_active and user.pseudonymised_at is None
        ok = await self.hasher.verify(user.password_hash if usable and user else None, password)
        if ok and user is not None and (user.role in TOTP_ROLES or user.totp_enabled):
            if not user.totp_enabled:
                await self._audit("login_refused", meta, user.id, {"reason": "totp_not_enrolled"})
                raise TotpRequiredError(
                    "this account must enrol a TOTP authenticator: ask an admin for a reset"
                )
            ok = await self.check_totp(user, totp_code) is not None
        if not ok or user is None:
            await self.limiter.failed(acct, ip)
            await self._audit("login_failed", meta, user.id if user else None, {})
            raise InvalidCredentialsError(_BAD_LOGIN)
        await self.limiter.succeeded(acct)
        return await self.open_session(user.id, user.role, via, meta.as_user(user.id))

    async def open_session(self, user_id: uuid.UUID, role: str, via: Via, meta: RequestMeta) -> IssuedTokens:
        """Open a refresh family for ``user_id`` (audited ``login``) and return its first token pair."""
        jti = secrets.token_urlsafe(16)
        sid, _ = await self.sessions.open(user_id, jti, self.config.refresh_ttl_s, via, meta)
        log.info("session opened", user_id=str(user_id), via=via)
        return self._pair(user_id, role, sid, jti, via)

    def _pair(self, user_id: uuid.UUID, role: str, sid: uuid.UUID, jti: str, via: Via) -> IssuedTokens:
        csrf = secrets.token_urlsafe(24) if via == "cookie" else None
        access, _ = self.tokens.issue(TokenKind.ACCESS, user_id, role, sid, csrf=csrf)
        refresh, _ = self.tokens.issue(TokenKind.REFRESH, user_id, role, sid, csrf=csrf, jti=jti)
        return IssuedTokens(access, refresh, self.config.access_ttl_s, self.config.refresh_ttl_s, csrf)

    # ------------------------------------------------------------------------------------------ refresh

    async def refresh(self, refresh_token: str, meta: RequestMeta) -> IssuedTokens:
        """Rotate a refresh token; a reused one revokes its family (and says so)."""
        claims = self.tokens.verify(refresh_token, TokenKind.REFRESH)
        new_jti = secrets.token_urlsafe(16)
        rotation = await self.sessions.rotate(claims.sid, claims.jti, new_jti)
        if rotation.outcome != "rotated" or rotation.role is None:
            if rotation.outcome in ("reused", "inactive"):
                await self._revoked(rotation.user_id, [claims.sid])
            if rotation.outcome == "reused":
                log.warning("refresh token reuse: session revoked", user_id=str(claims.sub))
                raise InvalidTokenError("invalid token: refresh token reused, the session is revoked")
            raise InvalidTokenError(f"invalid token: the session is {rotation.outcome}")
        via: Via = "cookie" if rotation.via == "cookie" else "bearer"
        return self._pair(claims.sub, rotation.role, claims.sid, new_jti, via)

    # ------------------------------------------------------------------------------------------ revoke

    async def logout(self, principal: Principal, meta: RequestMeta) -> None:
        """End the caller's session (its refresh family and every access token of it)."""
        await self.sessions.revoke(principal.sid, "logout")
        await self._revoked(principal.user_id, [principal.sid])
        await self._audit("logout", meta, principal.user_id, {"session": str(principal.sid)})

    async def revoke_user(self, user_id: uuid.UUID, reason: str) -> None:
        """End every session of ``user_id`` (password/role change, TOTP reset, deactivation)."""
        sids = await self.sessions.revoke_user(user_id, reason)
        await self._revoked(user_id, sids)
        log.info("sessions revoked", user_id=str(user_id), reason=reason, sessions=len(sids))

    async def _revoked(self, user_id: uuid.UUID | None, sids: Sequence[uuid.UUID]) -> None:
        await self.revoked.revoke(sids)
        for listener in self._listeners:
            listener(user_id, sids)

    async def _audit(
        self, action: str, meta: RequestMeta, user_id: uuid.UUID | None, details: Mapping[str, object]
    ) -> None:
        await self.audit.append(
            action, details, target_type="user", target_id=str(user_id) if user_id else None, context=meta
        )
