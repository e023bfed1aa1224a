"""Repository of Bybit API keys (U-08): only the secret's ciphertext is stored, never the plaintext.

Rotation is a new row (``rotated_from`` naming the old one) while the old row turns inactive, in one
transaction; every decryption for use is recorded as ``bybit_key_used`` (the caller decrypts, this
repository stamps ``last_used_at`` and writes the audit row).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import asyncpg

from storage.audit import AuditContextLike, AuditRepository
from storage.database import Database

__all__ = ["ApiKeyRecord", "ApiKeyRepository"]

_FIELDS = (
    "SELECT id, user_id, label, exchange, environment, api_key, secret_ciphertext, cipher, is_active, "
    "rotated_from, created_at, last_used_at FROM api_keys "
)
_LIST_ALL = _FIELDS + "ORDER BY created_at DESC"
_LIST_OWN = _FIELDS + "WHERE user_id = $1 ORDER BY created_at DESC"
_BY_ID = _FIELDS + "WHERE id = $1"
_ACTIVE = _FIELDS + "WHERE is_active AND environment = $1 ORDER BY created_at DESC LIMIT 1"
_INSERT = (
    "INSERT INTO api_keys (user_id, label, environment, api_key, secret_ciphertext, cipher, rotated_from) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"
)
_DEACTIVATE = "UPDATE api_keys SET is_active = false WHERE id = $1 AND is_active RETURNING id"
_USED = "UPDATE api_keys SET last_used_at = now() WHERE id = $1"


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """One ``api_keys`` row (the secret only as ciphertext)."""

    id: uuid.UUID
    user_id: uuid.UUID
    label: str
    exchange: str
    environment: str
    api_key: str
    secret_ciphertext: str
    cipher: str
    is_active: bool
    rotated_from: uuid.UUID | None
    created_at: dt.datetime
    last_used_at: dt.datetime | None


def _record(row: asyncpg.Record | None) -> ApiKeyRecord | None:
    return None if row is None else ApiKeyRecord(**{k: row[k] for k in ApiKeyRecord.__slots__})


class ApiKeyRepository:
    """Explicit SQL over ``api_keys``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def list(self, owner: uuid.UUID | None) -> list[ApiKeyRecord]:
        """Return the keys of ``owner`` (every key when None), newest first."""
        rows = await (self._db.fetch(_LIST_OWN, owner) if owner else self._db.fetch(_LIST_ALL))
        return [r for r in (_record(row) for row in rows) if r is not None]

    async def get(self, key_id: uuid.UUID) -> ApiKeyRecord | None:
        """Return one key or None."""
        return _record(await self._db.fetchrow(_BY_ID, key_id))

    async def active(self, environment: str) -> ApiKeyRecord | None:
        """Return the newest active key of ``environment`` (what the engine trades with)."""
        return _record(await self._db.fetchrow(_ACTIVE, environment))

    async def add(
        self,
        *,
        user_id: uuid.UUID,
        label: str,
        environment: str,
        api_key: str,
        secret_ciphertext: str,
        cipher: str,
        rotate_from: uuid.UUID | None,
        context: AuditContextLike,
    ) -> uuid.UUID:
        """Store a key (deactivating ``rotate_from`` in the same transaction) and write ``api_key_added``.

        Raises:
            IntegrityViolationError: the owner already has a key with this label.
        """
        async with self._db.transaction() as conn:
            if rotate_from is not None:
                await conn.execute(_DEACTIVATE, rotate_from)
            key_id: uuid.UUID = await conn.fetchval(
                _INSERT, user_id, label, environment, api_key, secret_ciphertext, cipher, rotate_from
            )
            await AuditRepository(conn).append(
                "api_key_rotated" if rotate_from else "api_key_added",
                {"label": label, "environment": environment, "rotated_from": str(rotate_from or "")},
                target_type="api_key",
                target_id=str(key_id),
                context=context,
            )
        return key_id

    async def deactivate(self, key_id: uuid.UUID, context: AuditContextLike) -> bool:
        """Turn a key inactive (``api_key_revoked``); False when it was not active."""
        async with self._db.transaction() as conn:
            if await conn.fetchval(_DEACTIVATE, key_id) is None:
                return False
            await AuditRepository(conn).append(
                "api_key_revoked", {}, target_type="api_key", target_id=str(key_id), context=context
            )
        return True

    async def used(self, key_id: uuid.UUID, purpose: str, context: AuditContextLike | None = None) -> None:
        """Record one decryption for use: ``last_used_at`` and a ``bybit_key_used`` audit row (U-08)."""
        async with self._db.transaction() as conn:
            await conn.execute(_USED, key_id)
            await AuditRepository(conn).append(
                "bybit_key_used",
                {"purpose": purpose},
                actor=None if context else "system",
                target_type="api_key",
                target_id=str(key_id),
                context=context,
            )
