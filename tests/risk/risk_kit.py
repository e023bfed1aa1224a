"""Test kit of the risk room: real storage, the real trio work queue behind the actors' port, signals."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import trio
from prometheus_client import CollectorRegistry

from actors import WorkRejectedError
from actors.monitor import MetricsPublisher, MonitorActor, MonitorConfig, MonitorDeps
from actors.risk import (
    Alert,
    AlertSink,
    GetRiskSnapshot,
    RiskActor,
    RiskActorDeps,
    RiskConfig,
    RiskMetrics,
    RiskSnapshot,
    WebhookConfig,
    WebhookDispatcher,
)
from storage import ServerUrls, Storage, StorageConfig, open_storage
from strategy_core.config import RiskLimits
from strategy_core.exposure import OpenPosition
from strategy_core.models import Side
from strategy_core.signal import Signal
from supervision import (
    Backoff,
    ChildRef,
    ChildSpec,
    Intensity,
    ManualClock,
    Status,
    SupervisionTree,
    SupervisorSpec,
    TrioBridge,
    TrioWorkQueue,
    WorkQueueClosed,
    WorkQueueFull,
)
from tests.support import eventually_async

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@asynccontextmanager
async def open_risk_storage(db_url: str, redis_url: str) -> AsyncIterator[Storage]:
    """Open the real storage front door on the test's database and Redis."""
    config = StorageConfig(pool_min_size=1, pool_max_size=4)
    async with open_storage(config, ServerUrls(db_url, redis_url)) as storage:
        yield storage


def _same(value: object) -> object:
    return value


class WorkPort:
    """The actors' ``WorkQueue`` port on the supervision library's real ``TrioWorkQueue``."""

    def __init__(self, queue: TrioWorkQueue) -> None:
        self.queue = queue

    def submit(self, job: Callable[[], Any], reply_to: Any, on_error: Callable[[Exception], object]) -> None:
        try:
            self.queue.submit(job, reply_to=reply_to, on_result=_same, on_error=on_error)
        except (WorkQueueFull, WorkQueueClosed) as exc:
            raise WorkRejectedError(str(exc)) from exc


