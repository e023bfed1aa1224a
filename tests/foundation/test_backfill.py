"""``algogrid backfill`` pages the simulator's 5m klines into ``klines_5m``: exactly the range, resumable
without holes or duplicates, every page through the Redis-backed ``rest_read`` limiter (E-08); bad input
exits 2."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest
import redis
import trio

from actors import RestBarHistory
from algogrid.backfill_job import (
    BAR_MS,
    PAGE_BARS,
    BackfillRange,
    SymbolBackfill,
    missing_windows,
    run_backfill,
)
from exchange import (
    BucketSpec,
    BybitRestClient,
    EvalScriptRunner,
    ExchangeConfig,
    RateLimiter,
    RateLimitExceededError,
)
from exchange.simulator import Simulator, SimulatorConfig, open_simulator
from storage import Storage
from tests.actors.actors_kit import open_test_storage

ROOT = Path(__file__).resolve().parents[2]
END_MS = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp() * 1000)
BARS = 2500  # three pages: 1000, 1000, 500
SPAN = BackfillRange(END_MS - BARS * BAR_MS, END_MS)
FUTURE = str(datetime.now(UTC).date() + timedelta(days=2))


@asynccontextmanager
async def _venue(symbol: str) -> AsyncIterator[Simulator]:
    """A simulator whose history is the span, standing still at its end (as the command starts it)."""
    config = SimulatorConfig(symbols=(symbol,), start_time_ms=END_MS, history_bars=BARS, book_interval_ms=50)
    async with open_simulator(config) as sim:
        sim.clock.pause()
        yield sim


Row = tuple[datetime, Decimal, Decimal, Decimal, Decimal, Decimal]


def _served(sim: Simulator, symbol: str) -> list[Row]:
    market = sim.market(symbol)
    spec = market.spec
    return [
        (
            datetime.fromtimestamp(b.start_ms / 1000, UTC), spec.price_of(b.open), spec.price_of(b.high),
            spec.price_of(b.low), spec.price_of(b.close), spec.qty_of(b.volume),
        )
        for b in market.bars
        if SPAN.start_ms <= b.start_ms < SPAN.end_ms
    ]  # fmt: skip


async def _stored(storage: Storage, symbol: str) -> list[Row]:
    everything = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    rows = await storage.klines.between(symbol, *everything)
    return [(k.start, k.open, k.high, k.low, k.close, k.volume) for k in rows]


async def _run(sim: Simulator, storage: Storage, symbol: str, **kwargs: object) -> tuple[SymbolBackfill, int]:
    config = ExchangeConfig(rest_url=sim.rest_url)
    async with BybitRestClient.with_shared_limits(config, storage.redis) as rest:
        [report] = await run_backfill(
            RestBarHistory(rest), storage.klines, [symbol], SPAN, source="simulator",
            **kwargs,  # type: ignore[arg-type]
        )  # fmt: skip
        assert rest.rate_limiter is not None
        drawn = rest.rate_limiter.stats.get("rest_read")
        assert (drawn.acquired if drawn else 0) == rest.stats.requests  # every page drew a token
        return report, rest.stats.requests


async def test_a_range_is_stored_bar_for_bar_as_served_and_a_second_run_stores_nothing(
    migrated_db_url: str, redis_clean_url: str
) -> None:
    async with open_test_storage(migrated_db_url, redis_clean_url) as storage, _venue("BTCUSDT") as sim:
        report, requests = await _run(sim, storage, "BTCUSDT")
        assert (report.expected, report.inserted, report.pages, report.missing) == (BARS, BARS, 3, 0)
        assert requests == 3
        stored = await _stored(storage, "BTCUSDT")
        assert len(stored) == BARS
        assert stored == _served(sim, "BTCUSDT")

        again, requests = await _run(sim, storage, "BTCUSDT")
        assert (again.stored_before, again.inserted, again.pages) == (BARS, 0, 0)
        assert requests == 0
        assert await _stored(storage, "BTCUSDT") == stored


async def test_an_interrupted_run_resumes_after_its_last_page_without_holes_or_duplicates(
    migrated_db_url: str, redis_clean_url: str
) -> None:
    async with open_test_storage(migrated_db_url, redis_clean_url) as storage, _venue("ETHUSDT") as sim:
        settled: list[int] = []
        with trio.CancelScope() as scope:

            def progress(n: int) -> None:
                settled.append(n)
                if len(settled) == 2:
                    scope.cancel()  # stopped after two pages, as an operator's Ctrl-C would

            await _run(sim, storage, "ETHUSDT", progress=progress)
        assert scope.cancelled_caught
        assert len(await _stored(storage, "ETHUSDT")) == 2000

        resumed, requests = await _run(sim, storage, "ETHUSDT")
        assert (resumed.stored_before, resumed.inserted, resumed.pages, requests) == (2000, 500, 1, 1)
        stored = await _stored(storage, "ETHUSDT")
        assert stored == _served(sim, "ETHUSDT")
        starts = [row[0] for row in stored]
        assert all(b - a == timedelta(minutes=5) for a, b in itertools.pairwise(starts))


async def test_an_empty_rest_read_bucket_in_redis_stops_the_run_and_the_next_run_resumes(
    migrated_db_url: str, redis_clean_url: str
) -> None:
    async with open_test_storage(migrated_db_url, redis_clean_url) as storage, _venue("SOLUSDT") as sim:
        # one token, the next in 10 s, and one second to wait for it: only the first page may be fetched
        tiny = {"rest_read": BucketSpec(capacity=1, refill_per_s=0.1, ttl_ms=60_000)}
        limiter = RateLimiter(EvalScriptRunner(storage.redis), prefix="bf-test", buckets=tiny, timeout_s=1.0)
        config = ExchangeConfig(rest_url=sim.rest_url)
        async with BybitRestClient(config, None, limiter) as rest:
            pages = RestBarHistory(rest)
            with pytest.raises(RateLimitExceededError):
                await run_backfill(pages, storage.klines, ["SOLUSDT"], SPAN, source="simulator")
            assert rest.stats.requests == 1
        stats = limiter.stats["rest_read"]
        assert (stats.acquired, stats.rejected) == (1, 1)
        hget = "return redis.call('HGET', KEYS[1], 'tokens')"
        assert await storage.redis.eval(hget, ["bf-test:rest_read"]) is not None  # the bucket lives in Redis
        assert len(await _stored(storage, "SOLUSDT")) == 1000  # the fetched page stays

        resumed, requests = await _run(sim, storage, "SOLUSDT")  # the engine's limits: 1200/min
        assert (resumed.stored_before, resumed.inserted, requests) == (1000, 1500, 2)
        assert await _stored(storage, "SOLUSDT") == _served(sim, "SOLUSDT")


def test_the_windows_cover_exactly_the_missing_bars_a_page_at_most_each() -> None:
    stored = {SPAN.start_ms + i * BAR_MS for i in (*range(0, 10), *range(500, 1700), 2499)}
    windows = list(missing_windows(SPAN, stored))
    covered = {s for first, last in windows for s in range(first, last + 1, BAR_MS)}
    missing = {SPAN.start_ms + i * BAR_MS for i in range(BARS)} - stored
    assert missing <= covered
    assert [(w[0] - SPAN.start_ms) // BAR_MS for w in windows] == [10, 1700]  # the hole, then the tail
    assert all(first in missing and last in missing for first, last in windows)
    assert all((last - first) // BAR_MS < PAGE_BARS for first, last in windows)
    assert list(missing_windows(SPAN, missing | stored)) == []


# --------------------------------------------------------------------------- the command


def _env(db_url: str, redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALGOGRID_")}
    env.update(DATABASE_URL=db_url, REDIS_URL=redis_url)
    return env


def _backfill(config: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "algogrid.cli", "backfill", "--config", str(config), *args],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(f"logging:\n  file: {tmp_path / 'a.jsonl'}\nsimulator:\n  seed: 7\n")
    return path


def test_the_command_backfills_a_day_through_the_shared_limiter_and_resumes(
    config: Path, migrated_db_url: str, redis_clean_url: str
) -> None:
    env = _env(migrated_db_url, redis_clean_url)
    day = "2026-02-10"
    first = _backfill(config, env, "--symbol", "XRPUSDT", "--start-date", day, "--end-date", day)
    assert first.returncode == 0, first.stderr
    assert '"inserted": 288' in first.stdout
    with psycopg2.connect(migrated_db_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT count(*), min(open_time), max(open_time), min(source) FROM klines_5m"
            " WHERE symbol = 'XRPUSDT'"
        )
        count, low, high, source = cur.fetchone()
    conn.close()
    assert (count, source) == (288, "simulator")
    assert (low, high) == (datetime(2026, 2, 10, tzinfo=UTC), datetime(2026, 2, 10, 23, 55, tzinfo=UTC))
    client = redis.Redis.from_url(redis_clean_url)
    try:
        assert client.hget("algogrid:ratelimit:rest_read", "tokens") is not None
    finally:
        client.close()

    second = _backfill(config, env, "--symbol", "XRPUSDT", "--start-date", day, "--end-date", day)
    assert second.returncode == 0, second.stderr
    assert '"inserted": 0' in second.stdout
    assert '"pages": 0' in second.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--symbol", "FOOUSDT", "--start-date", "2026-01-01", "--end-date", "2026-01-02"), "FOOUSDT"),
        (("--symbol", "BTCUSDT", "--start-date", "2026-01-05", "--end-date", "2026-01-02"), "on or after"),
        (("--symbol", "BTCUSDT", "--start-date", "2026-01-01", "--end-date", FUTURE), "in the future"),
    ],
    ids=["unknown-symbol", "end-before-start", "future-date"],
)
def test_bad_input_exits_2_with_one_sentence(config: Path, args: tuple[str, ...], expected: str) -> None:
    result = _backfill(config, _env("postgresql://unused", "redis://unused"), *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("backfill: expected")
    assert expected in lines[0]
