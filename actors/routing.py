"""Route exchange events to each symbol's actors by path (P-05, DESIGN §6).

* ``SymbolRouter`` — the public session's sink: each market event to ``root/symbols/<SYM>/feed``;
* ``PrivateRouter`` — the private session's sink: each order, execution and position event to
  ``root/symbols/<SYM>/position``, each wallet update to every routed PositionActor, and after a reconnect
  ``PrivateStreamResumed`` to every routed PositionActor (``resumed``);
* ``PositionDecisionSink`` — the MonitorActor's ``positions`` port: each decision (``MoveStopToEntry``,
  ``ReduceOnlyCloseRequested``) to the PositionActor of its symbol.

Both routers implement the exchange ``EventSink`` protocol: ``publish`` runs in the trio thread, looks up the
target of the event's symbol and ``tell``s it (non-blocking). Refs are supervision ``ChildRef``s resolved
lazily and cached: a restarting child holds the messages told meanwhile (its restart buffer). Events for
symbols without a tree and events a stopped child cannot take are counted, never raised into the session (a
session must not die because one symbol's actor is restarting; the feed resyncs from a REST snapshot when it
comes back, the PositionActor re-validates from the exchange on start).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from actors.messages import MessageSink, PrivateStreamResumed
from actors.monitor.messages import MoveStopToEntry, ReduceOnlyCloseRequested
from actors.paths import position_path
from exchange.bybit import ExecutionReport, OrderUpdate, PositionUpdate, WalletUpdate

__all__ = ["PositionDecisionSink", "PrivateRouter", "RouterStats", "SymbolRouter"]

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


class PrivateRouter:
    """An ``EventSink`` that tells each private event to ``root/symbols/<SYM>/position`` (E-04, D-03).

    Args:
        resolve: returns the PositionActor's ref (a ``ChildRef``) for a symbol; resolved on the symbol's first
            event and cached.
        is_unavailable: classifies an exception from resolving or ``tell`` as "actor not available" (counted,
            swallowed; a failed resolve is retried on the next event).
        symbols: the symbols that have a tree now (the engine passes the ``SymbolRouter``'s, which the
            ``SymbolsController`` keeps in step); events of any other symbol are counted as unrouted and
            logged once per symbol.

    ``OrderUpdate``, ``ExecutionReport`` and ``PositionUpdate`` go to their symbol's PositionActor;
    ``WalletUpdate`` (account-wide) to every routed one and is kept as ``wallet``.
    """

    def __init__(
        self,
        resolve: Callable[[str], MessageSink],
        is_unavailable: Callable[[Exception], bool],
        symbols: Callable[[], frozenset[str]],
    ) -> None:
        self._resolve = resolve
        self._is_unavailable = is_unavailable
        self._symbols = symbols
        self._refs: dict[str, MessageSink] = {}
        self._lock = threading.Lock()
        self._logged_unknown: set[str] = set()
        self.wallet: WalletUpdate | None = None
        self.resumes = 0
        self.stats = RouterStats()

    @property
    def symbols(self) -> frozenset[str]:
        """Return the symbols currently routed."""
        return self._symbols()

    def publish(self, event: object) -> None:
        """Tell ``event`` to its symbol's PositionActor (a wallet update to all of them); never raises."""
        match event:
            case OrderUpdate(symbol=symbol) | ExecutionReport(symbol=symbol) | PositionUpdate(symbol=symbol):
                self._route(symbol, event)
            case WalletUpdate():
                self.wallet = event
                for symbol in sorted(self._symbols()):
                    self._route(symbol, event)
            case _:
                self.stats.unrouted += 1
                log.warning("private event not routable", event=type(event).__name__)

    def resumed(self, at_ms: int) -> None:
        """Tell ``PrivateStreamResumed`` (at exchange time ``at_ms``) to every routed PositionActor."""
        message = PrivateStreamResumed(at=dt.datetime.fromtimestamp(at_ms / 1000, tz=dt.UTC))
        self.resumes += 1
        symbols = sorted(self._symbols())
        for symbol in symbols:
            self._route(symbol, message)
        log.info("private stream resumed", symbols=len(symbols))

    def _route(self, symbol: str, message: object) -> None:
        if symbol not in self._symbols():
            self.stats.unrouted += 1
            if symbol not in self._logged_unknown:
                self._logged_unknown.add(symbol)
                log.warning("private event for a symbol without a tree", symbol=symbol)
            return
        try:
            ref = self._refs.get(symbol)
            if ref is None:
                ref = self._resolve(symbol)
                with self._lock:
                    self._refs = {**self._refs, symbol: ref}
            ref.tell(message)
        except Exception as exc:
            # Boundary: the private session's receive loop must survive a missing or stopped PositionActor.
            if not self._is_unavailable(exc):
                log.exception("private event routing failed", symbol=symbol)
            self.stats.rejected += 1
            return
        self.stats.routed += 1


class PositionDecisionSink:
    """The MonitorActor's ``positions`` port: each decision to its symbol's PositionActor (R-05, R-06).

    ``MoveStopToEntry`` and ``ReduceOnlyCloseRequested`` are executed by the PositionActor at
    ``root/symbols/<SYM>/position``; the monitor's other events (``BreakEvenReached``,
    ``FundingExitWarning``) are information, not orders, and are only counted. Refs are resolved on first use
    through ``resolve`` (the engine's ``RefResolver``) and cached; ``tell`` raises what the ref raises (the
    monitor decides what a lost decision means).

    Runs in the monitor's actor thread.
    """

    def __init__(self, resolve: Callable[[str], MessageSink]) -> None:
        self._resolve = resolve
        self._refs: dict[str, MessageSink] = {}
        self.forwarded = 0
        self.ignored = 0

    def tell(self, message: object) -> None:
        """Forward a decision to its symbol's PositionActor; count anything else."""
        match message:
            case MoveStopToEntry(symbol=symbol) | ReduceOnlyCloseRequested(symbol=symbol):
                ref = self._refs.get(symbol)
                if ref is None:
                    ref = self._refs[symbol] = self._resolve(position_path(symbol))
                ref.tell(message)
                self.forwarded += 1
            case _:
                self.ignored += 1
