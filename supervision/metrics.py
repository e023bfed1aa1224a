"""Observability: structlog events, plain counters, prometheus Counters, and a listener protocol.

Every lifecycle event goes through `Metrics.record`, which logs it, counts it by actor kind, updates the
module-level prometheus Counters (exported by the gateway from the default registry) and calls listeners.
"""

from __future__ import annotations

import threading
from collections import Counter as _Tally
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import structlog
from prometheus_client import Counter

__all__ = [
    "CRASHES",
    "DEAD_LETTERS",
    "ESCALATIONS",
    "RESTARTS",
    "EventType",
    "Metrics",
    "SupervisionEvent",
    "SupervisionEvents",
]

log = structlog.get_logger(__name__)

CRASHES = Counter("supervision_crashes_total", "Abnormal exits of supervised actors.", ["kind", "reason"])
RESTARTS = Counter("supervision_restarts_total", "Restarts of supervised actors.", ["kind"])
ESCALATIONS = Counter("supervision_escalations_total", "Supervisors that exceeded their intensity.", ["kind"])
DEAD_LETTERS = Counter(
    "supervision_dead_letters_total", "Tells rejected because no actor took them.", ["kind"]
)


class EventType(StrEnum):
    """Kinds of lifecycle event."""

    START = "start"
    CRASH = "crash"
    RESTART = "restart"
    ESCALATION = "escalation"
    ROOT_FAILURE = "root_failure"
    DEAD_LETTER = "dead_letter"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class SupervisionEvent:
    """One lifecycle event of one child."""

    type: EventType
    path: str
    kind: str
    reason: str = ""
    incarnation: int = 0


class SupervisionEvents(Protocol):
    """Listener for lifecycle events; called in actor threads, so it must be quick and must not block."""

    def __call__(self, event: SupervisionEvent) -> None:
        """Receive one event."""


_LOG_EVENT = {
    EventType.START: "child started",
    EventType.CRASH: "child crashed",
    EventType.RESTART: "child restarted",
    EventType.ESCALATION: "supervisor escalated",
    EventType.ROOT_FAILURE: "root supervisor failed",
    EventType.DEAD_LETTER: "dead letter",
    EventType.STOP: "child stopped",
}


class Metrics:
    """Per-tree counters by event type and actor kind, plus listeners."""

    def __init__(self, listeners: Iterable[SupervisionEvents] = ()) -> None:
        self._lock = threading.Lock()
        self._tallies: dict[EventType, _Tally[str]] = {t: _Tally() for t in EventType}
        self._listeners = tuple(listeners)

    def record(self, event: SupervisionEvent) -> None:
        """Log, count and publish one event."""
        with self._lock:
            self._tallies[event.type][event.kind] += 1
        if event.type is EventType.CRASH:
            CRASHES.labels(kind=event.kind, reason=event.reason).inc()
        elif event.type is EventType.RESTART:
            RESTARTS.labels(kind=event.kind).inc()
        elif event.type is EventType.ESCALATION:
            ESCALATIONS.labels(kind=event.kind).inc()
        elif event.type is EventType.DEAD_LETTER:
            DEAD_LETTERS.labels(kind=event.kind).inc()
        level = log.warning if event.type in _WARN else log.debug
        level(
            _LOG_EVENT[event.type],
            path=event.path,
            kind=event.kind,
            reason=event.reason,
            incarnation=event.incarnation,
        )
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # a listener bug must not kill the actor thread that reports
                log.exception("supervision listener failed", path=event.path)

    def counters(self) -> dict[str, dict[str, int]]:
        """Return ``{"crashes": {kind: n}, "restarts": {...}, ...}`` (plain ints, JSON-serialisable)."""
        with self._lock:
            return {_COUNTER_KEY[t]: dict(tally) for t, tally in self._tallies.items()}


_COUNTER_KEY = {
    EventType.START: "starts",
    EventType.CRASH: "crashes",
    EventType.RESTART: "restarts",
    EventType.ESCALATION: "escalations",
    EventType.ROOT_FAILURE: "root_failures",
    EventType.DEAD_LETTER: "dead_letters",
    EventType.STOP: "stops",
}
_WARN = frozenset({EventType.CRASH, EventType.ESCALATION, EventType.ROOT_FAILURE, EventType.DEAD_LETTER})
