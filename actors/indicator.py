"""IndicatorActor: rolling 5m and derived 15m windows → one ``IndicatorSet`` per confirmed bar (S-01, P-04).

``IndicatorBehaviour`` is a two-state machine:

* ``loading`` — on start it asks the trio side (work queue) for the last N stored 5m candles; candles that
  arrive meanwhile are buffered, so a restart loses no warm-up and no bar;
* ``ready`` — each ``CandleConfirmed`` newer than the last folded bar is folded into the streaming
  ``IndicatorState``; the resulting ``IndicatorSet`` (once warmed up) goes to the signal actor.

A bar that arrives after a hole (its start is more than one interval after the last folded bar: a tell lost
in a dead mailbox, say) sends the behaviour back to ``loading`` once for that hole, so the window is refilled
from storage, where the feed stored the missing bar.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

import structlog

from actors.messages import CandleConfirmed, HistoryLoaded, HistoryLoadFailed, IndicatorsComputed, MessageSink
from actors.ports import MarketStore, WorkQueue
from strategy_core import AVI5Config, IndicatorState

__all__ = ["IndicatorBehaviour", "IndicatorConfig", "IndicatorPhase", "IndicatorStats"]

log = structlog.get_logger(__name__)

_BAR = timedelta(minutes=5)


class IndicatorPhase(StrEnum):
    """Phases of the indicator state machine."""

    LOADING = "loading"
    READY = "ready"


@dataclass(frozen=True, slots=True, kw_only=True)
class IndicatorConfig:
    """Settings of one IndicatorActor; ``history`` must cover the AVI-5 warm-up (3 × slow EMA + margin)."""

    symbol: str
    strategy: AVI5Config
    history: int = 200
    max_buffer: int = 1_000
    max_load_attempts: int = 5


@dataclass(slots=True)
class IndicatorStats:
    """Counters of one indicator incarnation."""

    loads: int = 0
    loaded_candles: int = 0
    folded: int = 0
    emitted: int = 0
    skipped: int = 0
    buffered: int = 0
    gaps: int = 0
    load_failures: int = 0


class IndicatorBehaviour:
    """The indicator's state machine; every method runs in the owning actor's thread."""

    def __init__(
        self,
        config: IndicatorConfig,
        *,
        downstream: MessageSink,
        work: WorkQueue,
        store: MarketStore,
        self_ref: MessageSink,
    ) -> None:
        self.config = config
        self._downstream = downstream
        self._work = work
        self._store = store
        self._self = self_ref
        self.state = IndicatorState(config.symbol, config.strategy)
        self.phase = IndicatorPhase.LOADING
        self.stats = IndicatorStats()
        self._buffer: deque[CandleConfirmed] = deque(maxlen=config.max_buffer)
        self._refilled_gap_at: object = None
        self._log = log.bind(symbol=config.symbol)

    def start(self) -> None:
        """Reload the last N candles from storage (asynchronously; the reply is ``HistoryLoaded``)."""
        self._load(attempt=1)

    def _load(self, attempt: int) -> None:
        self.phase = IndicatorPhase.LOADING
        self.stats.loads += 1
        symbol, n, store = self.config.symbol, self.config.history, self._store

        async def load() -> object:
            return HistoryLoaded(symbol=symbol, candles=tuple(await store.last_candles(symbol, n)))

        self._work.submit(
            load, self._self, lambda exc: HistoryLoadFailed(symbol=symbol, error=repr(exc), attempt=attempt)
        )

    def handle(self, message: object) -> None:
        """Handle one message."""
        if isinstance(message, CandleConfirmed):
            if self.phase is IndicatorPhase.LOADING:
                self._buffer.append(message)
                self.stats.buffered += 1
            else:
                self._on_candle(message)
        elif isinstance(message, HistoryLoaded):
            self._on_history(message)
        elif isinstance(message, HistoryLoadFailed):
            self.stats.load_failures += 1
            if message.attempt >= self.config.max_load_attempts:
                # Let it crash: the supervisor restarts us with backoff (DESIGN §4).
                raise RuntimeError(f"expected history of {message.symbol} to load, got {message.error}")
            self._log.warning("history load retried", attempt=message.attempt, error=message.error)
            self._load(attempt=message.attempt + 1)
        else:
            self._log.warning("indicator ignored message", kind=type(message).__name__)

    def _on_history(self, loaded: HistoryLoaded) -> None:
        # Rebuild from scratch: the stored window is the truth, folded oldest first.
        self.state = IndicatorState(self.config.symbol, self.config.strategy)
        for candle in loaded.candles:
            self.state.fold(candle)
        self.stats.loaded_candles = len(loaded.candles)
        self.phase = IndicatorPhase.READY
        self._log.info("history loaded", candles=len(loaded.candles), buffered=len(self._buffer))
        pending = list(self._buffer)
        self._buffer.clear()
        for message in pending:
            if self.phase is IndicatorPhase.LOADING:  # a hole sent us back to loading: keep the rest
                self._buffer.append(message)
            else:
                self._on_candle(message)

    def _on_candle(self, message: CandleConfirmed) -> None:
        candle = message.candle
        last = self.state.last_candle
        if last is not None and candle.start <= last.start:
            self.stats.skipped += 1
            return
        if last is not None and candle.start > last.start + _BAR and self._refilled_gap_at != candle.start:
            # A hole: refill the window from storage once for this bar, then fold it.
            self.stats.gaps += 1
            self._refilled_gap_at = candle.start
            self._log.info("window gap refill", last=str(last.start), got=str(candle.start))
            self._buffer.append(message)
            self._load(attempt=1)
            return
        started = time.perf_counter_ns()
        indicators = self.state.fold(candle)
        self.stats.folded += 1
        if indicators is None:
            return
        elapsed = time.perf_counter_ns() - started
        self.stats.emitted += 1
        self._downstream.tell(
            IndicatorsComputed(
                candle=candle,
                indicators=indicators,
                book=message.book,
                ticker=message.ticker,
                now=message.now,
                received_ns=message.received_ns,
                compute_ns=elapsed,
            )
        )
