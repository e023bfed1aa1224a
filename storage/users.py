"""Repository of users and their one-time tokens (U-01, U-02, U-05, U-10).

An account is created without a password; it is activated through a one-time token valid for a limited time.
Only the token's hash is stored (``user_tokens.token_hash``): the caller hashes the token it hands out, and
whoever checks a presented token hashes it the same way. E-mails are unique case-insensitively. Every change
writes its ``audit_trail`` row in the same transaction (U-11). Refresh sessions are in ``storage.sessions``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from storage.audit import AuditContext, AuditContextLike, AuditRepository
from storage.database import Connection, Database

__all__ = ["IssuedActivation", "UserRecord", "UserRepository"]

_LOCK_BY_EMAIL = "SELECT id, password_hash FROM users WHERE lower(email) = lower($1) FOR UPDATE"
_INSERT_USER = "INSERT INTO users (email, role) VALUES ($1, $2) RETURNING id"
_VOID_ONE_TIME = (
    "UPDATE user_tokens SET used_at = now() WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL"
)
_INSERT_ONE_TIME = (
    "INSERT INTO user_tokens (user_id, purpose, token_hash, expires_at) "
    "VALUES ($1, $2, $3, now() + make_interval(hours => $4))"
)
_USER = (
    "SELECT id, email, role, password_hash, is_active, totp_secret_enc, totp_enabled, created_at, "
    "updated_at, last_login_at, pseudonymised_at, totp_last_step FROM users "
)
_BY_EMAIL = _USER + "WHERE lower(email) = lower($1)"
_BY_ID = _USER + "WHERE id = $1"
_LIST = _USER + "ORDER BY created_at, email"
_COUNT = "SELECT count(*) FROM users"
_ONE_TIME_USER = (
    "SELECT t.id AS token_id, u.id, u.email, u.role, u.password_hash, u.is_active, u.totp_secret_enc, "
    "u.totp_enabled, u.created_at, u.updated_at, u.last_login_at, u.pseudonymised_at, u.totp_last_step "
    "FROM user_tokens t JOIN users u ON u.id = t.user_id "
    "WHERE t.token_hash = $1 AND t.purpose = $2 AND t.used_at IS NULL AND t.expires_at > now()"
)
_LOCK_ONE_TIME = _ONE_TIME_USER + " FOR UPDATE OF t, u"
_DELETE_ONE_TIME = "DELETE FROM user_tokens WHERE id = $1"
_SET_PENDING_TOTP = "UPDATE users SET totp_secret_enc = $2, totp_enabled = false WHERE id = $1"
_ACTIVATE = (
    "UPDATE users SET password_hash = $2, is_active = true, totp_enabled = $3, "
    "totp_last_step = COALESCE($4, totp_last_step), totp_secret_enc = CASE WHEN $3 THEN totp_secret_enc "
    "ELSE NULL END WHERE id = $1"
)
_CLAIM_STEP = (
    "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2) "
    "RETURNING id"
)
_LOGGED_IN = "UPDATE users SET last_login_at = now() WHERE id = $1"
_SET_HASH = "UPDATE users SET password_hash = $2 WHERE id = $1"
_ENABLE_TOTP = (
    "UPDATE users SET totp_enabled = true WHERE id = $1 AND totp_secret_enc IS NOT NULL RETURNING id"
)
_DISABLE_TOTP = "UPDATE users SET totp_enabled = false, totp_secret_enc = NULL WHERE id = $1"
_SET_ROLE = "UPDATE users SET role = $2 WHERE id = $1"
_SET_ACTIVE = "UPDATE users SET is_active = $2 WHERE id = $1"
_RESET_ACCOUNT = (
    "UPDATE users SET password_hash = NULL, totp_enabled = false, totp_secret_enc = NULL, "
    "totp_last_step = NULL WHERE id = $1"
)
_ANONYMISE = (
    "UPDATE users SET email = 'erased-' || id::text || '@invalid', password_hash = NULL, is_active = false, "
    "totp_enabled = false, totp_secret_enc = NULL, pseudonymised_at = now() WHERE id = $1 "
    "AND pseudonymised_at IS NULL RETURNING id"
)
_DELETE_USER_TOKENS = "DELETE FROM user_tokens WHERE user_id = $1"


@dataclass(frozen=True, slots=True)
class UserRecord:
    """One ``users`` row (the TOTP secret only as ciphertext)."""

    id: uuid.UUID
    email: str
    role: str
    password_hash: str | None
    is_active: bool
    totp_secret_enc: str | None
    totp_enabled: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    last_login_at: dt.datetime | None
    pseudonymised_at: dt.datetime | None
    totp_last_step: int | None

    @property
    def activated(self) -> bool:
        """Return whether a password was ever set (the account left the activation state)."""
        return self.password_hash is not None


@dataclass(frozen=True, slots=True)
class IssuedActivation:
    """An activation token was stored for ``user_id``; ``reissued`` when the user existed unactivated."""

    user_id: uuid.UUID
    reissued: bool


def _user(row: asyncpg.Record | None) -> UserRecord | None:
    if row is None:
        return None
    return UserRecord(**{k: row[k] for k in UserRecord.__slots__})


class UserRepository:
    """Explicit SQL over ``users`` and ``user_tokens``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # ------------------------------------------------------------------------------------------ reads

    async def count(self) -> int:
        """Return how many users exist (zero on a fresh install: ``algogrid run`` bootstraps an admin)."""
        return int(await self._db.fetchval(_COUNT))

    async def by_email(self, email: str) -> UserRecord | None:
        """Return the user with ``email`` (case-insensitive) or None."""
        return _user(await self._db.fetchrow(_BY_EMAIL, email))

    async def get(self, user_id: uuid.UUID) -> UserRecord | None:
        """Return the user ``user_id`` or None."""
        return _user(await self._db.fetchrow(_BY_ID, user_id))

    async def list(self) -> list[UserRecord]:
        """Return every user, oldest first."""
        return [u for u in (_user(r) for r in await self._db.fetch(_LIST)) if u is not None]

    async def token_user(self, token_hash: str, purpose: str) -> UserRecord | None:
        """Return the user of a valid (unused, unexpired) one-time token, or None."""
        return _user(await self._db.fetchrow(_ONE_TIME_USER, token_hash, purpose))

    # ------------------------------------------------------------------------------------------ creation

    async def issue_admin_activation(
        self, email: str, token_hash: str, *, ttl_hours: int, actor: str
    ) -> IssuedActivation | None:
        """Create admin ``email`` (or reuse it while never activated) and store an activation token hash."""
        return await self.create_user(email, "admin", token_hash, ttl_hours=ttl_hours, actor=actor)

    async def create_user(
        self,
        email: str,
        role: str,
        token_hash: str,
        *,
        ttl_hours: int,
        actor: str | None = None,
        context: AuditContextLike | None = None,
    ) -> IssuedActivation | None:
        """Create ``email`` with ``role`` (or reuse it while never activated) and store an activation token.

        One transaction: the user row is locked, older unused activation tokens of a reused user are voided,
        the new token (valid ``ttl_hours``) is stored and a ``user_created`` audit row is written.

        Returns:
            the user and whether it existed already, or None (nothing written) when an activated user has
            that e-mail.
        """
        async with self._db.transaction() as conn:
            existing = await conn.fetchrow(_LOCK_BY_EMAIL, email)
            if existing is not None and existing["password_hash"] is not None:
                return None
            if existing is None:
                user_id: uuid.UUID = await conn.fetchval(_INSERT_USER, email, role)
            else:  # created before but never activated: a fresh token voids the old ones
                user_id = existing["id"]
                await conn.execute(_SET_ROLE, user_id, role)
                await conn.execute(_VOID_ONE_TIME, user_id, "activation")
            await conn.execute(_INSERT_ONE_TIME, user_id, "activation", token_hash, ttl_hours)
            await AuditRepository(conn).append(
                "user_created",
                {"role": role, "reissued": existing is not None},
                actor=actor,
                target_type="user",
                target_id=str(user_id),
                context=context,
            )
        return IssuedActivation(user_id=user_id, reissued=existing is not None)

    async def issue_token(self, user_id: uuid.UUID, purpose: str, token_hash: str, *, ttl_hours: int) -> None:
        """Store a one-time token of ``purpose`` for ``user_id``, voiding its older unused ones."""
        async with self._db.transaction() as conn:
            await conn.execute(_VOID_ONE_TIME, user_id, purpose)
            await conn.execute(_INSERT_ONE_TIME, user_id, purpose, token_hash, ttl_hours)

    # ------------------------------------------------------------------------------------------ activation

    async def set_pending_totp(self, user_id: uuid.UUID, secret_enc: str) -> None:
        """Store a not-yet-confirmed TOTP secret (ciphertext) for ``user_id``."""
        await self._db.execute(_SET_PENDING_TOTP, user_id, secret_enc)

    async def consume_token(
        self,
        token_hash: str,
        purpose: str,
        password_hash: str,
        *,
        totp_step: int | None,
        context: AuditContextLike,
    ) -> UserRecord | None:
        """Spend a one-time token: set the password (and confirm TOTP at ``totp_step``), delete the token.

        ``activation`` writes ``user_activated`` (+ ``totp_enabled``); ``password_reset`` writes
        ``password_reset``. Returns the user as it was before, or None when the token is not valid.
        """
        async with self._db.transaction() as conn:
            row = await conn.fetchrow(_LOCK_ONE_TIME, token_hash, purpose)
            user = _user(row)
            if row is None or user is None:
                return None
            await conn.execute(_DELETE_ONE_TIME, row["token_id"])
            audit = AuditRepository(conn)
            who = AuditContext(
                user.id, context.ip, context.user_agent, context.request_id, context.correlation_id
            )
            if purpose == "activation":
                enable = totp_step is not None
                await conn.execute(_ACTIVATE, user.id, password_hash, enable, totp_step)
                await audit.append(
                    "user_activated",
                    {"role": user.role},
                    target_type="user",
                    target_id=str(user.id),
                    context=who,
                )
                if enable:
                    await audit.append(
                        "totp_enabled", {}, target_type="user", target_id=str(user.id), context=who
                    )
            else:
                await conn.execute(_SET_HASH, user.id, password_hash)
                await audit.append(
                    "password_reset", {}, target_type="user", target_id=str(user.id), context=who
                )
        return user

    async def claim_totp_step(self, user_id: uuid.UUID, step: int) -> bool:
        """Record ``step`` as used; False when it (or a later step) was used already (U-05: no replay)."""
        return await self._db.fetchval(_CLAIM_STEP, user_id, step) is not None

    # ------------------------------------------------------------------------------------------ changes

    async def logged_in(self, user_id: uuid.UUID, conn: Connection | None = None) -> None:
        """Stamp ``last_login_at``."""
        await (conn or self._db).execute(_LOGGED_IN, user_id)

    async def set_password(self, user_id: uuid.UUID, password_hash: str, context: AuditContextLike) -> None:
        """Replace the password hash and write ``password_changed``."""
        async with self._db.transaction() as conn:
            await conn.execute(_SET_HASH, user_id, password_hash)
            await AuditRepository(conn).append(
                "password_changed", {}, target_type="user", target_id=str(user_id), context=context
            )

    async def enable_totp(self, user_id: uuid.UUID, context: AuditContextLike) -> bool:
        """Confirm the pending TOTP secret; write ``totp_enabled``. False when no secret is pending."""
        async with self._db.transaction() as conn:
            if await conn.fetchval(_ENABLE_TOTP, user_id) is None:
                return False
            await AuditRepository(conn).append(
                "totp_enabled", {}, target_type="user", target_id=str(user_id), context=context
            )
        return True

    async def disable_totp(self, user_id: uuid.UUID, context: AuditContextLike) -> None:
        """Drop the TOTP secret; write ``totp_disabled``."""
        async with self._db.transaction() as conn:
            await conn.execute(_DISABLE_TOTP, user_id)
            await AuditRepository(conn).append(
                "totp_disabled", {}, target_type="user", target_id=str(user_id), context=context
            )

    async def update(
        self,
        user_id: uuid.UUID,
        *,
        role: str | None,
        is_active: bool | None,
        reset_token_hash: str | None,
        ttl_hours: int,
        context: AuditContextLike,
    ) -> None:
        """Change role and/or status, or reset the account (password and TOTP cleared, a new activation
        token stored): each change writes its audit row (``role_changed``, ``user_disabled``/``user_enabled``,
        ``account_reset``) in one transaction."""
        async with self._db.transaction() as conn:
            audit = AuditRepository(conn)
            target = {"target_type": "user", "target_id": str(user_id), "context": context}
            if role is not None:
                await conn.execute(_SET_ROLE, user_id, role)
                await audit.append("role_changed", {"role": role}, **target)  # type: ignore[arg-type]
            if is_active is not None:
                await conn.execute(_SET_ACTIVE, user_id, is_active)
                action = "user_enabled" if is_active else "user_disabled"
                await audit.append(action, {}, **target)  # type: ignore[arg-type]
            if reset_token_hash is not None:
                await conn.execute(_RESET_ACCOUNT, user_id)
                await conn.execute(_VOID_ONE_TIME, user_id, "activation")
                await conn.execute(_INSERT_ONE_TIME, user_id, "activation", reset_token_hash, ttl_hours)
                await audit.append("account_reset", {"totp": "cleared"}, **target)  # type: ignore[arg-type]

    async def anonymise(self, user_id: uuid.UUID, context: AuditContextLike) -> bool:
        """Pseudonymise the person (U-10): e-mail erased, secrets dropped, account disabled; audit rows stay,
        pointing at an id that no longer names anyone. False when already done."""
        async with self._db.transaction() as conn:
            if await conn.fetchval(_ANONYMISE, user_id) is None:
                return False
            await conn.execute(_DELETE_USER_TOKENS, user_id)
            await AuditRepository(conn).append(
                "user_anonymised", {}, target_type="user", target_id=str(user_id), context=context
            )
        return True

    async def export(self, user_id: uuid.UUID) -> dict[str, Any] | None:
        """Return what is stored about the person (U-10): the account (no secrets) and their audit rows."""
        user = await self.get(user_id)
        if user is None:
            return None
        account = {
            "id": str(user.id),
            "email": user.email,
            "role": user.role,
            "is_active": user.is_active,
            "totp_enabled": user.totp_enabled,
            "created_at": user.created_at.isoformat(),
            "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
        }
        audit = await AuditRepository(self._db).recent(user_id, limit=10_000)
        return {"account": account, "audit": audit}
