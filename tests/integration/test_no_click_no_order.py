"""Manual only (E-01): a running system that produces signals but gets no click places no order.

Real engine in simulation mode with AVI-5's market-context gates opened (as in ``test_sim_continuity``) so
bars turn into risk-checked signals quickly; real PositionActors in every symbol tree, the private stream
connected. After several published signals the simulator — asked over its own REST API with the engine's
account — knows no order and no execution, and the ``orders`` table is empty. (The static half of E-01, that
only the click route builds ``PlaceOrderFromSignal``, is ``tests/gateway/test_manual_only.py``.)
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal
from typing import Any

from actors import IndicatorConfig, PipelineConfig
from actors.position import PositionChanged
from algogrid.engine import Engine
from algogrid.settings import Settings
from exchange.simulator import SimulatorConfig
from storage import Storage
from strategy_core import AVI5Config
from tests.support import eventually_async

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
        symbols=("BTCUSDT", "ETHUSDT", "SOLUSDT"),
        strategy=strategy,
        simulator=SimulatorConfig(seed=21, speed=1800.0, book_interval_ms=20, history_bars=120),
        pipeline=PipelineConfig(backfill_bars=100, indicator=IndicatorConfig(history_bars=120)),
    )


async def test_signals_without_a_click_place_no_order_at_the_exchange(
    storage: Storage, run_engine: RunEngine, published: Any
) -> None:
    async with run_engine(_settings(), publisher=published) as engine:
        assert engine.rest is not None
        assert engine.private_session is not None  # the trading path is live, only nobody clicks
        await eventually_async(lambda: len(published.events) >= 3, timeout=60)
        assert {e.status for e in published.events} <= {"new", "queued"}

        assert await engine.rest.get_open_orders() == []
        assert (await engine.rest.get_order_history()).items == ()
        assert (await engine.rest.get_executions()).items == ()
        changes = [e for e in published.others if isinstance(e, PositionChanged)]
        assert changes == []  # no position ever changed (reconciliation passes are published too)
    assert int(await storage.db.fetchval("SELECT count(*) FROM orders")) == 0
    assert int(await storage.db.fetchval("SELECT count(*) FROM positions")) == 0