class Collector:
    """A thread-safe ``MessageSink`` (a signal actor's ``reply_to``, the position side, the risk actor)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[object] = []

    def tell(self, message: object) -> None:
        with self._lock:
            self._messages.append(message)

    @property
    def messages(self) -> list[object]:
        with self._lock:
            return list(self._messages)

    def of(self, kind: type[Any]) -> list[Any]:
        return [m for m in self.messages if isinstance(m, kind)]


def make_signal(
    symbol: str = "BTCUSDT", side: Side = Side.LONG, risk_r: str = "1", at: dt.datetime = T0
) -> Signal:
    """Return a valid signal risking ``risk_r`` R ($25 per R)."""
    entry = Decimal(100)
    sign = 1 if side is Side.LONG else -1
    return Signal(
        id=uuid.uuid4(),
        symbol=symbol,
        side=side,
        entry=entry,
        tp1=entry + sign * 2,
        tp2=entry + sign * 3,
        tp3=entry + sign * 4,
        sl=entry - sign * 1,
        qty=Decimal(25),
        risk_usd=Decimal(25) * Decimal(risk_r),
        risk_r=Decimal(risk_r),
        p_win=Decimal("0.6"),
        strategy="avi5",
        strategy_version="1",
        created_at=at,
        bar_start=at,
    )


def position(
    position_id: str, symbol: str = "BTCUSDT", side: Side = Side.LONG, risk_r: str = "1", entry: str = "100"
) -> OpenPosition:
    """Return an open position of qty 25 risking ``risk_r`` R ($25 per R, 1 USD per unit per R)."""
    return OpenPosition(
        position_id=position_id,
        symbol=symbol,
        side=side,
        qty=Decimal(25),
        entry=Decimal(entry),
        risk_usd=Decimal(25) * Decimal(risk_r),
        risk_r=Decimal(risk_r),
    )


@dataclass
class RiskRig:
    """A running tree ``root/risk`` on real storage, the real work queue and a manual clock."""

    tree: SupervisionTree
    ref: ChildRef
    bridge: TrioBridge
    storage: Storage
    clock: ManualClock
    registry: CollectorRegistry
    positions: Collector
    alerts: AlertCollector
    market: ManualClock | None = None  # the actors' market clock when apart from the tree's clock

    @property
    def monitor(self) -> ChildRef:
        return self.tree.ref("root/monitor")

    async def ask(self, message: object, timeout: float = 5.0) -> Any:  # noqa: ASYNC109 (bridge timeout)
        return await self.bridge.ask(self.ref, message, timeout=timeout)

    async def restarted(self, incarnation: int) -> None:
        """Advance manual time (restart backoff) until incarnation ``incarnation`` is running."""

        def running() -> bool:
            if self.ref.incarnation >= incarnation and self.ref.status is Status.RUNNING:
                return True
            self.clock.advance(1.0)
            return False

        await eventually_async(running, timeout=10)

    async def snapshot(self) -> RiskSnapshot:
        """Return the snapshot once the (current incarnation's) state is loaded."""

        async def loaded() -> RiskSnapshot | None:
            snap: RiskSnapshot = await self.ask(GetRiskSnapshot())
            return None if snap.rebuilding else snap

        return await eventually_async(loaded, timeout=10)


class AlertCollector:
    """An ``AlertSink`` that keeps the alerts (the webhook path is tested on its own)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._alerts: list[Alert] = []

    def submit(self, alert: Alert) -> bool:
        with self._lock:
            self._alerts.append(alert)
        return True

    @property
    def alerts(self) -> list[Alert]:
        with self._lock:
            return list(self._alerts)


class LateSink:
    """A ``MessageSink`` bound to a tree address once the tree has started."""

    def __init__(self) -> None:
        self.target: ChildRef | None = None

    def tell(self, message: object) -> None:
        if self.target is None:
            raise RuntimeError("expected the sink to be bound, got an unbound sink")
        self.target.tell(message)


RESTART_BACKOFF = Backoff(min_s=1.0, max_s=1.0, jitter=0.0)
TOLERANT = Intensity(max_restarts=10, within_seconds=60.0)


@asynccontextmanager
async def running_risk(
    db_url: str,
    redis_url: str,
    *,
    limits: RiskLimits | None = None,
    clock: ManualClock | None = None,
    state_poll_s: float | None = None,
    intensity: Intensity = TOLERANT,
    monitor: MonitorConfig | None = None,
    webhooks: WebhookConfig | None = None,
    market: ManualClock | None = None,
    ui: MetricsPublisher | None = None,
) -> AsyncIterator[RiskRig]:
    """Start ``root/risk`` (restart backoff 1 s of manual time) and stop the tree afterwards.

    ``market`` is the actors' market clock (decisions); ``clock`` stays the tree's (timers, backoff).

    Alerts of both actors go to the rig's ``AlertCollector``, or to a real ``WebhookDispatcher`` (whose
    delivery log is ``storage.WebhookDeliveryRepository``) when ``webhooks`` is given. ``ui`` is the
    monitor's UI sink (the gateway's ``SignalFeed`` in ``algogrid run``).
    """
    clock = clock or ManualClock(T0)
    registry = CollectorRegistry()
    async with open_risk_storage(db_url, redis_url) as storage, trio.open_nursery() as nursery:
        queue = TrioWorkQueue(maxsize=10_000, concurrency=8, name="risk")
        await nursery.start(queue.run)
        collector = AlertCollector()
        sink: AlertSink = collector
        if webhooks is not None:
            dispatcher = WebhookDispatcher(webhooks, storage.webhook_deliveries)
            await nursery.start(dispatcher.run)
            sink = dispatcher
        deps = RiskActorDeps(
            work=WorkPort(queue),
            store=storage.risk_state,
            metrics=RiskMetrics(registry),
            alerts=sink,
            market_clock=market,
        )
        config = RiskConfig(rebuild_backoff_s=(1.0,), state_poll_s=state_poll_s)
        risk_limits = limits or RiskLimits()
        children = [ChildSpec("risk", lambda: RiskActor.start(config, risk_limits, deps), kind="risk")]
        positions, risk_sink = Collector(), LateSink()
        if monitor is not None:
            monitor_config = monitor
            monitor_deps = MonitorDeps(
                work=deps.work,
                store=storage.monitor,
                risk=risk_sink,
                positions=positions,
                alerts=sink,
                metrics=deps.metrics,
                market_clock=market,
                ui=ui,
            )
            start_monitor = lambda: MonitorActor.start(monitor_config, monitor_deps)  # noqa: E731
            children.append(ChildSpec("monitor", start_monitor, kind="monitor"))
        spec = SupervisorSpec(
            "root",
            children=tuple(children),
            intensity=intensity,
            backoff=RESTART_BACKOFF,
        )
        tree = SupervisionTree.start(spec, clock=clock, watchdog_interval=None)
        bridge = TrioBridge()
        try:
            risk_sink.target = tree.ref("root/risk")
            await eventually_async(tree.settled, timeout=10)
            yield RiskRig(
                tree, tree.ref("root/risk"), bridge, storage, clock, registry, positions, collector, market
            )
        finally:
            tree.faults.clear()
            await bridge.stop_tree(tree, timeout=30)
            nursery.cancel_scope.cancel()
