"""The engine → gateway event path of signals and positions (S-04, G-03, E-06; DESIGN §3 "no blocking
across the boundary").

``SignalFeed.publish`` is called by actors in their own threads: the signal actor's ``SignalGenerated``
(SSE event ``signal``) and the position actors' ``PositionChanged`` (SSE event ``position``, the
``positions`` channel). It validates the event into a ``SignalView`` or ``PositionSummary``, parks it in a
bounded buffer and wakes the trio side with ``TrioToken.run_sync_soon`` — it
never waits. ``SignalFeed.run`` (a trio task owned by ``gateway.serve``) drains the buffer: ``XADD`` to the
Redis Stream (which assigns the monotonic event id), then fan-out to the live SSE clients, strictly in order.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

import structlog
import trio

from gateway.errors import EventLogError
from gateway.events import RedisEventLog, StreamEvent
from gateway.hub import SignalHub
from gateway.models import PositionSummary, SignalView
from gateway.reconciliation import ReconciliationEventView

__all__ = ["SignalFeed"]

log = structlog.get_logger(__name__)

SIGNAL_EVENT = "signal"
POSITION_EVENT = "position"
RECONCILIATION_EVENT = "reconciliation"

_View = SignalView | PositionSummary | ReconciliationEventView


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


def to_event_view(event: object) -> _View:
    """Return the view of a published event: a ``PositionChanged`` (it carries ``position``) becomes a
    ``PositionSummary``, a reconciler's ``ReconciliationEvent`` a ``ReconciliationEventView`` (SSE event
    ``reconciliation``), anything else a ``SignalView`` (``to_signal_view``)."""
    if isinstance(event, PositionSummary | ReconciliationEventView):
        return event
    if hasattr(event, "new_findings") and hasattr(event, "run_id"):
        return ReconciliationEventView.of(event)  # actors.reconciler.ReconciliationEvent
    position = getattr(event, "position", None)
    if position is not None and getattr(event, "signal", None) is None:
        return PositionSummary.model_validate(position, from_attributes=True)
    return to_signal_view(event)


class SignalFeed:
    """Thread-safe, non-blocking sink for ``SignalGenerated`` and ``PositionChanged`` (implements
    ``actors.SignalPublisher`` and the position actors' publisher port)."""

    def __init__(self, capacity: int = 10_000, retry_s: float = 0.5, max_attempts: int = 5) -> None:
        self._capacity = capacity
        self._retry_s = retry_s
        self._max_attempts = max_attempts
        self._lock = threading.Lock()
        self._pending: deque[_View] = deque()
        self._token: trio.lowlevel.TrioToken | None = None
        self._wakeup: trio.Event | None = None
        self.published = 0
        self.dropped = 0
        self.lost = 0
        self.generated: Counter[tuple[str, str]] = Counter()  # signals by (symbol, side): G-06

    def publish(self, event: object) -> None:
        """Queue ``event`` for the stream and SSE clients; safe from any thread, never blocks.

        Raises:
            pydantic.ValidationError: ``event`` does not carry a valid signal (the caller's bug, raised now).
        """
        view = to_event_view(event)
        side = getattr(view, "side", None)
        with self._lock:
            if not isinstance(view, PositionSummary) and side is not None:
                self.generated[(str(view.symbol), str(side))] += 1
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
        log_: RedisEventLog,
        hub: SignalHub,
        *,
        on_event: Callable[[], None] | None = None,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Drain published events into ``log_`` and ``hub`` until cancelled.

        ``on_event`` runs in the trio thread after an event is logged and before it is fanned out (the
        gateway invalidates its read cache there, so a client that saw the event reads the new signal).
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
                    event = await self._append(log_, view)
                    if event is not None:
                        if on_event is not None:
                            on_event()
                        hub.publish(event)
                        self.published += 1
        finally:
            with self._lock:
                self._token = None

    async def _append(self, log_: RedisEventLog, view: _View) -> StreamEvent | None:
        data = view.model_dump_json()
        name = (
            POSITION_EVENT
            if isinstance(view, PositionSummary)
            else RECONCILIATION_EVENT
            if isinstance(view, ReconciliationEventView)
            else SIGNAL_EVENT
        )
        for attempt in range(1, self._max_attempts + 1):
            try:
                return await log_.append(name, data)
            except EventLogError as exc:
                log.warning("event append failed", event=name, attempt=attempt, error=str(exc), id=view.id)
                await trio.sleep(self._retry_s * attempt)
        self.lost += 1
        log.error("event lost", event=name, id=view.id, symbol=view.symbol)
        return None
