"""Repository of refresh-token families (U-03): one family per login, rotated on every refresh.

A family remembers the one refresh token (``current_jti``) that may be used next. Presenting an older token of
the family is a reuse: the whole family is revoked at once (the thief and the owner both lose it). Logout,
password and role changes, a TOTP reset and deactivation revoke families; the gateway mirrors every revocation
into Redis so access tokens of the family stop working before they expire.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass

from storage.audit import AuditContext, AuditContextLike, AuditRepository
from storage.database import Database

__all__ = ["RefreshOutcome", "Rotation", "SessionRepository"]

_OPEN = (
    "INSERT INTO refresh_token_families (user_id, current_jti, expires_at, via) "
    "VALUES ($1, $2, now() + make_interval(secs => $3), $4) RETURNING id, expires_at"
)
_LOGGED_IN = "UPDATE users SET last_login_at = now() WHERE id = $1"
_LOCK = (
    "SELECT f.id, f.user_id, f.current_jti, f.expires_at, f.revoked_at, f.via, u.is_active, u.role "
    "FROM refresh_token_families f JOIN users u ON u.id = f.user_id WHERE f.id = $1 FOR UPDATE OF f"
)
_ROTATE = "UPDATE refresh_token_families SET current_jti = $2, rotated_at = now() WHERE id = $1"
_REVOKE = (
    "UPDATE refresh_token_families SET revoked_at = now(), revoked_reason = $2 "
    "WHERE id = $1 AND revoked_at IS NULL RETURNING user_id"
)
_REVOKE_USER = (
    "UPDATE refresh_token_families SET revoked_at = now(), revoked_reason = $2 "
    "WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() RETURNING id"
)


class RefreshOutcome(enum.StrEnum):
    """What presenting a refresh token did."""

    ROTATED = "rotated"
    REUSED = "reused"  # an older token of the family: the family is now revoked
    REVOKED = "revoked"
    EXPIRED = "expired"
    UNKNOWN = "unknown"
    INACTIVE = "inactive"  # the user is disabled: the family is revoked


@dataclass(frozen=True, slots=True)
class Rotation:
    """The outcome of a refresh and, when rotated, whose family it is (role read in the same statement)."""

    outcome: RefreshOutcome
    user_id: uuid.UUID | None = None
    role: str | None = None
    via: str | None = None
    expires_at: dt.datetime | None = None


class SessionRepository:
    """Explicit SQL over ``refresh_token_families``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def open(
        self, user_id: uuid.UUID, jti: str, ttl_s: int, via: str, context: AuditContextLike
    ) -> tuple[uuid.UUID, dt.datetime]:
        """Start a family for a successful login: stamp ``last_login_at`` and write ``login`` (U-02)."""
        async with self._db.transaction() as conn:
            row = await conn.fetchrow(_OPEN, user_id, jti, float(ttl_s), via)
            assert row is not None
            await conn.execute(_LOGGED_IN, user_id)
            await AuditRepository(conn).append(
                "login",
                {"via": via, "session": str(row["id"])},
                target_type="user",
                target_id=str(user_id),
                context=context,
            )
        return row["id"], row["expires_at"]

    async def rotate(self, family_id: uuid.UUID, presented_jti: str, new_jti: str) -> Rotation:
        """Swap the family's current token for ``new_jti`` if ``presented_jti`` is it; else classify.

        A presented token that is not the current one revokes the family (``reuse_detected``) and its audit
        row is written in the same transaction.
        """
        async with self._db.transaction() as conn:
            row = await conn.fetchrow(_LOCK, family_id)
            if row is None:
                return Rotation(RefreshOutcome.UNKNOWN)
            user_id: uuid.UUID = row["user_id"]
            if row["revoked_at"] is not None:
                return Rotation(RefreshOutcome.REVOKED, user_id)
            if row["expires_at"] <= dt.datetime.now(dt.UTC):
                return Rotation(RefreshOutcome.EXPIRED, user_id)
            if row["current_jti"] != presented_jti:
                await conn.execute(_REVOKE, family_id, "reuse_detected")
                await AuditRepository(conn).append(
                    "refresh_reuse_detected",
                    {"session": str(family_id)},
                    target_type="user",
                    target_id=str(user_id),
                    context=AuditContext(actor_user_id=user_id),
                )
                return Rotation(RefreshOutcome.REUSED, user_id)
            if not row["is_active"]:
                await conn.execute(_REVOKE, family_id, "user_disabled")
                return Rotation(RefreshOutcome.INACTIVE, user_id)
            await conn.execute(_ROTATE, family_id, new_jti)
            return Rotation(RefreshOutcome.ROTATED, user_id, row["role"], row["via"], row["expires_at"])

    async def revoke(self, family_id: uuid.UUID, reason: str) -> uuid.UUID | None:
        """Revoke one family (logout); return its user, or None if it was not active."""
        result: uuid.UUID | None = await self._db.fetchval(_REVOKE, family_id, reason)
        return result

    async def revoke_user(self, user_id: uuid.UUID, reason: str) -> list[uuid.UUID]:
        """Revoke every active family of ``user_id``; return their ids (to mirror into Redis)."""
        return [row["id"] for row in await self._db.fetch(_REVOKE_USER, user_id, reason)]
