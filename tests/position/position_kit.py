"""Test kit of the position room: the real PositionActor in a real tree, on real parts.

``running_position`` starts ``root/risk`` (the real RiskActor) and ``root/symbols/BTCUSDT/position`` (the real
PositionActor) on real PostgreSQL, the real trio work queue, the real ``BybitRestClient`` against the
simulator over real sockets, and the real ``PrivateSession`` whose events are told to the PositionActor (the
routing the engine does).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg2
import trio
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from actors import TradingInputs
from actors.paths import position_path
from actors.position import (
    CloseOutcome,
    ClosePosition,
    ExecutionConfig,
    ExecutionMetrics,
    GetPositions,
    PlacementOutcome,
    PlaceOrderFromSignal,
    PositionActor,
    PositionChanged,
    PositionDeps,
    PositionView,
)
from actors.risk import (
    GetRiskSnapshot,
    RiskActor,
    RiskActorDeps,
    RiskConfig,
    RiskMetrics,
    RiskSnapshot,
    risk_limits_from,
)
from algogrid.market_clock import SimMarketClock
from exchange import Credentials, ExchangeConfig
from exchange.bybit import BybitRestClient, ExecutionReport, OrderUpdate, PositionUpdate, PrivateSession
from exchange.simulator import Simulator
from storage import ServerUrls, Storage, StorageConfig, open_storage
from strategy_core.config import InstrumentRules
from strategy_core.models import Side
from strategy_core.signal import Signal
from supervision import (
    Backoff,
    ChildRef,
    ChildSpec,
    Intensity,
    ReplyFuture,
    SupervisionTree,
    SupervisorSpec,
    TrioBridge,
    TrioWorkQueue,
)
from tests.risk.risk_kit import Collector, LateSink, WorkPort
from tests.support import eventually_async

API_KEY = "pos-key"
API_SECRET = "pos-secret"
SYMBOL = "BTCUSDT"
RULES = InstrumentRules(tick_size=Decimal("0.10"), qty_step=Decimal("0.001"), min_qty=Decimal("0.001"))

_RESET = (
    "TRUNCATE signals, positions, orders, executions, order_rejections, slippage_log, risk_denials CASCADE"
)


def reset_tables(db_url: str) -> None:
    """Empty the execution tables (audit_trail is append-only: tests read their own rows)."""
    conn = psycopg2.connect(db_url)
    with conn, conn.cursor() as cur:
        cur.execute(_RESET)
        cur.execute(
            "UPDATE kill_switch_state SET trading_state = 'ACTIVE', engaged = false, reason = NULL, "
            "changed_by_label = 'system', changed_at = now()"
        )
    conn.close()


class Published:
    """The publisher port: records ``PositionChanged`` events (called from the actor thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[PositionChanged] = []

    def publish(self, event: object) -> None:
        assert isinstance(event, PositionChanged)
        with self._lock:
            self.events.append(event)


class Router:
    """The engine's routing of private events, done by the test: every event to the PositionActor."""

    def __init__(self) -> None:
        self.target: ChildRef | None = None
        self.seen: list[object] = []

    def publish(self, event: object) -> None:
        self.seen.append(event)
        routed = isinstance(event, OrderUpdate | ExecutionReport | PositionUpdate)
        if self.target is not None and routed and getattr(event, "symbol", SYMBOL) == SYMBOL:
            try:
                self.target.tell(event)
            except Exception:  # the actor is restarting: its rebuild polls the exchange
                return


@dataclass
class PositionRig:
    """A running tree with the PositionActor of ``BTCUSDT`` and the RiskActor."""

    tree: SupervisionTree
    bridge: TrioBridge
    storage: Storage
    sim: Simulator
    rest: BybitRestClient
    published: Published
    monitor: Collector
    config: ExecutionConfig
    r_unit: Decimal
    metrics: ExecutionMetrics

    def sample(self, name: str, **labels: str) -> float:
        """Return one sample of the rig's execution metrics (0 when never observed)."""
        return self.metrics.registry.get_sample_value(name, labels) or 0.0

    @property
    def ref(self) -> ChildRef:
        return self.tree.ref(position_path(SYMBOL))

    async def place(self, signal_id: str, timeout: float = 15.0) -> PlacementOutcome:  # noqa: ASYNC109
        future: ReplyFuture[PlacementOutcome] = ReplyFuture()
        self.ref.tell(PlaceOrderFromSignal(signal_id=signal_id, requested_by="trader", reply=future))
        outcome: PlacementOutcome = await self.bridge.wait(future, timeout=timeout, what="placement")
        return outcome

    def place_future(self, signal_id: str) -> ReplyFuture[PlacementOutcome]:
        future: ReplyFuture[PlacementOutcome] = ReplyFuture()
        self.ref.tell(PlaceOrderFromSignal(signal_id=signal_id, requested_by="trader", reply=future))
        return future

    async def close(self, position_id: str, timeout: float = 15.0) -> CloseOutcome:  # noqa: ASYNC109
        future: ReplyFuture[CloseOutcome] = ReplyFuture()
        self.ref.tell(
            ClosePosition(position_id=position_id, reason="manual", requested_by="trader", reply=future)
        )
        outcome: CloseOutcome = await self.bridge.wait(future, timeout=timeout, what="close")
        return outcome

    async def positions(self) -> tuple[PositionView, ...]:
        views: tuple[PositionView, ...] = await self.bridge.ask(self.ref, GetPositions(), timeout=5)
        return views

    def exchange_orders(self) -> list[Any]:
        """Every order the venue accepted for the test account."""
        return list(self.sim.account(API_KEY).orders.values())

    async def signal(
        self,
        *,
        side: Side = Side.LONG,
        entry: Decimal,
        sl_distance: Decimal,
        atr_above_p80: bool | None = None,
        book_depth_usd: Decimal | None = None,
    ) -> str:
        """Store a ``new`` signal on ``entry`` with its SL ``sl_distance`` away; return its id.

        ``atr_above_p80`` / ``book_depth_usd``: the signal's market context (E-05), None by default.
        """
        sign = 1 if side is Side.LONG else -1
        qty = (self.r_unit / sl_distance).quantize(Decimal("0.001"), rounding="ROUND_FLOOR")
        now = SimMarketClock(self.sim.clock).now()
        signal = Signal(
            id=uuid.uuid4(),
            symbol=SYMBOL,
            side=side,
            entry=entry,
            tp1=entry + sign * sl_distance,
            tp2=entry + sign * 2 * sl_distance,
            tp3=entry + sign * 3 * sl_distance,
            sl=entry - sign * sl_distance,
            qty=max(qty, Decimal("0.001")),
            risk_usd=max(qty, Decimal("0.001")) * sl_distance,
            risk_r=Decimal(1),
            p_win=Decimal("0.6"),
            strategy="avi5",
            strategy_version="1",
            created_at=now,
            bar_start=now.replace(second=0, microsecond=0),
            atr_above_p80=atr_above_p80,
            book_depth_usd=book_depth_usd,
        )
        assert await self.storage.signals.insert(signal)
        return str(signal.id)


def best_ask(sim: Simulator) -> tuple[Decimal, Decimal]:
    """Return the best ask's price and size (pause the simulator's clock first: the book then stays)."""
    market = sim.market(SYMBOL)
    book = market.book
    ticks = book.best_ask()
    assert ticks is not None
    spec = market.spec
    return spec.price_of(ticks), spec.qty_of(book.asks[ticks])


RESTART = Backoff(min_s=0.05, max_s=0.2, jitter=0.0)


@asynccontextmanager
async def running_position(
    db_url: str,
    redis_url: str,
    sim: Simulator,
    *,
    r_unit: Decimal = Decimal(25),
    config: ExecutionConfig | None = None,
    private: bool = True,
    instruments: dict[str, InstrumentRules] | None = None,
    on_tree: Callable[[SupervisionTree], None] | None = None,
) -> AsyncIterator[PositionRig]:
    """Start the tree on real parts; stop it (and the private session) afterwards."""
    execution = config or ExecutionConfig(fill_wait_seconds=1.0, poll_interval_s=0.2)
    storage_config = StorageConfig(pool_min_size=1, pool_max_size=6)
    exchange_config = ExchangeConfig(
        rest_url=sim.rest_url,
        ws_public_url=sim.ws_public_url,
        ws_private_url=sim.ws_private_url,
        request_timeout_s=2.0,
        retry_backoff_min_s=0.05,
        retry_backoff_max_s=0.2,
    )
    creds = Credentials(api_key=API_KEY, api_secret=SecretStr(API_SECRET))
    async with (
        open_storage(storage_config, ServerUrls(db_url, redis_url)) as storage,
        BybitRestClient(exchange_config, creds) as rest,
        trio.open_nursery() as nursery,
    ):
        queue = TrioWorkQueue(maxsize=10_000, concurrency=8, name="position")
        await nursery.start(queue.run)
        router = Router()
        if private:
            session = PrivateSession(exchange_config, creds, router, rest)
            await nursery.start(session.run)
            with trio.fail_after(10):
                await session.wait_ready()
        work = WorkPort(queue)
        risk_config = RiskConfig(risk_per_trade_usd=r_unit, max_total_risk_usd=r_unit * 10)
        limits = risk_limits_from(risk_config)
        market = SimMarketClock(sim.clock)
        risk_deps = RiskActorDeps(
            work=work, store=storage.risk_state, metrics=RiskMetrics(CollectorRegistry()), market_clock=market
        )
        risk_sink, published, monitor = LateSink(), Published(), Collector()
        metrics = ExecutionMetrics(CollectorRegistry())
        deps = PositionDeps(
            work=work,
            store=storage.execution,
            exchange=rest,
            risk=risk_sink,
            publisher=published,
            monitor=monitor,
            market_clock=market,
            metrics=metrics,
        )
        inputs = TradingInputs(
            risk_per_trade_usd=r_unit, instruments=instruments if instruments is not None else {SYMBOL: RULES}
        )
        tolerant = Intensity(max_restarts=10, within_seconds=60.0)
        position = ChildSpec(
            "position", lambda: PositionActor.start(SYMBOL, execution, inputs, deps), kind="position"
        )
        symbol = SupervisorSpec(
            SYMBOL, children=(position,), intensity=tolerant, backoff=RESTART, kind="symbol"
        )
        symbols = SupervisorSpec("symbols", children=(symbol,), intensity=tolerant, backoff=RESTART)
        risk = ChildSpec("risk", lambda: RiskActor.start(risk_config, limits, risk_deps), kind="risk")
        spec = SupervisorSpec("root", children=(risk, symbols), intensity=tolerant, backoff=RESTART)
        tree = SupervisionTree.start(spec, watchdog_interval=None)
        bridge = TrioBridge()
        try:
            risk_sink.target = tree.ref("root/risk")
            await eventually_async(tree.settled, timeout=10)

            async def risk_loaded() -> bool:
                snapshot: RiskSnapshot = await bridge.ask(tree.ref("root/risk"), GetRiskSnapshot(), timeout=5)
                return not snapshot.rebuilding

            await eventually_async(risk_loaded, timeout=10)
            router.target = tree.ref(position_path(SYMBOL))
            if on_tree is not None:
                on_tree(tree)
            yield PositionRig(
                tree, bridge, storage, sim, rest, published, monitor, execution, r_unit, metrics
            )
        finally:
            tree.faults.clear()
            await bridge.stop_tree(tree, timeout=30)
            nursery.cancel_scope.cancel()
