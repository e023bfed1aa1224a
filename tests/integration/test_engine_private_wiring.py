"""The engine's private stream (D-03, E-04): events reach ``root/symbols/<SYM>/position``; a reconnect
re-validates.

Real engine in simulation mode (its own account in the simulator, keys made at start), real sockets, real
PostgreSQL/Redis, the real supervision tree. The routing tests replace a symbol's
PositionActor by a small recording actor at ``position_path(symbol)`` (``position_recorder.add_recorder``), so
what is asserted is the routing by path — the engine's ``PrivateRouter`` resolving a ``ChildRef`` at the
position path and telling it; the last test shows the real PositionActors take the same events and keep
running (what they do with them is ``tests/position/``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from decimal import Decimal
from typing import Any

from position_recorder import add_recorder

from actors import PipelineConfig, PrivateStreamResumed, position_path
from algogrid.engine import Engine
from algogrid.settings import Settings
from exchange.bybit import ExecutionReport, OrderRequest, OrderUpdate, PositionUpdate, WalletUpdate
from exchange.simulator import SimulatorConfig
from tests.support import eventually_async

RunEngine = Callable[..., AbstractAsyncContextManager[Engine]]  # the ``run_engine`` fixture (conftest)

SYMBOLS = ("BTCUSDT", "ETHUSDT")


def _settings(**extra: Any) -> Settings:
    simulator = SimulatorConfig(seed=5, speed=60.0, book_interval_ms=50, history_bars=60)
    return Settings(symbols=SYMBOLS, simulator=simulator, pipeline=PipelineConfig(backfill_bars=30), **extra)


async def test_a_private_event_is_routed_to_the_position_path_of_its_symbol(run_engine: RunEngine) -> None:
    async with run_engine(_settings()) as engine:
        assert engine.private_session is not None
        assert engine.private_router is not None
        assert engine.rest is not None
        assert engine.simulator is not None
        assert (await engine.view.readiness())["exchange_private"] is None  # authenticated and subscribed
        btc = await add_recorder(engine, "BTCUSDT")  # ETHUSDT keeps its real PositionActor

        order = OrderRequest(
            symbol="BTCUSDT", side="Buy", order_type="Market", qty=Decimal("0.01"), order_link_id="wire-1"
        )
        ack = await engine.rest.create_order(order)

        def routed() -> bool:
            return bool(
                [u for u in btc.of(OrderUpdate) if u.order_link_id == "wire-1" and u.status == "Filled"]
                and [e for e in btc.of(ExecutionReport) if e.order_id == ack.order_id]
                and [p for p in btc.of(PositionUpdate) if p.size == Decimal("0.01")]
                and btc.of(WalletUpdate)
            )

        await eventually_async(routed, timeout=15)
        assert {e.symbol for e in btc.of(ExecutionReport)} == {"BTCUSDT"}
        stats = engine.private_router.stats
        assert stats.routed >= 4
        # the wallet goes to every routed symbol: ETHUSDT's real PositionActor takes it too
        assert stats.rejected == 0
        eth = _position_node(await engine.view.supervision_tree(), "ETHUSDT")
        assert eth["status"] == "running"
        assert eth["handled"] >= 1


async def test_a_private_reconnect_tells_every_routed_position_actor_private_stream_resumed(
    run_engine: RunEngine,
) -> None:
    async with run_engine(_settings()) as engine:
        assert engine.private_session is not None
        assert engine.private_router is not None
        assert engine.simulator is not None
        journals = {symbol: await add_recorder(engine, symbol) for symbol in SYMBOLS}
        assert engine.private_session.resumes == 0  # the first connection is not a resume

        assert engine.simulator.drop_connections("private") == 1

        await eventually_async(lambda: all(j.of(PrivateStreamResumed) for j in journals.values()), timeout=15)
        assert engine.private_router.resumes == 1
        assert engine.private_session.stats.reconnects >= 1
        assert engine.private_session.stats.connected
        for journal in journals.values():
            [resumed] = journal.of(PrivateStreamResumed)
            assert resumed.at.tzinfo is not None


def _position_node(tree: Mapping[str, Any], symbol: str) -> Mapping[str, Any]:
    """Return the tree snapshot's node at ``position_path(symbol)``."""
    symbols = next(c for c in tree["children"] if c["path"] == "root/symbols")
    sym = next(c for c in symbols["children"] if c["path"] == f"root/symbols/{symbol}")
    node: Mapping[str, Any] = next(c for c in sym["children"] if c["path"] == position_path(symbol))
    return node


async def test_the_real_position_actors_take_private_events_and_a_resume_and_keep_running(
    run_engine: RunEngine,
) -> None:
    async with run_engine(_settings()) as engine:
        assert engine.rest is not None
        assert engine.simulator is not None
        before = _position_node(await engine.view.supervision_tree(), "BTCUSDT")["handled"]
        # an order nobody clicked (placed beside the engine): the PositionActor sees it and ignores it
        order = OrderRequest(
            symbol="BTCUSDT", side="Buy", order_type="Market", qty=Decimal("0.01"), order_link_id="outside-1"
        )
        await engine.rest.create_order(order)
        assert engine.simulator.drop_connections("private") == 1

        async def took_them() -> bool:
            node = _position_node(await engine.view.supervision_tree(), "BTCUSDT")
            # order, execution, position, wallet and PrivateStreamResumed at least
            return bool(node["handled"] >= before + 5)

        await eventually_async(took_them, timeout=15)
        for symbol in SYMBOLS:
            node = _position_node(await engine.view.supervision_tree(), symbol)
            assert (node["status"], node["restarts"]) == ("running", 0)
