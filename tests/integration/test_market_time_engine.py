"""The engine's risk side lives in market time: at a high simulator speed it keeps approving (issues 5/7).

``algogrid.engine.serve`` on the real simulator at speed 1800 (a 5m bar every 1/6 s, half a market hour per
real second), real PostgreSQL/Redis, the real tree. At most two concurrent positions: reservations of approved
signals (900 s TTL, no execution side yet) must expire in *market* time for approvals to continue over the
simulated hours — on the wall clock the first two approvals would block everything for 15 real minutes.
AVI-5's book/bar-age and funding gates are opened (as in bench/pipeline.py) so bars produce signals quickly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal

from actors import PipelineConfig
from actors.risk import GetRiskSnapshot, RiskConfig, RiskSnapshot
from algogrid.engine import Engine
from algogrid.market_clock import SimMarketClock
from algogrid.settings import Settings
from exchange.simulator import SimulatorConfig
from storage import Storage
from strategy_core import AVI5Config
from tests.support import eventually_async

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT")
MAX_CONCURRENT = 2
TTL = dt.timedelta(seconds=900)
# Real processing latency in market time: at speed 1800 one real second is 30 market minutes, so a loaded
# 2-core machine (coverage tracing, other processes) can add hours. The bound still tells market time from
# wall time: a block timed in wall time would end 900 real seconds = 450 market hours later.
LATENCY = dt.timedelta(hours=24)

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
        risk=RiskConfig(max_concurrent_positions=MAX_CONCURRENT),
        simulator=SimulatorConfig(seed=5, speed=1800.0, book_interval_ms=20, history_bars=120),
        pipeline=PipelineConfig(backfill_bars=100),
    )


async def test_approvals_continue_over_simulated_hours_as_reservations_expire_in_market_time(
    storage: Storage, run_engine: RunEngine
) -> None:
    async with run_engine(_settings()) as engine:
        assert engine.simulator is not None
        assert isinstance(engine.market_clock, SimMarketClock)
        exchange_now = engine.simulator.clock.now_ms()
        assert abs(engine.market_clock.now().timestamp() * 1000 - exchange_now) < 1000

        peak = 0  # the most positions + reservations the RiskActor held at any sampled moment

        async def approvals_over_two_market_hours() -> bool:
            nonlocal peak
            sample: RiskSnapshot = await engine.ask("root/risk", GetRiskSnapshot(), timeout_s=5)
            peak = max(peak, len(sample.positions))
            row = await storage.db.fetchrow(
                "SELECT count(*) AS n, max(created_at) - min(created_at) AS span FROM signals "
                "WHERE status = 'new'"
            )
            assert row is not None
            return bool(row["n"] >= 4 * MAX_CONCURRENT and row["span"] >= dt.timedelta(hours=2))

        await eventually_async(approvals_over_two_market_hours, timeout=60)
        snap: RiskSnapshot = await engine.ask("root/risk", GetRiskSnapshot(), timeout_s=5)

    assert len(snap.positions) <= MAX_CONCURRENT  # the limit still binds at every moment
    approved = await storage.db.fetch(
        "SELECT created_at FROM signals WHERE status = 'new' ORDER BY created_at"
    )
    assert len(approved) >= 4 * MAX_CONCURRENT  # approvals went on as reservations expired
    # The limit binds in the RiskActor's own time base (the market time of each decision). Windows over the
    # signals' created_at (the bar's exchange time) cannot check it at speed 1800: 25-100 ms of real
    # processing latency is 45-180 market seconds between a bar's time and its risk decision.
    assert 0 < peak <= MAX_CONCURRENT, peak
    # A queued signal waits until a market time inside its churn block, after its own bar. The block starts
    # at the decision, which trails the bar by the processing latency (LATENCY).
    queued = await storage.db.fetch("SELECT created_at, queued_until FROM signals WHERE status = 'queued'")
    for row in queued:
        assert row["created_at"] < row["queued_until"] <= row["created_at"] + TTL + LATENCY, dict(row)
