"""Group commit (storage/batching.py): concurrent candle and signal writes share statements, on PostgreSQL.

A burst like a bar close — every symbol storing its candle and a signal at once — must be written in few
statements, each row must get its own answer (new or already stored), values must round-trip exactly, and
one bad row must fail alone while its neighbours are stored.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
import trio
import trio.testing
from test_storage_repositories import T0, Sig, candle

from algogrid.settings import WHITELIST
from storage import IntegrityViolationError, SignalRepository, Storage, StorageError, StoredKline
from storage.batching import GroupWriter

SYMBOLS = WHITELIST  # the 15 symbols of P-08


async def _burst(fn: object, items: list[object]) -> list[object]:
    """Call ``fn(item)`` for every item at the same moment; return results (or exceptions) in item order."""
    results: list[object] = [None] * len(items)

    async def one(i: int) -> None:
        try:
            results[i] = await fn(items[i])  # type: ignore[operator]
        except Exception as exc:
            results[i] = exc

    async with trio.open_nursery() as nursery:
        for i in range(len(items)):
            nursery.start_soon(one, i)
    return results


async def test_a_burst_of_signals_is_written_in_few_statements_with_exact_values(storage: Storage) -> None:
    writer = storage.signals.writer
    assert writer.running
    before = writer.stats.batches
    signals = [Sig(uuid.uuid4(), symbol=s, qty=Decimal("0.000000123456789")) for s in SYMBOLS]
    assert await _burst(storage.signals.insert, signals) == [True] * 15
    assert writer.stats.batches - before <= 2  # 15 rows, not 15 statements
    assert writer.stats.largest_batch >= 8
    for sig in signals:
        stored = await storage.signals.get(sig.id)
        assert stored is not None
        assert (stored.symbol, stored.qty, stored.tp3, stored.created_at) == (
            sig.symbol, Decimal("0.000000123456789"), sig.tp3, sig.created_at
        )
    # the same burst again: every row exists, nothing changes
    assert await _burst(storage.signals.insert, [replace(s, p_win=Decimal("0.9")) for s in signals]) == [
        False
    ] * 15
    stored = await storage.signals.get(signals[0].id)
    assert stored is not None
    assert stored.p_win == Decimal("0.61")


async def test_an_id_repeated_within_one_burst_is_new_exactly_once(storage: Storage) -> None:
    sig = Sig(uuid.uuid4(), symbol="TONUSDT")
    results = await _burst(storage.signals.insert, [sig, replace(sig, p_win=Decimal("0.7")), sig])
    assert sorted(results, key=str) == [False, False, True]


async def test_one_bad_row_in_a_burst_fails_alone_and_its_neighbours_are_stored(storage: Storage) -> None:
    writer = storage.signals.writer
    fallbacks = writer.stats.fallbacks
    good = [Sig(uuid.uuid4(), symbol=s) for s in SYMBOLS[:6]]
    bad = Sig(uuid.uuid4(), symbol="ARBUSDT", sl=Decimal("100.6"))  # long with its stop above entry
    results = await _burst(storage.signals.insert, [*good[:3], bad, *good[3:]])
    error = results.pop(3)
    assert isinstance(error, IntegrityViolationError)
    assert error.constraint == "signals_levels_check"
    assert results == [True] * 6
    assert writer.stats.fallbacks == fallbacks + 1
    for sig in good:
        assert await storage.signals.get(sig.id) is not None
    assert await storage.signals.get(bad.id) is None


async def test_a_burst_of_candles_is_inserted_once_and_reports_which_rows_were_new(storage: Storage) -> None:
    writer = storage.klines.writer
    before = writer.stats.batches
    start = T0 + timedelta(days=30)
    candles = [replace(candle(0, s), start=start) for s in SYMBOLS]

    async def insert(c: StoredKline) -> bool:
        return await storage.klines.insert_new(c, source="simulator")

    assert await _burst(insert, candles) == [True] * 15
    assert writer.stats.batches - before <= 2
    changed = [replace(c, close=Decimal("65001")) for c in candles]
    assert await _burst(insert, changed) == [False] * 15  # insert-once: the first copy stays
    for c in candles:
        [stored] = await storage.klines.last_n(c.symbol, 1)
        assert stored == c  # every Decimal exactly as given, the first copy kept
    sources = await storage.db.fetch(
        "SELECT DISTINCT source FROM klines_5m WHERE open_time = $1", start
    )
    assert [r["source"] for r in sources] == ["simulator"]


async def test_insert_new_many_marks_a_candle_repeated_in_the_batch_new_once(storage: Storage) -> None:
    c = replace(candle(0, "AVAXUSDT"), start=T0 + timedelta(days=31))
    other = candle(1, "AVAXUSDT")
    results = await storage.klines.insert_new_many([(c, "rest"), (c, "rest"), (other, "rest")])
    assert results == [True, False, True]
    assert await storage.klines.insert_new_many([]) == []


async def test_a_repository_outside_open_storage_writes_each_row_directly(storage: Storage) -> None:
    repo = SignalRepository(storage.db)  # its writer has no flusher task
    assert not repo.writer.running
    sig = Sig(uuid.uuid4(), symbol="LTCUSDT")
    assert await repo.insert(sig) is True
    assert await repo.insert(sig) is False
    assert repo.writer.stats.batches == 0


async def test_rows_waiting_when_the_writer_stops_fail_with_a_clear_error() -> None:
    # The write function is ours, not a stand-in for a real part: it holds the first batch in flight so the
    # stop happens with one row in flight and one queued.
    release = trio.Event()

    async def slow_many(items: object) -> list[bool]:
        await release.wait()
        return [True]

    async def one(item: object) -> bool:
        raise AssertionError("not used while running")

    writer: GroupWriter[int, bool] = GroupWriter("test", slow_many, one)
    errors: list[Exception] = []

    async def write(i: int) -> None:
        try:
            await writer.write(i)
        except StorageError as exc:
            errors.append(exc)

    async with trio.open_nursery() as nursery:
        flusher = trio.CancelScope()

        async def run() -> None:
            with flusher:
                await writer.run()

        nursery.start_soon(run)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(write, 1)
        await trio.testing.wait_all_tasks_blocked()  # row 1 in flight
        nursery.start_soon(write, 2)
        await trio.testing.wait_all_tasks_blocked()  # row 2 queued
        flusher.cancel()
    assert len(errors) == 2
    assert all("writer stopped" in str(e) for e in errors)
    assert not writer.running


def test_max_batch_must_be_positive() -> None:
    async def many(items: object) -> list[bool]:
        return []

    async def one(item: object) -> bool:
        return True

    with pytest.raises(ValueError, match="max_batch"):
        GroupWriter("x", many, one, max_batch=0)
