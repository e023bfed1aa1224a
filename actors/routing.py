"""Route exchange events from the public session's sink to each symbol's FeedActor (P-05, DESIGN §6).

``SymbolRouter`` implements the exchange ``EventSink`` protocol: ``publish`` runs in the trio thread, looks up
the feed of the event's symbol and ``tell``s it (non-blocking). Events for symbols without a tree and events a
restarting feed cannot take are counted, never raised into the session (a session must not die because one
symbol's feed is restarting; the feed resyncs from a REST snapshot when it comes back).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from actors.messages import MessageSink

__all__ = ["RouterStats", "SymbolRouter"]

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class RouterStats:
    """Counters of the router."""

    routed: int = 0
    unrouted: int = 0
    rejected: int = 0


class SymbolRouter:
    """An ``EventSink`` that tells each event to ``root/symbols/<SYM>/feed``.

    Args:
        resolve: returns the feed's ref (a ``ChildRef``) for a symbol; refs are cached per symbol, and a
            symbol is routable only after ``add`` (so removed symbols stop receiving events at once).
        is_unavailable: classifies an exception from resolving or ``tell`` as "feed not available" (counted,
            swallowed).
    """

    def __init__(
        self,
        resolve: Callable[[str], MessageSink],
        is_unavailable: Callable[[Exception], bool],
    ) -> None:
        self._resolve = resolve
        self._is_unavailable = is_unavailable
        self._refs: dict[str, MessageSink | None] = {}
        self._lock = threading.Lock()
        self.stats = RouterStats()

    def add(self, symbol: str) -> None:
        """Start routing ``symbol``'s events to its feed (resolved on the first event, once it exists)."""
        with self._lock:
            self._refs = {**self._refs, symbol: None}

    def remove(self, symbol: str) -> None:
        """Stop routing ``symbol``."""
        with self._lock:
            self._refs = {k: v for k, v in self._refs.items() if k != symbol}

    @property
    def symbols(self) -> frozenset[str]:
        """Return the symbols currently routed."""
        return frozenset(self._refs)

    def publish(self, event: object) -> None:
        """Tell ``event`` to its symbol's feed; never raises, never blocks."""
        symbol = getattr(event, "symbol", None)
        if not isinstance(symbol, str) or symbol not in self._refs:
            self.stats.unrouted += 1
            return
        try:
            ref = self._refs[symbol]
            if ref is None:
                ref = self._resolve(symbol)
                with self._lock:
                    if symbol in self._refs:
                        self._refs = {**self._refs, symbol: ref}
            ref.tell(event)
        except Exception as exc:
            # Boundary: the session's receive loop must survive a restarting feed (see module docstring).
            if not self._is_unavailable(exc):
                log.exception("event routing failed", symbol=symbol)
            self.stats.rejected += 1
            return
        self.stats.routed += 1
