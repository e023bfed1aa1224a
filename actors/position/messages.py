"""Messages of the PositionActor (``root/symbols/<SYM>/position``, E-02..E-07, R-05, R-06).

* commands with a deferred reply (the gateway creates a ``supervision.ReplyFuture``, tells the command and
  awaits ``TrioBridge.wait(future, timeout=...)``; the actor calls ``reply.set(outcome)`` when done):
  ``PlaceOrderFromSignal`` → ``PlacementOutcome``, ``ClosePosition`` → ``CloseOutcome``;
* asks: ``GetPositions`` → ``tuple[PositionView, ...]``;
* events in: the private stream's ``exchange.bybit`` types (``OrderUpdate``, ``ExecutionReport``,
  ``PositionUpdate``, ``WalletUpdate``), ``PrivateStreamResumed`` (after a private reconnect: re-validate with
  a REST snapshot), the monitor's decisions ``MoveStopToEntry`` and ``ReduceOnlyCloseRequested``, the
  RiskActor's ``OrderAllowed`` / ``OrderDenied``;
* replies from the trio side (work queue): ``StepDone`` (one job of a flow: a typed result or an error);
* timers: ``FillWaitElapsed``, ``PollFills``, ``RetryRebuild``, ``RiskCheckDue``;
* out: ``PositionChanged`` (to the publisher port: SSE channel ``positions``), ``PositionOpened`` /
  ``PositionClosed`` (to the RiskActor), ``PositionMarked`` (to the monitor).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from strategy_core.execution import PositionStatus
from strategy_core.models import Side
from supervision import Ask, ReplyFuture

__all__ = [
    "CloseOutcome",
    "ClosePosition",
    "CloseReason",
    "CloseStatus",
    "FillWaitElapsed",
    "GetPositions",
    "PlaceOrderFromSignal",
    "PlacementOutcome",
    "PlacementStatus",
    "PollFills",
    "PositionChanged",
    "PositionView",
    "PrivateStreamResumed",
    "RetryRebuild",
    "RiskCheckDue",
    "StepDone",
]

PlacementStatus = Literal["filled", "partial", "underfill", "expired", "rejected"]
"""The entry order's outcome as the trader sees it (E-02)."""

CloseReason = Literal["manual", "time_exit", "funding"]
"""Why a person (or the funding rule) closes a position (E-06)."""

CloseStatus = Literal["closed", "closing", "unknown_position", "already_closed", "error"]
"""``unknown_position`` is the gateway's 404, ``already_closed`` its 409."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionView:
    """A position as the gateway and the SSE channel show it (frozen snapshot; money in ``Decimal``)."""

    id: str
    signal_id: str | None
    symbol: str
    side: Side
    status: PositionStatus
    requested_size: Decimal
    executed_size: Decimal
    fill_ratio: Decimal
    avg_entry_price: Decimal | None
    avg_exit_price: Decimal | None
    sl: Decimal | None
    tp1: Decimal | None
    tp2: Decimal | None
    tp3: Decimal | None
    pnl_usd: Decimal | None
    fees_usd: Decimal
    funding_usd: Decimal
    be_moved: bool
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    close_reason: str | None
    message: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PlacementOutcome:
    """The answer to a click (E-02): the entry order's outcome and the position it opened, if any.

     ``reason_code`` is set for rejections and denials (``unknown_signal``, ``signal_not_new``,
     ``signal_expired``, ``instrument_unavailable``, ``risk_denied:<code>``, ``qty_below_minimum``,
     ``insufficient_balance``, ``price_out_of_range``, ``rate_limited``, ``exchange_error`` …); ``message`` is
    a
     plain sentence for the trader.
    """

    position_id: str | None
    order_status: PlacementStatus
    fill_ratio: Decimal
    avg_price: Decimal | None
    position: PositionView | None
    message: str
    reason_code: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseOutcome:
    """The answer to a close (E-06); PnL is the exchange's closed-PnL figure, fees and funding apart."""

    position_id: str
    status: CloseStatus
    position: PositionView | None
    pnl_usd: Decimal | None
    fees_usd: Decimal | None
    funding_usd: Decimal | None
    message: str
    reason_code: str | None = None


# ------------------------------------------------------------------ commands


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaceOrderFromSignal:
    """Command (gateway → position): place the signal's entry; the outcome goes to ``reply``.

    A second command for the same signal answers with the first position and never sends a second order.
    """

    signal_id: str
    requested_by: str
    reply: ReplyFuture[PlacementOutcome]


@dataclass(frozen=True, slots=True, kw_only=True)
class ClosePosition:
    """Command (gateway or funding rule → position): close the position reduce-only; outcome to ``reply``."""

    position_id: str
    reason: CloseReason
    requested_by: str
    reply: ReplyFuture[CloseOutcome]


@dataclass(frozen=True, slots=True, kw_only=True)
class GetPositions(Ask[tuple[PositionView, ...]]):
    """Ask: the positions this actor knows (open ones and those closed by this incarnation)."""


# ------------------------------------------------------------------ events


@dataclass(frozen=True, slots=True, kw_only=True)
class PrivateStreamResumed:
    """Event (engine → every PositionActor): the private stream reconnected at ``at``; re-validate by REST."""

    at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionChanged:
    """Event (position → publisher, SSE channel ``positions``): a position changed."""

    position: PositionView
    at: dt.datetime


# ------------------------------------------------------------------ replies and timers


@dataclass(frozen=True, slots=True, kw_only=True)
class StepDone:
    """Reply (trio → position): job ``step`` of flow ``flow`` finished with ``result`` or ``error``."""

    flow: str
    step: str
    result: object = None
    error: Exception | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FillWaitElapsed:
    """Timer: ``fill_wait_seconds`` passed since the entry order ``order_link_id`` was acknowledged."""

    order_link_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PollFills:
    """Timer: poll the exchange for the fills of ``order_link_id`` (fallback of the private stream)."""

    order_link_id: str


@dataclass(frozen=True, slots=True)
class RiskCheckDue:
    """Timer: refuse the clicks whose risk check is older than ``risk_timeout_s`` (fail closed)."""


@dataclass(frozen=True, slots=True)
class RetryRebuild:
    """Timer: submit the rebuild again after a failure."""

    attempt: int
