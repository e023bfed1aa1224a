"""The shared harness gives each module a migrated database and each test a clean Redis db."""

from __future__ import annotations

import psycopg2
import pytest
import redis
import trio

from storage.migrate import head_revision
from tests.support import eventually, eventually_async


def test_migrated_db_is_at_head(migrated_db_url: str) -> None:
    with psycopg2.connect(migrated_db_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT version_num FROM alembic_version")
        assert cursor.fetchone() == (head_revision(),)
        cursor.execute("SELECT trading_state FROM kill_switch_state")
        assert cursor.fetchone() == ("ACTIVE",)


def test_redis_clean_url_starts_empty_and_is_isolated(redis_clean_url: str, redis_url: str) -> None:
    client = redis.Redis.from_url(redis_clean_url)
    try:
        assert client.dbsize() == 0
        client.set("harness:probe", "1")
        assert client.get("harness:probe") == b"1"
    finally:
        client.close()
    default_db = redis.Redis.from_url(redis_url)
    try:
        assert default_db.get("harness:probe") is None
    finally:
        default_db.close()


def test_eventually_returns_first_truthy_value() -> None:
    calls = iter([0, None, "", 7, 8])
    assert eventually(lambda: next(calls), timeout=1.0) == 7


def test_eventually_reports_last_result_on_timeout() -> None:
    with pytest.raises(AssertionError, match="queue drained not met"):
        eventually(lambda: False, timeout=0.05, message="queue drained")


async def test_eventually_async_awaits_async_predicates() -> None:
    seen: list[int] = []

    async def grows() -> bool:
        await trio.lowlevel.checkpoint()
        seen.append(1)
        return len(seen) >= 3

    assert await eventually_async(grows, timeout=1.0) is True
    assert len(seen) == 3


async def test_eventually_async_times_out_with_last_exception() -> None:
    def boom() -> bool:
        raise ValueError("not yet")

    with pytest.raises(AssertionError) as info:
        await eventually_async(boom, timeout=0.05)
    assert isinstance(info.value.__cause__, ValueError)
