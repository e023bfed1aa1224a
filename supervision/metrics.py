"""Observability: structlog events, plain counters, optional prometheus Counters, and a listener protocol.

Every lifecycle event goes through `Metrics.record`, which logs it, counts it by actor kind, updates the
tree's `SupervisionMetrics` when it was given one, and calls listeners. Nothing is registered at import: the
owner of a registry builds `SupervisionMetrics(registry)` and hands it to `SupervisionTree.start`.
"""

from __future__ import annotations

import threading
from collections import Counter as _Tally
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import structlog
from prometheus_client import CollectorRegistry, Counter

__all__ = [
    "EventType",
    "Metrics",
    "SupervisionEvent",
    "SupervisionEvents",
    "SupervisionMetrics",
]

log = structlog.get_logger(__name__)


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


class SupervisionMetrics:
    """The prometheus Counters of one tree, registered on a registry its owner exposes.

    Args:
        registry: where the Counters are registered (e.g. the registry served on ``/metrics``); one
            `SupervisionMetrics` per registry, since a registry refuses a second metric of the same name.

    Attributes:
        crashes: ``supervision_crashes_total{kind,reason}``, abnormal exits of supervised actors.
        restarts: ``supervision_restarts_total{kind}``, restarts of supervised actors.
        escalations: ``supervision_escalations_total{kind}``, supervisors that exceeded their intensity.
        dead_letters: ``supervision_dead_letters_total{kind}``, tells rejected because no actor took them.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.crashes = Counter(
            "supervision_crashes_total",
            "Abnormal exits of supervised actors.",
            ["kind", "reason"],
            registry=registry,
        )
        self.restarts = Counter(
            "supervision_restarts_total", "Restarts of supervised actors.", ["kind"], registry=registry
        )
        self.escalations = Counter(
            "supervision_escalations_total",
            "Supervisors that exceeded their intensity.",
            ["kind"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "supervision_dead_letters_total",
            "Tells rejected because no actor took them.",
            ["kind"],
            registry=registry,
        )

    def observe(self, event: SupervisionEvent) -> None:
        """Count one event on the Counter of its type (starts, stops and root failures have none)."""
        match event.type:
            case EventType.CRASH:
                self.crashes.labels(kind=event.kind, reason=event.reason).inc()
            case EventType.RESTART:
                self.restarts.labels(kind=event.kind).inc()
            case EventType.ESCALATION:
                self.escalations.labels(kind=event.kind).inc()
            case EventType.DEAD_LETTER:
                self.dead_letters.labels(kind=event.kind).inc()
            case _:
                pass


class Metrics:
    """Per-tree counters by event type and actor kind, the optional prometheus Counters, and listeners."""

    def __init__(
        self, listeners: Iterable[SupervisionEvents] = (), prometheus: SupervisionMetrics | None = None
    ) -> None:
        self._lock = threading.Lock()
        self._tallies: dict[EventType, _Tally[str]] = {t: _Tally() for t in EventType}
        self._listeners = tuple(listeners)
        self._prometheus = prometheus

    def record(self, event: SupervisionEvent) -> None:
        """Log, count and publish one event."""
        with self._lock:
            self._tallies[event.type][event.kind] += 1
        if self._prometheus is not None:
            self._prometheus.observe(event)
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
