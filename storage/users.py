"""Repository of users and their one-time tokens (U-01, U-02): what ``algogrid create-admin`` writes.

An account is created without a password; it is activated through a one-time token valid for a limited time.
Only the token's hash is stored (``user_tokens.token_hash``): the caller hashes the token it hands out, and
whoever checks a presented token hashes it the same way. E-mails are unique case-insensitively.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from storage.audit import AuditRepository
from storage.database import Database

__all__ = ["IssuedActivation", "UserRepository"]

_LOCK_BY_EMAIL = "SELECT id, password_hash FROM users WHERE lower(email) = lower($1) FOR UPDATE"
_INSERT_ADMIN = "INSERT INTO users (email, role) VALUES ($1, 'admin') RETURNING id"
_VOID_ACTIVATIONS = (
    "UPDATE user_tokens SET used_at = now() WHERE user_id = $1 AND purpose = 'activation' AND used_at IS NULL"
)
_INSERT_ACTIVATION = (
    "INSERT INTO user_tokens (user_id, purpose, token_hash, expires_at) "
    "VALUES ($1, 'activation', $2, now() + make_interval(hours => $3))"
)


@dataclass(frozen=True, slots=True)
class IssuedActivation:
    """An activation token was stored for ``user_id``; ``reissued`` when the user existed unactivated."""

    user_id: uuid.UUID
    reissued: bool


class UserRepository:
    """Explicit SQL over ``users`` and ``user_tokens``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def issue_admin_activation(
        self, email: str, token_hash: str, *, ttl_hours: int, actor: str
    ) -> IssuedActivation | None:
        """Create admin ``email`` (or reuse it while never activated) and store an activation token hash.

        One transaction: the user row is locked, older unused activation tokens of a reused user are voided,
        the new token (valid ``ttl_hours``) is stored and a ``user_created`` audit row names ``actor``.

        Returns:
            the user and whether it existed already, or None (nothing written) when an activated user has
            that e-mail.
        """
        async with self._db.transaction() as conn:
            existing = await conn.fetchrow(_LOCK_BY_EMAIL, email)
            if existing is not None and existing["password_hash"] is not None:
                return None
            if existing is None:
                user_id: uuid.UUID = await conn.fetchval(_INSERT_ADMIN, email)
            else:  # created before but never activated: a fresh token voids the old ones
                user_id = existing["id"]
                await conn.execute(_VOID_ACTIVATIONS, user_id)
            await conn.execute(_INSERT_ACTIVATION, user_id, token_hash, ttl_hours)
            await AuditRepository(conn).append(
                "user_created",
                {"role": "admin", "reissued": existing is not None},
                actor=actor,
                target_type="user",
                target_id=str(user_id),
            )
        return IssuedActivation(user_id=user_id, reissued=existing is not None)
