"""IndicatorActor (``root/symbols/<SYM>/indicator``): 5m and 15m windows → an ``IndicatorSet`` per bar (S-01).

``IndicatorBehaviour`` is a two-state machine:

* ``loading`` — on start it asks the trio side (work queue) for the last N stored 5m candles; candles that
  arrive meanwhile are buffered, so a restart loses no warm-up and no bar;
* ``ready`` — each ``CandleConfirmed`` newer than the last folded bar is folded into the streaming
  ``IndicatorState``; the resulting ``IndicatorSet`` (once warmed up) goes to the signal actor.

A bar that arrives after a hole (its start is more than one interval after the last folded bar: a tell lost
in a dead mailbox, say) sends the behaviour back to ``loading`` once for that hole, so the window is refilled
from storage, where the feed stored the missing bar.

Bars the feed could not recover arrive as ``BarMissing`` (D-02): they are remembered, never invented, and
every ``IndicatorsComputed`` whose window (``missing_window_bars``, by default the strategy's longest
lookback) still holds one names them in ``missing_bars`` — the signal actor does not trade on such a window.
A hole found in the stored history (or one a refill could not fill) counts as missing too. Bars repaired
over REST arrive in order as ordinary closes marked ``repaired``.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import structlog

from actors.config import IndicatorConfig
from actors.deps import LazySink
from actors.host import SymbolActor, unexpected
from actors.messages import (
    BarMissing,
    CandleConfirmed,
    GetIndicatorReport,
    HistoryLoaded,
    HistoryLoadFailed,
    IndicatorReport,
    IndicatorsComputed,
    MessageSink,
)
from actors.paths import SIGNAL, sibling_path
from actors.ports import MarketStore, WorkQueue
from strategy_core import AVI5Config, IndicatorSet, IndicatorState

__all__ = ["IndicatorActor", "IndicatorBehaviour", "IndicatorMessage", "IndicatorPhase", "IndicatorStats"]

log = structlog.get_logger(__name__)

_BAR = timedelta(minutes=5)


class IndicatorPhase(StrEnum):
    """Phases of the indicator state machine."""

    LOADING = "loading"
    READY = "ready"


IndicatorMessage = CandleConfirmed | BarMissing | GetIndicatorReport | HistoryLoaded | HistoryLoadFailed
"""Every message an IndicatorActor handles: candles from the feed and the reload's replies."""


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
    missing: int = 0  # bars known missing (told by the feed or found as holes in storage)


