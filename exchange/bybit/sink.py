"""The one seam through which sessions hand events to consumers (DESIGN §6)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from exchange.bybit.events import Event

__all__ = ["EventSink", "SessionStats"]


class EventSink(Protocol):
    """Receive parsed events; called in the trio thread and must never block (a pykka ``tell`` fits)."""

    def publish(self, event: Event) -> None:
        """Take one event."""
        ...


@dataclass(slots=True)
class SessionStats:
    """Counters of one WS session, readable for metrics (reconnects are per channel)."""

    channel: str
    messages: int = 0
    parse_errors: int = 0
    reconnects: int = 0
    duplicates: int = 0
    gaps: int = 0
    resyncs: int = 0
    rest_fallbacks: int = 0
    silences: int = 0
    subscribe_failures: int = 0
    backfilled: int = 0
    positions_refreshed: int = 0
    orders_refreshed: int = 0
    sink_errors: int = 0
    connected: bool = False
    extra: dict[str, int] = field(default_factory=dict)
