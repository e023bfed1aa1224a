"""The MonitorActor's position decisions reach ``root/symbols/<SYM>/position`` (R-05 ``be_mode: full``, R-06
``auto_funding_exit``) — before this wiring they were dropped.

Real engine in simulation mode; the monitor at ``root/monitor`` is the engine's own (its ``positions`` port is
what ``algogrid.risk_wiring`` builds). A small recording actor replaces the PositionActor at the
position path (``position_recorder.add_recorder``), so this proves the routing by path; what the PositionActor
does with a decision is ``tests/position/`` (break-even amend, funding exit).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal

from position_recorder import add_recorder

from actors import MONITOR, PipelineConfig
from actors.monitor.messages import (
    BreakEvenReached,
    FundingExitWarning,
    MoveStopToEntry,
    PositionMarked,
    ReduceOnlyCloseRequested,
    Tick,
)
from actors.risk import RiskConfig
from algogrid.engine import Engine
from algogrid.settings import Settings
from exchange.simulator import SimulatorConfig
from strategy_core.exposure import OpenPosition
from strategy_core.models import Side
from tests.support import eventually_async

RunEngine = Callable[..., AbstractAsyncContextManager[Engine]]  # the ``run_engine`` fixture (conftest)


async def test_break_even_and_funding_exit_decisions_reach_the_position_path(run_engine: RunEngine) -> None:
    settings = Settings(
        symbols=("BTCUSDT", "ETHUSDT"),
        simulator=SimulatorConfig(seed=4, speed=60.0, book_interval_ms=50, history_bars=40),
        pipeline=PipelineConfig(backfill_bars=20),
        risk=RiskConfig(be_mode="full", auto_funding_exit=True),
    )
    async with run_engine(settings) as engine:
        assert engine.market_clock is not None
        btc = await add_recorder(engine, "BTCUSDT")
        eth = await add_recorder(engine, "ETHUSDT")
        position = OpenPosition(
            position_id="pos-1",
            symbol="BTCUSDT",
            side=Side.LONG,
            qty=Decimal("0.01"),
            entry=Decimal("60000"),
            risk_usd=Decimal("20"),
            risk_r=Decimal("1"),
        )
        soon = engine.market_clock.now() + dt.timedelta(seconds=30)  # funding settles inside the window
        monitor = engine.tree.ref(MONITOR)
        monitor.tell(
            PositionMarked(position=position, mark=Decimal("60000"), tp1_hit=True, next_funding_time=soon)
        )
        monitor.tell(Tick())

        await eventually_async(
            lambda: bool(btc.of(MoveStopToEntry) and btc.of(ReduceOnlyCloseRequested)), timeout=10
        )
        [move] = btc.of(MoveStopToEntry)
        assert (move.position_id, move.new_sl) == ("pos-1", Decimal("60000"))
        [close] = btc.of(ReduceOnlyCloseRequested)
        assert (close.position_id, close.side) == ("pos-1", Side.LONG)
        # information events are not orders: they stay with the monitor (alerts), not the position side
        assert btc.of(BreakEvenReached) == []
        assert btc.of(FundingExitWarning) == []
        assert eth.of(MoveStopToEntry) == []  # by symbol: nothing reaches another symbol's position path