class IndicatorBehaviour:
    """The indicator's state machine; every method runs in the owning actor's thread."""

    def __init__(
        self,
        symbol: str,
        config: IndicatorConfig,
        strategy: AVI5Config,
        *,
        downstream: MessageSink,
        work: WorkQueue,
        store: MarketStore,
        self_ref: MessageSink,
    ) -> None:
        self.symbol = symbol
        self.config = config
        self.strategy = strategy
        self._downstream = downstream
        self._work = work
        self._store = store
        self._self = self_ref
        self.state = IndicatorState(symbol, strategy)
        self.phase = IndicatorPhase.LOADING
        self.stats = IndicatorStats()
        self._buffer: deque[CandleConfirmed] = deque(maxlen=config.max_buffer)
        self._refilled_gap_at: object = None
        self._refills = 0  # reloads for the hole before ``_refilled_gap_at`` (bars may be in flight)
        self._missing: set[datetime] = set()
        self.last_set: IndicatorSet | None = None
        window = config.missing_window_bars or max(
            strategy.vwap_window, strategy.donchian_window, strategy.atr_period, 3 * strategy.ema_slow_15m
        )
        self._missing_window = _BAR * window
        self._log = log.bind(symbol=symbol)

    def start(self) -> None:
        """Reload the last N candles from storage (asynchronously; the reply is ``HistoryLoaded``)."""
        self._load(attempt=1)

    def stop(self) -> None:
        """Nothing to cancel: the buffer dies with the incarnation (the next one reloads from storage)."""

    # -- dispatch

    def handle(self, message: IndicatorMessage) -> IndicatorReport | None:
        """Handle one message; ``GetIndicatorReport`` returns the report, every other message ``None``.

        Raises:
            RuntimeError: the history failed to load ``max_load_attempts`` times (let it crash: the
                supervisor restarts the actor with backoff, DESIGN §4).
            TypeError: ``message`` is not an ``IndicatorMessage``.
        """
        match message:
            # -- commands (events from the feed)
            case CandleConfirmed():
                if self.phase is IndicatorPhase.LOADING:
                    self._buffer.append(message)
                    self.stats.buffered += 1
                else:
                    self._on_candle(message)
            case BarMissing():
                self._on_missing(message.start)
            case GetIndicatorReport():
                return IndicatorReport(
                    symbol=self.symbol, last=self.last_set, missing=tuple(sorted(self._missing))
                )
            # -- replies (work queue → indicator)
            case HistoryLoaded():
                self._on_history(message)
            case HistoryLoadFailed():
                self._on_history_failed(message)
            case _:
                raise unexpected("IndicatorBehaviour", message)
        return None

    # -- commands

    def _on_candle(self, message: CandleConfirmed) -> None:
        candle = message.candle
        last = self.state.last_candle
        if last is not None and candle.start <= last.start:
            self.stats.skipped += 1
            return
        if (
            last is not None
            and candle.start > last.start + _BAR
            and not self._explained(last.start, candle.start)  # known missing bars: fold over (signals off)
        ):
            again = self._refilled_gap_at == candle.start
            if not again or self._refills < self.config.max_load_attempts:
                # A hole: refill the window from storage (the feed stored the bars; a store still in flight
                # gets a few more reads), then fold it.
                self.stats.gaps += 1
                self._refills = self._refills + 1 if again else 1
                self._refilled_gap_at = candle.start
                self._log.info("window gap refill", last=str(last.start), got=str(candle.start))
                self._buffer.append(message)
                self._load(attempt=1)
                return
            self._note_hole(last.start, candle.start)  # the refills did not fill it: storage lacks the bars
        started = time.perf_counter_ns()
        indicators = self.state.fold(candle)
        self.stats.folded += 1
        if indicators is None:
            return
        elapsed = time.perf_counter_ns() - started
        self.stats.emitted += 1
        self.last_set = indicators
        self._downstream.tell(
            IndicatorsComputed(
                candle=candle,
                indicators=indicators,
                book=message.book,
                ticker=message.ticker,
                now=message.now,
                received_ns=message.received_ns,
                compute_ns=elapsed,
                repaired=message.repaired,
                missing_bars=self._missing_in_window(candle.start),
            )
        )

    def _on_missing(self, start: datetime) -> None:
        last = self.state.last_candle
        if last is not None and start <= last.start:
            return  # folded already (the bar reached storage after all)
        if start not in self._missing:
            self._missing.add(start)
            self.stats.missing += 1
            self._log.warning("bar missing", start=str(start))

    # -- missing bars (D-02)

    def _explained(self, last: datetime, start: datetime) -> bool:
        at = last + _BAR
        while at < start:
            if at not in self._missing:
                return False
            at += _BAR
        return True

    def _note_hole(self, last: datetime, start: datetime) -> None:
        at = last + _BAR
        while at < start:
            self._on_missing(at)
            at += _BAR

    def _missing_in_window(self, start: datetime) -> tuple[datetime, ...]:
        if not self._missing:
            return ()
        oldest = start - self._missing_window
        self._missing = {m for m in self._missing if m > oldest}
        return tuple(sorted(m for m in self._missing if m < start))

    # -- replies

    def _on_history(self, loaded: HistoryLoaded) -> None:
        # Rebuild from scratch: the stored window is the truth, folded oldest first. It stops before the
        # oldest bar waiting in the buffer: the feed may have stored that bar (and later ones) before this
        # read, and a bar folded from storage would never reach the signal actor; folded live, it does.
        self.state = IndicatorState(self.symbol, self.strategy)
        cut = min((m.candle.start for m in self._buffer), default=None)
        previous: datetime | None = None
        for candle in loaded.candles:
            if cut is not None and candle.start >= cut:
                break
            if previous is not None and candle.start > previous + _BAR:
                self._note_hole(previous, candle.start)  # a hole in storage: missing until repaired
            self._missing.discard(candle.start)
            previous = candle.start
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

    def _on_history_failed(self, message: HistoryLoadFailed) -> None:
        self.stats.load_failures += 1
        if message.attempt >= self.config.max_load_attempts:
            raise RuntimeError(f"expected history of {message.symbol} to load, got {message.error}")
        self._log.warning("history load retried", attempt=message.attempt, error=message.error)
        self._load(attempt=message.attempt + 1)

    # -- egress

    def _load(self, attempt: int) -> None:
        self.phase = IndicatorPhase.LOADING
        self.stats.loads += 1
        symbol, n, store = self.symbol, self.config.history_bars, self._store

        async def load() -> object:
            return HistoryLoaded(symbol=symbol, candles=tuple(await store.last_candles(symbol, n)))

        self._work.submit(
            load, self._self, lambda exc: HistoryLoadFailed(symbol=symbol, error=repr(exc), attempt=attempt)
        )


class IndicatorActor(SymbolActor[IndicatorMessage, IndicatorConfig]):
    """Supervised host of ``IndicatorBehaviour``; a restart reloads the last N candles (live bars wait)."""

    def build(self) -> IndicatorBehaviour:
        """Return a fresh indicator telling its sets to the sibling signal actor."""
        return IndicatorBehaviour(
            self._symbol,
            self._config,
            self._inputs.strategy,
            downstream=LazySink(self._deps.resolve, sibling_path(self.path, SIGNAL)),
            work=self._deps.work,
            store=self._deps.store,
            self_ref=self.self_ref,
        )
