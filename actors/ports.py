"""Seams between the per-symbol actors and the rest of the system (STYLE §3: Protocols at seams).

* ``RiskGate`` — the signal pre-check, **by message**: the signal actor tells
  ``CheckSignal(signal, reply_to)`` and receives ``SignalAllowed`` / ``SignalDenied`` / ``SignalQueued``
  as a message. The RiskActor (R-02..R-04) implements it at ``root/risk`` in every mode (its ``ChildRef`` is a
  ``RiskGate``); the behaviour tests use a test double of their own (``tests/actors/actors_kit.py``).
* ``SignalPublisher`` — the gateway's non-blocking sink for ``SignalGenerated`` events.
* ``WorkQueue`` — actor → trio hand-off: the actor submits an async job and gets its result back as a message.
* ``MarketStore`` / ``SnapshotSource`` — the async operations the jobs run on the trio side (storage, REST).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from actors.messages import MessageSink

if TYPE_CHECKING:
    from exchange.bybit import BookSnapshot
    from strategy_core import ConfirmedCandle, Signal

__all__ = [
    "Job",
    "MarketStore",
    "RiskGate",
    "SignalPublisher",
    "SignalStatus",
    "SnapshotSource",
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


class SnapshotSource(Protocol):
    """Fetches an L50 book over REST (runs in the trio thread)."""

    async def fetch_snapshot(self, symbol: str) -> BookSnapshot:
        """Return a fresh L50 book snapshot of ``symbol``."""

