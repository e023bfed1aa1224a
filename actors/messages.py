"""Messages between the per-symbol actors, the risk gate and the trio side (DESIGN §3).

Every message is a frozen, slotted dataclass named as a command (imperative: ``CheckSignal``) or an event
(past tense: ``CandleConfirmed``). No dicts travel between actors. Money and prices are ``Decimal``.

Flow for one symbol (paths ``root/symbols/<SYM>/feed|indicator|signal``)::

    exchange sink ──KlineUpdate/BookSnapshot/BookDelta/TickerUpdate──▶ feed
    feed ──CandleConfirmed──▶ indicator ──IndicatorsComputed──▶ signal
    feed ──(work queue) store candle──▶ trio ──CandleStored / CandleStoreFailed──▶ feed
    feed ──(work queue) newest stored bar──▶ trio ──FeedSeeded──▶ feed
    feed ──(work queue) REST bars of a hole──▶ trio ──BarsFetched / BarsFetchFailed──▶ feed
    feed ──(work queue) store repaired bars + gap outcomes──▶ trio ──RepairStored / RepairStoreFailed──▶ feed
    feed ──BarMissing (a bar that could not be recovered)──▶ indicator
    indicator ──(work queue) load last N──▶ trio ──HistoryLoaded / HistoryLoadFailed──▶ indicator
    signal ──CheckSignal──▶ risk ──SignalAllowed / SignalDenied / SignalQueued──▶ signal
    signal ──(work queue) store signal──▶ trio ──SignalStored / SignalStoreFailed──▶ signal
    signal ──SignalGenerated──▶ SignalPublisher (gateway)

Private stream (``actors.routing.PrivateRouter``, paths ``root/symbols/<SYM>/position``)::

    private session ──OrderUpdate/ExecutionReport/PositionUpdate/WalletUpdate──▶ position
    private session (reconnected, re-subscribed) ──PrivateStreamResumed──▶ every routed position
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, Protocol

from exchange.bybit import BookSnapshot
from strategy_core import (
    BookTop,
    CalibrationStats,
    ConfirmedCandle,
    IndicatorSet,
    Signal,
    ThetaMap,
    TickerState,
)
from supervision import Ask

__all__ = [
    "BarMissing",
    "BarsFetchFailed",
    "BarsFetched",
    "BookLogged",
    "CandleConfirmed",
    "CandleStoreFailed",
    "CandleStored",
    "CheckSignal",
    "FeedSeeded",
    "FeedStatusReport",
    "GetFeedStatus",
    "GetIndicatorReport",
    "GetSignalStats",
    "HistoryLoadFailed",
    "HistoryLoaded",
    "IndicatorReport",
    "IndicatorsComputed",
    "MessageSink",
    "PrivateStreamResumed",
    "RepairStoreFailed",
    "RepairStored",
    "RiskVerdict",
    "SignalAllowed",
    "SignalDenied",
    "SignalGenerated",
    "SignalQueued",
    "SignalStats",
    "SignalStoreFailed",
    "SignalStored",
    "SnapshotFailed",
    "SnapshotFetched",
    "SnapshotRequested",
    "ThetaMapChanged",
]


class MessageSink(Protocol):
    """Anything a reply can be told to: a supervision ``ChildRef`` satisfies it (``tell`` never blocks)."""

    def tell(self, message: object) -> None:
        """Deliver ``message`` without waiting for it to be handled."""


# --------------------------------------------------------------------------- feed


@dataclass(frozen=True, slots=True, kw_only=True)
class CandleConfirmed:
    """Event: a validated, confirmed 5m candle closed (D-01); sent feed → indicator.

    ``received_ns`` is the ``time.perf_counter_ns()`` at which the closing update was parsed off the WebSocket
    (``KlineUpdate.received_ns``; the feed's own receipt when unstamped); it is
    carried along so the signal actor can measure close → signal latency (S-04). ``now`` is the exchange's
    timestamp of that update: the strategy's notion of "now" (simulated time in simulation mode).
    ``repaired`` is True for a bar fetched over REST after a hole (D-02): folded into the indicators in order,
    but too late to trade on.
    """

    candle: ConfirmedCandle
    book: BookTop | None
    ticker: TickerState | None
    now: dt.datetime
    received_ns: int
    repaired: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class BarMissing:
    """Event (feed → indicator): the bar starting at ``start`` could not be recovered (never invented)."""

    symbol: str
    start: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedSeeded:
    """Reply (trio → feed): the start (ms) of the newest stored bar (None: none, or unread)."""

    symbol: str
    start_ms: int | None
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BarsFetched:
    """Reply (trio → feed): the closed bars REST returned for the hole ``starts`` (ms), oldest first."""

    symbol: str
    starts: tuple[int, ...]
    candles: tuple[ConfirmedCandle, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class BarsFetchFailed:
    """Reply (trio → feed): fetching the bars of the hole ``starts`` (ms) over REST failed."""

    symbol: str
    starts: tuple[int, ...]
    error: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RepairStored:
    """Reply (trio → feed): repaired bars stored (``inserted`` new rows) and every hole's outcome recorded."""

    symbol: str
    repaired: int
    missing: int
    inserted: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RepairStoreFailed:
    """Reply (trio → feed): storing repaired bars or recording the holes failed (logged; bars are folded)."""

    symbol: str
    error: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedStatusReport:
    """Reply to ``GetFeedStatus``: liveness of a symbol's market data (engine clock), with the latest mark
    price and next funding time from the ticker (market time; ``None`` until the ticker has told them)."""

    symbol: str
    last_event_at: dt.datetime | None
    book_synced: bool
    closes: int
    forwarded: int
    duplicates: int
    invalid: int
    mark_price: Decimal | None = None
    next_funding_time: dt.datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GetFeedStatus(Ask[FeedStatusReport]):
    """Query (ask) to a FeedActor; the reply is a ``FeedStatusReport``."""


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
class SnapshotFetched:
    """Reply (trio → feed): a fresh L50 snapshot fetched over REST."""

    snapshot: BookSnapshot


@dataclass(frozen=True, slots=True, kw_only=True)
class BookLogged:
    """Reply (trio → feed): an L50 snapshot was written to ``orderbook_l50_log`` (research mode, D-04)."""

    symbol: str
    update_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotFailed:
    """Reply (trio → feed): the REST snapshot could not be fetched."""

    symbol: str
    error: str


# --------------------------------------------------------------------------- indicator


@dataclass(frozen=True, slots=True, kw_only=True)
class IndicatorReport:
    """Reply to ``GetIndicatorReport``: the newest ``IndicatorSet`` emitted and the bars known missing."""

    symbol: str
    last: IndicatorSet | None
    missing: tuple[dt.datetime, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class GetIndicatorReport(Ask[IndicatorReport]):
    """Query (ask) to an IndicatorActor; the reply is an ``IndicatorReport`` (ops, tests)."""


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
    """Event (indicator → signal): ``IndicatorSet`` of one confirmed 5m bar plus market context (S-02)."""

    candle: ConfirmedCandle
    indicators: IndicatorSet
    book: BookTop | None
    ticker: TickerState | None
    now: dt.datetime
    received_ns: int
    compute_ns: int
    repaired: bool = False  # the bar came over REST after a hole (D-02): no signal on it
    missing_bars: tuple[dt.datetime, ...] = ()  # unrecoverable bars inside the indicator window


# ---------------------------------------------------------------- risk pre-check (actors.ports.RiskGate)


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalAllowed:
    """Verdict: the signal may be stored and published as ``new``."""

    signal_id: uuid.UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalDenied:
    """Verdict: the signal is refused (kill switch, limits…): stored with the reason, never published."""

    signal_id: uuid.UUID
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalQueued:
    """Verdict: anti-churn (R-03): the signal is stored and published with status ``queued``."""

    signal_id: uuid.UUID
    queued_until: dt.datetime


RiskVerdict = SignalAllowed | SignalDenied | SignalQueued


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckSignal(Ask[RiskVerdict]):
    """Command (signal → risk): pre-check ``signal``; the verdict is told to ``reply_to`` (R-02, R-03, R-04).

    The risk side must answer every ``CheckSignal`` with exactly one of ``SignalAllowed``, ``SignalDenied`` or
    ``SignalQueued`` carrying the same ``signal.id``. It must never block the sender.
    """

    signal: Signal
    reply_to: MessageSink


# --------------------------------------------------------------------------- signal storage and publication


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalStored:
    """Reply (trio → signal): ``inserted`` is False when a signal for this (symbol, bar, strategy) existed."""

    signal_id: uuid.UUID
    inserted: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalStoreFailed:
    """Reply (trio → signal): storing the signal failed."""

    signal_id: uuid.UUID
    error: str
    attempt: int


@dataclass(slots=True)
class SignalStats:
    """Counters of one signal incarnation; latencies in nanoseconds (bench/pipeline.py reads them)."""

    evaluated: int = 0
    skipped: int = 0
    incomplete_context: int = 0
    generated: int = 0
    allowed: int = 0
    queued: int = 0
    denied: int = 0
    stored: int = 0
    duplicates: int = 0
    published: int = 0
    store_failures: int = 0
    repaired_bars: int = 0  # bars fetched over REST after a hole: folded, never traded on (D-02)
    window_holes: int = 0  # bars not evaluated: a missing bar inside the indicator window (D-02)
    compute_ns: list[int] = field(default_factory=list)
    close_to_signal_ns: list[int] = field(default_factory=list)
    # close → signal in three legs (published signals only): received → this actor, the risk verdict's round
    # trip, the store (work queue + INSERT + reply)
    to_signal_ns: list[int] = field(default_factory=list)
    risk_ns: list[int] = field(default_factory=list)
    store_ns: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class GetSignalStats(Ask[SignalStats]):
    """Query (ask) to a SignalActor; the reply is a copy of its ``SignalStats`` (tests, bench)."""


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


@dataclass(frozen=True, slots=True, kw_only=True)
class ThetaMapChanged:
    """Event (engine → SignalActor): the θ map and p_win statistics in force for this symbol (S-05).

    Told when a calibration run succeeds and re-told every poll (so a restarted actor catches up); the
    behaviour switches when ``version`` differs from the one it holds, without a restart.
    """

    version: str
    theta_map: ThetaMap
    calibration: CalibrationStats | None


# --------------------------------------------------------------------------- private stream (position side)


@dataclass(frozen=True, slots=True, kw_only=True)
class PrivateStreamResumed:
    """Event (engine → every routed PositionActor): the private session reconnected and re-subscribed.

    Private events may have been missed while it was down: each PositionActor re-validates its orders and
    position against a REST snapshot. ``at`` is the exchange time (UTC) of the resume.
    """

    at: dt.datetime
