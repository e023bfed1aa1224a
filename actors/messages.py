"""Messages between the per-symbol actors, the risk gate and the trio side (DESIGN §3).

Every message is a frozen, slotted dataclass named as a command (imperative: ``CheckSignal``) or an event
(past tense: ``CandleConfirmed``). No dicts travel between actors. Money and prices are ``Decimal``.

Flow for one symbol (paths ``root/symbols/<SYM>/feed|indicator|signal``)::

    exchange sink ──KlineUpdate/BookSnapshot/BookDelta/TickerUpdate──▶ feed
    feed ──CandleConfirmed──▶ indicator ──IndicatorsComputed──▶ signal
    feed ──(work queue) store candle──▶ trio ──CandleStored / CandleStoreFailed──▶ feed
    indicator ──(work queue) load last N──▶ trio ──HistoryLoaded / HistoryLoadFailed──▶ indicator
    signal ──CheckSignal──▶ risk ──SignalAllowed / SignalDenied / SignalQueued──▶ signal
    signal ──(work queue) store signal──▶ trio ──SignalStored / SignalStoreFailed──▶ signal
    signal ──SignalGenerated──▶ SignalPublisher (gateway)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from strategy_core import ConfirmedCandle, IndicatorSet, Signal

__all__ = [
    "BookLevel",
    "BookView",
    "CandleConfirmed",
    "CandleStoreFailed",
    "CandleStored",
    "CheckSignal",
    "HistoryLoadFailed",
    "HistoryLoaded",
    "IndicatorsComputed",
    "MessageSink",
    "RiskVerdict",
    "SignalAllowed",
    "SignalDenied",
    "SignalGenerated",
    "SignalQueued",
    "SignalStoreFailed",
    "SignalStored",
    "SnapshotFailed",
    "SnapshotRequested",
    "TickerView",
]


class MessageSink(Protocol):
    """Anything a reply can be told to: a supervision ``ChildRef`` satisfies it (``tell`` never blocks)."""

    def tell(self, message: object) -> None:
        """Deliver ``message`` without waiting for it to be handled."""


# ---------------------------------------------------------------- market views (values, not actors)


@dataclass(frozen=True, slots=True, kw_only=True)
class BookLevel:
    """One price level of the order book."""

    price: Decimal
    qty: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class BookView:
    """An immutable copy of the top levels of a symbol's L50 book (best first on both sides)."""

    symbol: str
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    update_id: int
    ts_ms: int

    @property
    def best_bid(self) -> BookLevel | None:
        """Return the best bid, or ``None`` when the bid side is empty."""
        return self.bids[0] if self.bids else None

    @property
    def best_ask(self) -> BookLevel | None:
        """Return the best ask, or ``None`` when the ask side is empty."""
        return self.asks[0] if self.asks else None


@dataclass(frozen=True, slots=True, kw_only=True)
class TickerView:
    """The latest ticker fields AVI-5 needs (funding time for ``time_to_funding``, S-02)."""

    symbol: str
    last_price: Decimal | None
    mark_price: Decimal | None
    next_funding_time_ms: int | None
    ts_ms: int


# --------------------------------------------------------------------------- feed


@dataclass(frozen=True, slots=True, kw_only=True)
class CandleConfirmed:
    """Event: a validated, confirmed 5m candle closed (D-01); sent feed → indicator.

    ``received_ns`` is the ``time.perf_counter_ns()`` at which the feed received the closing update; it is
    carried along so the signal actor can measure close → signal latency (S-04).
    """

    candle: ConfirmedCandle
    book: BookView | None
    ticker: TickerView | None
    received_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CandleStored:
    """Reply (trio → feed): the candle is in ``klines_5m``; ``inserted`` is False when it already was."""

    symbol: str
    start_ms: int
    inserted: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class CandleStoreFailed:
    """Reply (trio → feed): storing the candle failed; the feed retries it (bounded) and logs."""

    candle: ConfirmedCandle
    error: str
    attempt: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotRequested:
    """Command (feed → exchange side): fetch a fresh L50 book snapshot over REST for ``symbol``."""

    symbol: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotFailed:
    """Reply (trio → feed): the REST snapshot could not be fetched."""

    symbol: str
    error: str


# --------------------------------------------------------------------------- indicator


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryLoaded:
    """Reply (trio → indicator): the last N stored 5m candles, oldest first."""

    symbol: str
    candles: tuple[ConfirmedCandle, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryLoadFailed:
    """Reply (trio → indicator): the reload failed; the indicator retries with backoff."""

    symbol: str
    error: str
    attempt: int


@dataclass(frozen=True, slots=True, kw_only=True)
class IndicatorsComputed:
    """Event (indicator → signal): indicators for one 5m bar plus the windows AVI-5 reads (S-02)."""

    candle: ConfirmedCandle
    indicators: IndicatorSet
    candles_5m: tuple[ConfirmedCandle, ...]
    candles_15m: tuple[ConfirmedCandle, ...]
    book: BookView | None
    ticker: TickerView | None
    received_ns: int
    compute_ns: int


# ---------------------------------------------------------------- risk pre-check (actors.ports.RiskGate)


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckSignal:
    """Command (signal → risk): pre-check ``signal``; the verdict is told to ``reply_to`` (R-02, R-03, R-04).

    The risk side must answer every ``CheckSignal`` with exactly one of ``SignalAllowed``, ``SignalDenied`` or
    ``SignalQueued`` carrying the same ``signal.id``. It must never block the sender.
    """

    signal: Signal
    reply_to: MessageSink


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalAllowed:
    """Verdict: the signal may be stored and published as ``new``."""

    signal_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalDenied:
    """Verdict: the signal is refused (kill switch, limits…): stored with the reason, never published."""

    signal_id: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalQueued:
    """Verdict: anti-churn (R-03): the signal is stored and published with status ``queued``."""

    signal_id: str
    queued_until: dt.datetime


RiskVerdict = SignalAllowed | SignalDenied | SignalQueued


# --------------------------------------------------------------------------- signal storage and publication


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalStored:
    """Reply (trio → signal): ``inserted`` is False when a signal for this (symbol, bar, strategy) existed."""

    signal_id: str
    inserted: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalStoreFailed:
    """Reply (trio → signal): storing the signal failed."""

    signal_id: str
    error: str
    attempt: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalGenerated:
    """Event (signal → ``SignalPublisher``): a stored signal for the gateway/UI (S-04).

    ``status`` is ``new`` or ``queued`` (then ``queued_until`` is set, R-03). Denied signals are not
    published.
    """

    signal: Signal
    status: Literal["new", "queued"]
    queued_until: dt.datetime | None
    bar_start_ms: int
    close_to_signal_ms: float
