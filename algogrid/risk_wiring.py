"""The engine's global risk children: ``root/risk`` (RiskActor) and ``root/monitor`` (MonitorActor).

The RiskActor is the only signal gate, in every mode. Signal actors address it by
path (``root/risk``) and get ``SignalAllowed`` / ``SignalDenied`` / ``SignalQueued`` back as messages
(R-02, R-03); the monitor tells it ``KillConditionTriggered`` (R-04), and hands its position decisions
(``MoveStopToEntry``, R-05; ``ReduceOnlyCloseRequested``, R-06) to the PositionActor of the decision's symbol
(``actors.PositionDecisionSink``, by path ``root/symbols/<SYM>/position``). Both do their I/O through the
engine's work queue, so they are built here from the pieces the engine owns (queue, storage, resolver) — see
the "Wiring" section of docs/risk.md.

Alerts of both actors go to a ``WebhookDispatcher`` (G-05) when ``webhooks.urls`` is configured; the
dispatcher is a trio service the engine runs in its own nursery. Without URLs no dispatcher exists and the
actors log their alerts only.

Both actors get the engine's *market clock* for their decisions (``algogrid.market_clock``: the simulator's
exchange time in simulation mode, wall time in paper/live); their timers stay on the tree's wall clock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import CollectorRegistry

from actors import (
    MONITOR_NAME,
    RISK,
    RISK_NAME,
    LazySink,
    PositionDecisionSink,
    RefResolver,
    SignalPublisher,
    WorkQueue,
)
from actors.monitor import MonitorActor, MonitorDeps, monitor_config_from
from actors.risk import (
    Alert,
    AlertKind,
    AlertSink,
    RiskActor,
    RiskActorDeps,
    RiskMetrics,
    WebhookConfig,
    WebhookDispatcher,
    risk_limits_from,
)
from strategy_core.config import RiskLimits
from supervision import ChildSpec, Clock

__all__ = [
    "LiveRiskLimits",
    "RiskWiring",
    "ServiceStarter",
    "UiAlerts",
    "new_metrics",
    "risk_children",
    "start_alerts",
]


class LiveRiskLimits:
    """The RiskActor's limits as last reloaded (O-02): its child spec starts every incarnation with them."""

    def __init__(self, limits: RiskLimits) -> None:
        self.value = limits


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskWiring:
    """What the risk children share with the rest of the engine (metrics registry, alert dispatcher)."""

    metrics: RiskMetrics
    alerts: WebhookDispatcher | None
    limits: LiveRiskLimits | None = None  # set by risk_children; the hot reload updates it
    ui: SignalPublisher | None = None  # the gateway's event sink: SSE ``be`` (break-even) and ``metrics``


class UiAlerts:
    """The actors' ``AlertSink``: every alert to the webhook dispatcher (if any), break-even ones also to the
    UI (R-05 "emit a BE event (UI + webhook)", G-03: the gateway's feed writes them to the outbox).

    A break-even is a decision of the MonitorActor with no row of its own, so its outbox row is written in its
    own transaction (``gateway.SignalFeed``). Runs in the actor's thread; never blocks.
    """

    def __init__(self, webhooks: AlertSink | None, ui: SignalPublisher) -> None:
        self._webhooks = webhooks
        self._ui = ui

    def submit(self, alert: Alert) -> bool:
        """Hand ``alert`` on; return False when the webhook dispatcher dropped it."""
        if alert.event is AlertKind.BREAK_EVEN:
            self._ui.publish(alert)
        return self._webhooks.submit(alert) if self._webhooks is not None else True


def _alerts_of(wiring: RiskWiring) -> AlertSink | None:
    return wiring.alerts if wiring.ui is None else UiAlerts(wiring.alerts, wiring.ui)


class ServiceStarter(Protocol):
    """Where a trio service is started (a nursery-like ``start`` that waits for ``task_status``)."""

    async def start(self, run: Callable[..., Awaitable[None]]) -> None:
        """Start ``run`` and return once it reported started."""
        ...


async def start_alerts(
    config: WebhookConfig, storage: Any, services: ServiceStarter
) -> WebhookDispatcher | None:
    """Start the webhook dispatcher in ``services`` when ``config.urls`` is set (G-05), else return None.

    The delivery log is ``storage.WebhookDeliveryRepository`` (table ``webhook_deliveries``).
    """
    if not config.urls:
        return None
    dispatcher = WebhookDispatcher(config, storage.webhook_deliveries)
    await services.start(dispatcher.run)
    return dispatcher


def new_metrics(stats_window_days: int = 30) -> RiskMetrics:
    """Return risk metrics on a registry of their own (several engines may share one process)."""
    return RiskMetrics(CollectorRegistry(auto_describe=True), stats_window_days=stats_window_days)


def risk_children(
    settings: Any,
    storage: Any,
    *,
    work: WorkQueue,
    resolve: RefResolver,
    wiring: RiskWiring,
    market_clock: Clock,
) -> tuple[ChildSpec, ChildSpec]:
    """Return the ``risk`` and ``monitor`` child specs of the root supervisor.

    Args:
        settings: ``algogrid.settings.Settings`` (reads the ``risk:`` and ``monitor:`` sections).
        storage: an open ``storage.Storage`` (``risk_state``, ``monitor``).
        work: the engine's actor → trio work queue.
        resolve: the engine's path resolver, bound to the tree once it is up (the monitor's sink of
            ``root/risk`` resolves through it on first use).
        wiring: metrics and the alert dispatcher shared by both actors.
        market_clock: the time both actors' decisions read (reservation TTL, anti-churn, UTC day, funding).
    """
    risk_config = settings.risk
    reconciler = getattr(settings, "reconciler", None)
    if reconciler is not None and reconciler.enabled:
        # C-01: new exposure waits for the reconciler's first clean pass (root/reconciler tells the verdict).
        risk_config = risk_config.model_copy(update={"await_reconciliation": True})
    live = wiring.limits or LiveRiskLimits(risk_limits_from(risk_config))
    monitor_config = monitor_config_from(risk_config, settings.monitor)
    risk_deps = RiskActorDeps(
        work=work,
        store=storage.risk_state,
        metrics=wiring.metrics,
        alerts=_alerts_of(wiring),
        market_clock=market_clock,
    )
    monitor_deps = MonitorDeps(
        work=work,
        store=storage.monitor,
        risk=LazySink(resolve, RISK),
        positions=PositionDecisionSink(resolve),  # BE / funding decisions to root/symbols/<SYM>/position
        alerts=_alerts_of(wiring),
        metrics=wiring.metrics,
        market_clock=market_clock,
        ui=wiring.ui,  # the figures after each assessment that changed them: SSE ``metrics`` (G-03)
    )
    return (
        ChildSpec(RISK_NAME, lambda: RiskActor.start(risk_config, live.value, risk_deps), kind="risk"),
        ChildSpec(MONITOR_NAME, lambda: MonitorActor.start(monitor_config, monitor_deps), kind="monitor"),
    )
