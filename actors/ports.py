"""Seams between the per-symbol actors and the rest of the system (STYLE §3: Protocols at seams).

* ``RiskGate`` — the signal pre-check, **by message**: the signal actor tells
  ``CheckSignal(signal, reply_to)`` and receives ``SignalAllowed`` / ``SignalDenied`` / ``SignalQueued``
  as a message. The RiskActor (R-02..R-04) implements it at ``root/risk`` in every mode (its ``ChildRef`` is a
  ``RiskGate``); the behaviour tests use a test double of their own (``tests/actors/actors_kit.py``).
* ``SignalPublisher`` — the gateway's non-blocking sink for ``SignalGenerated`` events.
* ``WorkQueue`` — actor → trio hand-off: the actor submits an async job and gets its result back as a message.
* ``MarketStore`` / ``SnapshotSource`` / ``BarHistory`` — the async operations the jobs run on the trio side
  (storage, REST); ``StreamStore`` — the batch writes of the trio-side stream recorder (P-06).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from actors.messages import MessageSink

if TYPE_CHECKING:
    import datetime as dt

    from exchange.bybit import BookSnapshot
    from storage import FundingRow, TickerRow, TradeRow
    from strategy_core import ConfirmedCandle, Signal

__all__ = [
    "BarHistory",
    "Job",
    "MarketStore",
    "RiskGate",
    "SignalPublisher",
    "SignalStatus",
    "SnapshotSource",
    "StreamStore",
    "WorkQueue",
]


SignalStatus = Literal["new", "queued", "denied"]

# A job runs on the trio side and returns the reply message that is told to the submitting actor.
Job = Callable[[], Awaitable[object]]


@runtime_checkable
class RiskGate(Protocol):
    """Receives ``CheckSignal`` and answers ``reply_to`` with exactly one verdict message (never blocks)."""

    def tell(self, message: object) -> None:
        """Enqueue ``message`` (a ``CheckSignal``) for the risk side."""


class SignalPublisher(Protocol):
    """The gateway's sink for signals (SSE/outbox): ``publish`` runs in an actor thread and must not block."""

    def publish(self, event: object) -> None:
        """Hand ``event`` (a ``SignalGenerated``) to the publication path without waiting."""


class WorkQueue(Protocol):
    """Actor → trio hand-off (DESIGN §3): run ``job`` on the trio side, tell its result to ``reply_to``.

    When ``job`` raises, ``on_error(exc)`` builds the message told instead. ``submit`` never blocks; when the
    queue is full or closed it raises ``WorkRejectedError`` (from ``actors.errors``) so the actor can decide.
    """

    def submit(self, job: Job, reply_to: MessageSink, on_error: Callable[[Exception], object]) -> None:
        """Queue ``job`` for the trio side."""


class MarketStore(Protocol):
    """Async persistence used by the per-symbol jobs (runs in the trio thread)."""

    async def store_candle(self, candle: ConfirmedCandle) -> bool:
        """Insert the candle into ``klines_5m`` idempotently; return True when it was new."""

    async def last_candles(self, symbol: str, n: int) -> Sequence[ConfirmedCandle]:
        """Return up to ``n`` most recent stored 5m candles of ``symbol``, oldest first."""

    async def store_signal(self, signal: Signal, status: SignalStatus, reason: str | None) -> bool:
        """Insert the signal once per (symbol, bar_start, strategy); return True when it was new."""

    async def log_book(self, snapshot: BookSnapshot) -> None:
        """Append an L50 snapshot to ``orderbook_l50_log`` (research mode, D-04)."""

    async def latest_start(self, symbol: str) -> dt.datetime | None:
        """Return the open time of the newest stored 5m bar of ``symbol`` (None when none is stored)."""

    async def store_repaired(
        self,
        symbol: str,
        repaired: Sequence[ConfirmedCandle],
        missing: Sequence[dt.datetime],
        *,
        attempts: int,
        reason: str | None,
    ) -> int:
        """Store bars fetched after a hole (``rest_backfill``) and record each outcome; return new rows."""


class SnapshotSource(Protocol):
    """Fetches an L50 book over REST (runs in the trio thread)."""

    async def fetch_snapshot(self, symbol: str) -> BookSnapshot:
        """Return a fresh L50 book snapshot of ``symbol``."""



class BarHistory(Protocol):
    """Fetches closed 5m bars over REST (runs in the trio thread; the client is rate-limited, E-08)."""

    async def fetch_bars(self, symbol: str, first_ms: int, last_ms: int) -> Sequence[ConfirmedCandle]:
        """Return the closed bars of ``symbol`` starting in ``[first_ms, last_ms]``, oldest first (D-01)."""


class StreamStore(Protocol):
    """Batch inserts of the public streams, duplicates dropped by id/ts (``storage.StreamRepository``)."""

    async def insert_trades(self, rows: Sequence[TradeRow]) -> int:
        """Insert the prints not stored yet; return how many were new."""

    async def insert_tickers(self, rows: Sequence[TickerRow]) -> int:
        """Insert the ticker states not stored yet; return how many were new."""

    async def insert_fundings(self, rows: Sequence[FundingRow]) -> int:
        """Insert the funding settlements not stored yet; return how many were new."""
