"""Simulated time is continuous across restarts of ``algogrid run`` (issues 5/6).

A run at a high simulator speed stores bars (and signals keyed by bar) hours ahead of wall time. The next run
on the same database must start its market after the last stored bar: otherwise it replays those bar times,
the IndicatorActor skips every new bar as older than its reloaded window, candles collide on the primary key
and the per-bar signal ids suppress new signals for hours. Real PostgreSQL/Redis, the real simulator and the
real engine (``algogrid.engine.serve``) at speed 1800 (a 5m bar every 1/6 s); AVI-5's book/bar-age, funding
and imbalance gates are opened (as in bench/pipeline.py) so bars produce signals quickly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal

from structlog.testing import capture_logs

from actors import IndicatorConfig, PipelineConfig
from algogrid.engine import Engine, _resume_start_ms
from algogrid.settings import Settings
from exchange.simulator import SimulatorConfig
from storage import Storage
from strategy_core import AVI5Config
from tests.support import eventually_async

SYMBOLS = ("BTCUSDT", "ETHUSDT")
BAR = dt.timedelta(minutes=5)
BAR_MS = 300_000
AHEAD = dt.timedelta(hours=4)  # how far the first run runs ahead of wall time (8 real seconds at speed 1800)

RunEngine = Callable[..., AbstractAsyncContextManager[Engine]]  # the ``run_engine`` fixture (conftest)


def _settings() -> Settings:
    strategy = AVI5Config(
        max_book_age_s=86_400,
        max_bar_age_s=86_400,
        imbalance_min=Decimal(0),
        min_time_to_funding_s=0,
        max_spread_bps=Decimal(10_000),
    )
    return Settings(
        symbols=SYMBOLS,
        strategy=strategy,
        simulator=SimulatorConfig(seed=11, speed=1800.0, book_interval_ms=20, history_bars=120),
        pipeline=PipelineConfig(backfill_bars=100, indicator=IndicatorConfig(history_bars=120)),
    )


async def _latest_bar(storage: Storage) -> dt.datetime:
    latest: dt.datetime | None = await storage.db.fetchval("SELECT max(open_time) FROM klines_5m")
    assert latest is not None
    return latest


async def _bar_count(storage: Storage) -> int:
    return int(await storage.db.fetchval("SELECT count(*) FROM klines_5m"))


async def _window_digest(storage: Storage, until: dt.datetime) -> str:
    """Return a digest of every stored bar up to ``until`` (prices included)."""
    return str(
        await storage.db.fetchval(
            "SELECT md5(string_agg(concat_ws('|', symbol, open_time, open, high, low, close, volume), ',' "
            "ORDER BY symbol, open_time)) FROM klines_5m WHERE open_time <= $1",
            until,
        )
    )


async def _signals_after(storage: Storage, bar: dt.datetime) -> int:
    return int(await storage.db.fetchval("SELECT count(*) FROM signals WHERE bar_start > $1", bar))


def test_resume_start_is_the_end_of_a_future_bar_on_a_five_minute_boundary() -> None:
    now_ms = 1_700_000_123_456
    ahead = dt.datetime.fromtimestamp((now_ms // BAR_MS + 12) * BAR_MS / 1000, tz=dt.UTC)
    assert _resume_start_ms(None, now_ms) is None  # empty storage: start at now
    assert _resume_start_ms(ahead - dt.timedelta(hours=3), now_ms) is None  # storage behind wall time
    assert _resume_start_ms(ahead, now_ms) == (now_ms // BAR_MS + 13) * BAR_MS
    # The bar containing now ends in the future: starting at now would replay it.
    current = dt.datetime.fromtimestamp(now_ms // BAR_MS * BAR_MS / 1000, tz=dt.UTC)
    assert _resume_start_ms(current, now_ms) == (now_ms // BAR_MS + 1) * BAR_MS
    # An off-grid open time (an imported bar) is rounded up to the next boundary.
    assert _resume_start_ms(ahead + dt.timedelta(seconds=7), now_ms) == (now_ms // BAR_MS + 14) * BAR_MS


async def test_second_run_resumes_after_the_first_runs_future_bars_and_signals_again(
    storage: Storage, run_engine: RunEngine
) -> None:

    # First run: until the market has stored bars four hours ahead of wall time, with signals.
    async with run_engine(_settings()) as engine:
        assert engine.simulator is not None
        assert engine.simulator.config.start_time_ms is None  # fresh storage: the market starts at now

        async def far_ahead_with_signals() -> bool:
            ahead = await _latest_bar(storage) - dt.datetime.now(dt.UTC)
            return ahead > AHEAD and await _signals_after(storage, dt.datetime.now(dt.UTC)) > 0

        await eventually_async(far_ahead_with_signals, timeout=60)

    last_first = await _latest_bar(storage)
    bars_first = await _bar_count(storage)
    signals_first = int(await storage.db.fetchval("SELECT count(*) FROM signals"))
    digest_first = await _window_digest(storage, last_first)
    assert last_first - dt.datetime.now(dt.UTC) > AHEAD

    # Second run on the same database: market time starts where storage stops.
    with capture_logs() as logs:
        async with run_engine(_settings()) as engine:
            assert engine.simulator is not None
            resumed_at = last_first + BAR
            assert engine.simulator.config.start_time_ms == int(resumed_at.timestamp() * 1000)
            assert engine.simulator.clock.now_ms() >= resumed_at.timestamp() * 1000
            # The simulator's synthetic history lies inside the stored window: the warm-up fetched it, stored
            # none of it (``DO NOTHING``: the stored copy wins), at most the bars that closed since the start.
            assert sum(engine.warmup.fetched.values()) == 100 * len(SYMBOLS), engine.warmup
            assert await _window_digest(storage, last_first) == digest_first

            started_ms = engine.simulator.clock.now_ms()

            async def new_bars_and_signals() -> bool:
                grown = await _bar_count(storage) >= bars_first + 6 * len(SYMBOLS)
                return grown and await _signals_after(storage, last_first) >= 1

            await eventually_async(new_bars_and_signals, timeout=60)
            # Soon in market time: a run replaying old bar times would first need the whole gap (over four
            # market hours) to catch up with storage before its first bar were stored and its first signal
            # not suppressed by the per-bar id.
            elapsed = dt.timedelta(milliseconds=engine.simulator.clock.now_ms() - started_ms)
            assert elapsed < resumed_at - dt.datetime.now(dt.UTC), elapsed

    resumed = [e for e in logs if e["event"] == "simulation resumes after stored data"]
    assert len(resumed) == 1, [e["event"] for e in logs]
    assert resumed[0]["gap_s"] > AHEAD.total_seconds()
    # One bar per interval across the seam: no hole, no duplicate, nothing replayed.
    for symbol in SYMBOLS:
        row = await storage.db.fetchrow(
            "SELECT count(*) AS n, min(open_time) AS first, max(open_time) AS last "
            "FROM klines_5m WHERE symbol = $1",
            symbol,
        )
        assert row is not None
        assert row["n"] == (row["last"] - row["first"]) / BAR + 1, dict(row)
        assert row["last"] > last_first
    assert int(await storage.db.fetchval("SELECT count(*) FROM signals")) > signals_first
    assert await _window_digest(storage, last_first) == digest_first
