"""The engine → gateway event path (S-04, G-03, E-06; DESIGN §3 "no blocking across the boundary", §5).

``SignalFeed.publish`` is called by actors in their own threads: the signal actor's ``SignalGenerated``
(SSE event ``signal``), the position actors' ``PositionChanged`` (``position``), the reconciler's pass
events (``reconciliation``), the monitor's break-even alerts (``be``, through ``algogrid``'s ``UiAlerts``)
and its figures (``metrics``, ``MetricsUpdated``). It validates the event into its view and never waits.

Every UI event reaches the Redis Stream through the PostgreSQL outbox (``gateway.relay``). Signals,
positions and reconciliation passes are announced by the storage write that changes them, in the same
transaction; the feed only counts those (``announced``). Events without a state change of their own (a
break-even alert, a metrics snapshot) are parked in a bounded buffer, the trio side is woken with
``TrioToken.run_sync_soon``, and ``SignalFeed.run`` (a trio task owned by ``gateway.serve``) writes them to
the outbox, each in its own transaction, strictly in order.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Collection
from typing import Any, Protocol

import structlog
import trio

from gateway.models import PositionSummary, SignalView
from gateway.models_alerts import AlertView
from gateway.models_metrics import MetricsView
from gateway.reconciliation import ReconciliationEventView

__all__ = ["OutboxAppender", "SignalFeed", "event_name"]

log = structlog.get_logger(__name__)

SIGNAL_EVENT = "signal"
POSITION_EVENT = "position"
RECONCILIATION_EVENT = "reconciliation"
BE_EVENT = "be"
METRICS_EVENT = "metrics"

_View = SignalView | PositionSummary | ReconciliationEventView | AlertView | MetricsView


def to_signal_view(event: object) -> SignalView:
    """Return the ``SignalView`` of a ``SignalGenerated`` event (or of a bare signal object/mapping)."""
    if isinstance(event, SignalView):
        return event
    inner = getattr(event, "signal", None)
    if inner is None:
        return SignalView.model_validate(event, from_attributes=not isinstance(event, dict))
    view = SignalView.model_validate(inner, from_attributes=True)
    extra: dict[str, Any] = {}
    status = getattr(event, "status", None)
    if status in ("new", "queued"):
        extra["status"] = status
    queued_until = getattr(event, "queued_until", None)
    if queued_until is not None:
        extra["queued_until"] = queued_until
    return view.model_copy(update=extra) if extra else view


def event_name(view: _View) -> str:
    """Return the SSE event name of a view: ``position``, ``reconciliation``, ``be``, ``metrics`` or
    ``signal``."""
    if isinstance(view, PositionSummary):
        return POSITION_EVENT
    if isinstance(view, ReconciliationEventView):
        return RECONCILIATION_EVENT
    if isinstance(view, AlertView):
        return BE_EVENT
    if isinstance(view, MetricsView):
        return METRICS_EVENT
    return SIGNAL_EVENT


def to_event_view(event: object) -> _View:
    """Return the view of a published event: a ``PositionChanged`` (it carries ``position``) becomes a
    ``PositionSummary``, a reconciler's ``ReconciliationEvent`` a ``ReconciliationEventView`` (SSE event
    ``reconciliation``), an ``Alert`` an ``AlertView`` (SSE event ``be``), the monitor's ``MetricsUpdated`` a
    ``MetricsView`` (SSE event ``metrics``), anything else a ``SignalView`` (``to_signal_view``)."""
    if isinstance(event, PositionSummary | ReconciliationEventView | AlertView | MetricsView):
        return event
    if hasattr(event, "profit_factor") and hasattr(event, "daily_drawdown_r"):
        return MetricsView.of(event)  # actors.monitor.MetricsUpdated
    if hasattr(event, "new_findings") and hasattr(event, "run_id"):
        return ReconciliationEventView.of(event)  # actors.reconciler.ReconciliationEvent
    if hasattr(event, "alert_id") and hasattr(event, "severity"):
        return AlertView.of(event)  # actors.risk.Alert (the break-even ones reach the feed: SSE ``be``)
    position = getattr(event, "position", None)
    if position is not None and getattr(event, "signal", None) is None:
        return PositionSummary.model_validate(position, from_attributes=True)
    return to_signal_view(event)


class OutboxAppender(Protocol):
    """Writes an event that announces no state change of its own (``storage.OutboxRepository.append``)."""

    async def append(self, topic: str, payload: object) -> int:
        """Commit one outbox row in its own transaction; return its id."""


class SignalFeed:
    """Thread-safe, non-blocking sink of the actors' events for the UI (implements ``actors.SignalPublisher``
    and the position and reconciler actors' publisher ports).

    Args:
        capacity: events buffered before ``publish`` drops one (counted in ``dropped``).
        retry_s / retry_max_s: the wait before retrying an outbox write refused (PostgreSQL down); doubles.
        announced: event names whose outbox row the state change's own transaction writes (the storage
            repositories announce ``signal``, ``position`` and ``reconciliation``, G-03:
            ``storage.Topic.with_state``): ``publish`` only counts those. Every other event (``be``,
            ``metrics``: no state change of their own) is written to the outbox in its own transaction by
            ``run``.
    """

    def __init__(
        self,
        capacity: int = 10_000,
        retry_s: float = 0.2,
        retry_max_s: float = 5.0,
        *,
        announced: Collection[str] = (),
    ) -> None:
        self._capacity = capacity
        self._retry_s = retry_s
        self._retry_max_s = retry_max_s
        self._announced = frozenset(announced)
        self._lock = threading.Lock()
        self._pending: deque[_View] = deque()
        self._token: trio.lowlevel.TrioToken | None = None
        self._wakeup: trio.Event | None = None
        self.published = 0  # events this feed wrote to the outbox
        self.dropped = 0
        self.lost = 0
        self.generated: Counter[tuple[str, str]] = Counter()  # signals by (symbol, side): G-06

    def publish(self, event: object) -> None:
        """Queue ``event`` for the outbox (or only count it, when announced); any thread, never blocks.

        Raises:
            pydantic.ValidationError: ``event`` does not carry a valid signal (the caller's bug, raised now).
        """
        view = to_event_view(event)
        side = getattr(view, "side", None)
        with self._lock:
            if not isinstance(view, PositionSummary) and side is not None:
                self.generated[(str(view.symbol), str(side))] += 1
            if event_name(view) in self._announced:
                return
            if len(self._pending) >= self._capacity:
                self.dropped += 1
                log.error("event feed full, event dropped", symbol=view.symbol, id=view.id)
                return
            self._pending.append(view)
            token = self._token
        if token is not None:
            try:
                token.run_sync_soon(self._wake)
            except trio.RunFinishedError:
                log.warning("event feed stopped, event kept in buffer", id=view.id)

    def _wake(self) -> None:
        # Runs in the trio thread via run_sync_soon: it must not raise (an escaping error kills the run).
        wakeup = self._wakeup
        if wakeup is not None:
            wakeup.set()

    def _take(self) -> list[_View]:
        with self._lock:
            batch = list(self._pending)
            self._pending.clear()
        return batch

    async def run(
        self,
        outbox: OutboxAppender,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Write published events to ``outbox`` (each in its own transaction), in order, until cancelled.

        A refused write is retried with a doubling wait until it succeeds: PostgreSQL being down delays events
        and loses none (only a full buffer drops one). The outbox relay takes them on from there.
        """
        self._wakeup = trio.Event()
        with self._lock:
            self._token = trio.lowlevel.current_trio_token()
        task_status.started()
        try:
            while True:
                batch = self._take()
                if not batch:
                    await self._wakeup.wait()
                    self._wakeup = trio.Event()
                    continue
                for view in batch:
                    await self._append(outbox, view)
                    self.published += 1
        finally:
            with self._lock:
                self._token = None

    async def _append(self, outbox: OutboxAppender, view: _View) -> None:
        name = event_name(view)
        payload = view.model_dump(mode="json")
        wait = self._retry_s
        while True:
            try:
                await outbox.append(name, payload)
            except Exception as exc:  # storage's errors are not ours to import: every refusal is retried
                log.warning("event append failed", event=name, error=str(exc)[:300], id=view.id)
                await trio.sleep(wait)
                wait = min(wait * 2, self._retry_max_s)
            else:
                return
