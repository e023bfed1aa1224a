"""The supervised actors of a symbol tree: thin ``SupervisedActor`` wrappers around the behaviours.

Each wrapper builds a fresh behaviour in ``on_start`` (state is rebuilt, never resurrected: DESIGN §4),
resolves its downstream sibling by path (a ``ChildRef``, stable across the sibling's restarts) and
delegates ``handle``.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from actors.deps import LazySink, SymbolDeps, sibling_path
from actors.feed import FeedBehaviour, FeedConfig
from actors.indicator import IndicatorBehaviour, IndicatorConfig
from actors.messages import FeedStatusReport, GetFeedStatus, GetSignalStats
from actors.signal import SignalBehaviour, SignalConfig
from exchange.bybit import BookDelta, BookSnapshot, KlineUpdate, PublicTrade, TickerUpdate
from supervision import SupervisedActor

__all__ = ["FeedActor", "IndicatorActor", "SignalActor"]


class FeedActor(SupervisedActor):
    """Supervised wrapper of ``FeedBehaviour`` (path ``root/symbols/<SYM>/feed``).

    Besides the feed messages it answers ``GetFeedStatus`` asks with a ``FeedStatusReport``.
    """

    def __init__(self, config: FeedConfig, deps: SymbolDeps) -> None:
        super().__init__()
        self._config = config
        self._deps = deps
        self.behaviour: FeedBehaviour | None = None
        self._last_event_at: dt.datetime | None = None

    def on_start(self) -> None:
        """Rebuild state: a fresh book requested over REST; nothing else survives a restart."""
        self.behaviour = FeedBehaviour(
            self._config,
            downstream=LazySink(self._deps.resolve, sibling_path(self.path, "indicator")),
            work=self._deps.work,
            store=self._deps.store,
            snapshots=self._deps.snapshots,
            self_ref=self.self_ref,
        )
        self.behaviour.start()

    def handle(self, message: Any) -> Any:
        """Delegate to the behaviour; answer status asks."""
        behaviour = self.behaviour
        assert behaviour is not None  # on_start ran: pykka delivers no message before it
        if isinstance(message, GetFeedStatus):
            return FeedStatusReport(
                symbol=self._config.symbol,
                last_event_at=self._last_event_at,
                book_synced=behaviour.book.synced,
                closes=behaviour.stats.closes,
                forwarded=behaviour.stats.forwarded,
                duplicates=behaviour.stats.duplicates,
                invalid=behaviour.stats.invalid,
            )
        if isinstance(message, KlineUpdate | BookDelta | BookSnapshot | TickerUpdate | PublicTrade):
            self._last_event_at = self.clock.now()
        behaviour.handle(message)
        return None


class IndicatorActor(SupervisedActor):
    """Supervised wrapper of ``IndicatorBehaviour`` (path ``root/symbols/<SYM>/indicator``)."""

    def __init__(self, config: IndicatorConfig, deps: SymbolDeps) -> None:
        super().__init__()
        self._config = config
        self._deps = deps
        self.behaviour: IndicatorBehaviour | None = None

    def on_start(self) -> None:
        """Rebuild state: reload the last N candles from storage (buffering live bars until they arrive)."""
        self.behaviour = IndicatorBehaviour(
            self._config,
            downstream=LazySink(self._deps.resolve, sibling_path(self.path, "signal")),
            work=self._deps.work,
            store=self._deps.store,
            self_ref=self.self_ref,
        )
        self.behaviour.start()

    def handle(self, message: Any) -> Any:
        """Delegate to the behaviour."""
        assert self.behaviour is not None  # on_start ran: pykka delivers no message before it
        self.behaviour.handle(message)
        return None


class SignalActor(SupervisedActor):
    """Supervised wrapper of ``SignalBehaviour`` (path ``root/symbols/<SYM>/signal``)."""

    def __init__(self, config: SignalConfig, deps: SymbolDeps) -> None:
        super().__init__()
        self._config = config
        self._deps = deps
        self.behaviour: SignalBehaviour | None = None

    def on_start(self) -> None:
        """Start empty (storage refuses a second signal for one bar)."""
        self.behaviour = SignalBehaviour(
            self._config,
            risk=self._deps.risk_gate(),
            publisher=self._deps.publisher,
            work=self._deps.work,
            store=self._deps.store,
            self_ref=self.self_ref,
        )
        self.behaviour.start()

    def handle(self, message: Any) -> Any:
        """Delegate to the behaviour; answer ``GetSignalStats`` with a copy of the counters."""
        behaviour = self.behaviour
        assert behaviour is not None  # on_start ran: pykka delivers no message before it
        if isinstance(message, GetSignalStats):
            return copy.deepcopy(behaviour.stats)
        behaviour.handle(message)
        return None
