"""After PostgreSQL or Redis restarts, the storage runtime reconnects by itself."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from storage import EmbeddedPostgres, EmbeddedRedis, StorageConfig, StorageUnavailableError, open_storage
from tests.support import eventually_async


def _config(pg: EmbeddedPostgres, redis: EmbeddedRedis) -> StorageConfig:
    return StorageConfig(
        database_url=SecretStr(pg.url), redis_url=SecretStr(redis.url), connect_timeout_seconds=1.0
    )


async def test_database_calls_fail_cleanly_while_down_and_recover_after_restart(
    pg_server: EmbeddedPostgres, redis_server: EmbeddedRedis
) -> None:
    async with open_storage(_config(pg_server, redis_server)) as storage:
        assert await storage.db.fetchval("SELECT 41 + 1") == 42
        pg_server.stop()
        assert await storage.db.ping() is False
        with pytest.raises(StorageUnavailableError):
            await storage.db.fetchval("SELECT 1")
        pg_server.start()
        await eventually_async(storage.db.ping, timeout=10, message="postgres ping after restart")
        # every pooled connection works again, not just the one that pinged
        for _ in range(10):
            assert await storage.db.fetchval("SELECT 7") == 7
        async with storage.db.transaction() as conn:
            assert await conn.fetchval("SELECT 8") == 8


async def test_redis_calls_fail_cleanly_while_down_and_recover_after_restart(
    pg_server: EmbeddedPostgres, redis_server: EmbeddedRedis
) -> None:
    async with open_storage(_config(pg_server, redis_server)) as storage:
        assert await storage.redis.set("probe", "before")
        redis_server.stop()
        assert await storage.redis.ping() is False
        with pytest.raises(StorageUnavailableError):
            await storage.redis.get("probe")
        redis_server.start()
        await eventually_async(storage.redis.ping, timeout=10, message="redis ping after restart")
        assert await storage.redis.set("probe", "after")
        assert await storage.redis.get("probe") == "after"
