"""The pool facade: queries from trio, transactions, constraint errors, health checks (T-04)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import trio
import trio_asyncio
from pydantic import SecretStr

from storage import (
    IntegrityViolationError,
    StatementRejectedError,
    Storage,
    StorageConfig,
    StorageError,
    open_storage,
)


async def test_pool_opens_with_min_five_connections_and_answers_select_1(storage: Storage) -> None:
    assert storage.db.size == 5
    assert await storage.db.fetchval("SELECT 1") == 1
    assert await storage.ping() == {"postgres": True, "redis": True}


async def test_numeric_round_trips_exactly_as_decimal(storage: Storage) -> None:
    value = Decimal("65000.123456789012345678901234")
    assert await storage.db.fetchval("SELECT $1::numeric", value) == value


async def test_a_refused_statement_is_a_storage_error_and_the_pool_goes_on(storage: Storage) -> None:
    with pytest.raises(StatementRejectedError, match="DivisionByZeroError") as info:
        await storage.db.fetchval("SELECT 1 / $1::int", 0)
    assert isinstance(info.value, StorageError)
    assert type(info.value.__cause__).__module__.startswith("asyncpg")
    assert await storage.db.fetchval("SELECT 1") == 1


async def test_an_instrumented_pool_times_every_statement_under_its_verb_and_table(storage: Storage) -> None:
    seen: list[tuple[str, float]] = []
    storage.db.instrument(lambda label, ms: seen.append((label, ms)))
    try:
        await storage.db.fetchval("SELECT count(*) FROM outbox WHERE topic = $1", "x")
        async with storage.db.transaction() as conn:  # a transaction's statements too
            await conn.execute("INSERT INTO outbox (topic, payload) VALUES ('timed', '{}')")
        with pytest.raises(StatementRejectedError):  # a refused statement is timed as well
            await storage.db.execute("UPDATE no_such_table SET x = 1")
    finally:
        storage.db.instrument(None)
    await storage.db.fetchval("SELECT 1")  # not timed any more
    labels = [label for label, _ in seen]
    assert labels == ["select outbox", "insert outbox", "update no_such_table"]
    assert all(ms >= 0 for _, ms in seen)


async def test_transaction_commits_on_exit(storage: Storage) -> None:
    async with storage.db.transaction() as conn:
        await conn.execute("INSERT INTO outbox (topic, payload) VALUES ('signals', $1)", {"n": 1})
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE topic = 'signals'") == 1
    assert await storage.db.fetchval("SELECT payload FROM outbox WHERE topic = 'signals'") == {"n": 1}


async def test_transaction_rolls_back_on_error(storage: Storage) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom):  # noqa: PT012 - the failure must happen inside the transaction
        async with storage.db.transaction() as conn:
            await conn.execute("INSERT INTO outbox (topic, payload) VALUES ('rollback', '{}')")
            raise Boom
    assert await storage.db.fetchval("SELECT count(*) FROM outbox WHERE topic = 'rollback'") == 0


async def test_constraint_violation_names_the_constraint(storage: Storage) -> None:
    with pytest.raises(IntegrityViolationError) as info:
        await storage.db.execute("INSERT INTO outbox (topic, payload) VALUES ('Bad Channel', '{}')")
    assert info.value.constraint == "outbox_topic_check"


async def test_concurrent_queries_from_many_trio_tasks_share_the_pool(storage: Storage) -> None:
    results: list[int] = []

    async def one(i: int) -> None:
        results.append(await storage.db.fetchval("SELECT $1::int FROM pg_sleep(0.01)", i))

    async with trio.open_nursery() as nursery:
        for i in range(40):
            nursery.start_soon(one, i)
    assert sorted(results) == list(range(40))
    assert storage.db.size <= 20


async def test_open_storage_reuses_the_callers_trio_asyncio_loop(storage_config: StorageConfig) -> None:
    async with trio_asyncio.open_loop() as loop, open_storage(storage_config) as opened:
        assert opened.bridge._loop is loop
        assert await opened.db.ping()


async def test_open_storage_without_urls_is_refused() -> None:
    with pytest.raises(StorageError, match="database_url"):
        async with open_storage(StorageConfig(redis_url=SecretStr("redis://127.0.0.1:1/0"))):
            pass


async def test_a_cancelled_transaction_rolls_back_and_returns_its_connection(storage: Storage) -> None:
    with trio.move_on_after(0.05):
        async with storage.db.transaction() as conn:
            await conn.execute("INSERT INTO outbox (topic, payload) VALUES ('cancelled', '{}')")
            await trio.sleep_forever()
    assert await storage.db.fetchval("SELECT count(*) FROM outbox WHERE topic = 'cancelled'") == 0
    # all 20 connections can be held at once: a leaked one would leave the 20th waiting forever
    inside = 0
    all_in = trio.Event()

    async def hold_one() -> None:
        nonlocal inside
        async with storage.db.transaction() as conn:
            assert await conn.fetchval("SELECT 1") == 1
            inside += 1
            if inside == 20:
                all_in.set()
            await all_in.wait()

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            for _ in range(20):
                nursery.start_soon(hold_one)
