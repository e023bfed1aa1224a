"""Storage room: PostgreSQL and Redis for a trio program, repositories, a distributed lock, embedded servers.

Usage (from trio; asyncpg and redis.asyncio run on a ``trio_asyncio`` loop that ``open_storage`` opens
itself unless the caller already opened one with ``trio_asyncio.open_loop()``)::

    config = StorageConfig(database_url=SecretStr(db_url), redis_url=SecretStr(redis_url))
    async with open_storage(config) as storage:
        await storage.db.fetchval("SELECT 1")                 # pool min 5 / max 20 (T-04)
        async with storage.db.transaction() as conn:           # commit on exit, rollback on error
            await conn.fetchrow("SELECT ... FOR UPDATE", ...)
        await storage.redis.set("k", "v", ex=10)
        await storage.klines.upsert(candles)                   # idempotent on (symbol, start)
        await storage.signals.insert(signal)                   # once per deterministic id
        lock = RedisLock(storage.redis, "reconciler", ttl_seconds=30)   # C-04, fencing token
        async with lock.hold() as lease:
            await lock.fenced_set(lease, "reconciler:last_run", "…")

Without URLs, ``with start_servers(config) as urls:`` starts embedded PostgreSQL/Redis under
``config.data_dir`` (default ``var/``) and ``open_storage(config, urls)`` uses them. Schema: ``upgrade(url)``.

Failure semantics: server unreachable → :class:`StorageUnavailableError` (``ping()`` returns False); the pool
and the Redis client reconnect by themselves once the server is back. Constraint violations →
:class:`IntegrityViolationError` naming the constraint.
"""

from __future__ import annotations

from storage.aio import AioBridge
from storage.config import StorageConfig
from storage.database import Connection, Database
from storage.embedded import EmbeddedPostgres, EmbeddedRedis
from storage.errors import (
    EmbeddedServerError,
    FencedWriteRejectedError,
    IntegrityViolationError,
    LockError,
    LockLostError,
    LockNotAcquiredError,
    StorageError,
    StorageUnavailableError,
)
from storage.klines import CandleLike, KlineRepository, StoredKline
from storage.lock import Lease, RedisLock
from storage.migrate import current_revision, downgrade, head_revision, upgrade
from storage.redis_client import RedisClient
from storage.runtime import ServerUrls, Storage, open_storage, start_servers
from storage.signals import SignalFilters, SignalLike, SignalRepository, StoredSignal

__all__ = [
    "AioBridge",
    "CandleLike",
    "Connection",
    "Database",
    "EmbeddedPostgres",
    "EmbeddedRedis",
    "EmbeddedServerError",
    "FencedWriteRejectedError",
    "IntegrityViolationError",
    "KlineRepository",
    "Lease",
    "LockError",
    "LockLostError",
    "LockNotAcquiredError",
    "RedisClient",
    "RedisLock",
    "ServerUrls",
    "SignalFilters",
    "SignalLike",
    "SignalRepository",
    "Storage",
    "StorageConfig",
    "StorageError",
    "StorageUnavailableError",
    "StoredKline",
    "StoredSignal",
    "current_revision",
    "downgrade",
    "head_revision",
    "open_storage",
    "start_servers",
    "upgrade",
]
