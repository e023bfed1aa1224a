"""Messages of the RiskActor and MonitorActor beyond the signal pre-check of ``actors.messages``.

The signal pre-check is ``actors.CheckSignal`` → ``SignalAllowed | SignalDenied | SignalQueued``. Here:

* order pre-check (execution side): ``CheckOrder`` → ``OrderAllowed | OrderDenied``; the preview of a click
  ``PreviewTrade`` → ``TradePreview`` (reserves nothing);
* exposure events (position side): ``PositionOpened``, ``PositionClosed``, ``ReleaseReservation``;
* trading-state commands: ``SetTradingState`` (operator), ``CriticalDiscrepancy`` (reconciler, C-03),
  ``ReconciliationVerdict`` (reconciler, C-01: hold new exposure until a clean pass),
  ``KillConditionTriggered`` (monitor, R-04) → ``TradingStateChanged | TradingStateUnchanged``;
* ``GetRiskSnapshot`` → ``RiskSnapshot`` (ops, monitor, bench);
* replies from the trio side (work queue): ``RiskStateLoaded``, ``RiskStateLoadFailed``, ``StorePersisted``,
  ``StoreFailed``, ``TradingStateObserved``;
* internal timers: ``RetryRebuild``, ``RetryPersist``, ``PollTradingState``, ``FlushDenials``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from actors.messages import MessageSink
from storage import ChangeSource, TradingStateRecord
from strategy_core.config import InstrumentRules, RiskLimits
from strategy_core.exposure import ChurnBook, OpenPosition
from strategy_core.models import Side
from supervision import Ask

from .state import TradingState

__all__ = [
    "CheckOrder",
    "CriticalDiscrepancy",
    "FlushDenials",
    "GetRiskSnapshot",
    "KillConditionTriggered",
    "OrderAllowed",
    "OrderDenied",
    "OrderVerdict",
    "PollTradingState",
    "PositionClosed",
    "PositionOpened",
    "PreviewTrade",
    "ReconciliationVerdict",
    "ReleaseReservation",
    "RetryPersist",
    "RetryRebuild",
    "RiskSnapshot",
    "RiskStateLoadFailed",
    "RiskStateLoaded",
    "SetTradingState",
    "StoreFailed",
    "StorePersisted",
    "TradePreview",
    "TradingStateChanged",
    "TradingStateObserved",
    "TradingStateReply",
    "TradingStateUnchanged",
    "UpdateRiskLimits",
]


# ------------------------------------------------------------------ exposure


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionOpened:
    """Event (position side → risk): a position is open; it replaces its signal's reservation."""

    position: OpenPosition
    signal_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseReservation:
    """Command: an approved signal will not be executed (dismissed, expired); stop counting it."""

    signal_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionClosed:
    """Event (position side → risk): a position is closed (R-03: may clear the anti-churn block)."""

    position_id: str
    closed_at: dt.datetime


# ------------------------------------------------------------------ orders


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAllowed:
    """Verdict: the order may be sent."""

    order_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderDenied:
    """Verdict: the order is refused; ``reason_code`` is machine-readable, ``reason`` a sentence."""

    order_id: str
    reason_code: str
    reason: str


OrderVerdict = OrderAllowed | OrderDenied


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckOrder(Ask[OrderVerdict]):
    """Command (execution → risk): pre-check an order; a reduce-only order names ``reduces_position_id``.

    The verdict (``OrderAllowed`` / ``OrderDenied``) is told to ``reply_to`` when given and is also the
    return value of an ``ask``.
    """

    order_id: str
    symbol: str
    side: Side
    risk_usd: Decimal = Decimal(0)
    risk_r: Decimal = Decimal(0)
    reduces_position_id: str | None = None
    reply_to: MessageSink | None = None
    signal_id: str | None = None  # the entry of this approved signal: its own reservation is not counted


@dataclass(frozen=True, slots=True, kw_only=True)
class TradePreview:
    """What a click on a signal would do (issue 12 item 3), computed without reserving anything.

    ``qty`` comes from 1R (``risk.risk_per_trade_usd``) and |entry − SL| rounded down to the qty step;
    ``fee_estimate_usd`` is the taker fee of entry and exit at the entry price; the ``*_after`` fields count
    this trade on top of the open positions and other reservations; ``verdict`` is the RiskActor's answer
    now, with ``reason_code`` / ``reason`` when denied.
    """

    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    notional_usd: Decimal
    fee_estimate_usd: Decimal
    risk_usd: Decimal
    risk_r: Decimal
    total_risk_usd_after: Decimal
    total_risk_r_after: Decimal
    positions_after: int
    base_usage_after: int
    base_limit: int
    verdict: Literal["allowed", "denied"]
    reason_code: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PreviewTrade(Ask[TradePreview]):
    """Ask (gateway → risk): preview a trade on ``signal_id``'s levels; reserves nothing (R-02)."""

    symbol: str
    side: Side
    entry: Decimal
    sl: Decimal
    instrument: InstrumentRules
    signal_id: str | None = None
    taker_fee_rate: Decimal = Decimal("0.00055")
    min_notional_usd: Decimal = Decimal(0)


# ------------------------------------------------------------------ trading state


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingStateChanged:
    """Reply/event: the trading state is now ``record`` (persisted asynchronously, audited)."""

    record: TradingStateRecord
    previous: TradingState


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingStateUnchanged:
    """Reply: the command did not change the state (already there, or an automatic source tried to loosen)."""

    record: TradingStateRecord
    why: str


TradingStateReply = TradingStateChanged | TradingStateUnchanged


@dataclass(frozen=True, slots=True, kw_only=True)
class SetTradingState(Ask[TradingStateReply]):
    """Command (operator): set the trading state; the only way to release the kill switch (R-04)."""

    state: TradingState
    kill_switch: bool
    reason: str
    changed_by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CriticalDiscrepancy(Ask[TradingStateReply]):
    """Event (reconciler → risk, C-03): a critical finding; engages the kill switch in ``state`` (config)."""

    symbol: str | None
    kind: str
    details: str
    at: dt.datetime
    state: TradingState = TradingState.HALTED


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconciliationVerdict:
    """Event (reconciler → risk, C-01): after every pass, whether new exposure may be approved.

    ``clean`` is False while the start-up pass has not completed cleanly or a critical finding is open; the
    RiskActor then holds new exposure (reason ``reconciling``) while reduce-only orders still pass.
    """

    clean: bool
    reason: str
    at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class KillConditionTriggered(Ask[TradingStateReply]):
    """Event (monitor → risk, R-04): a kill condition holds; engages the kill switch (HALTED)."""

    condition: str
    reason: str
    at: dt.datetime


# ------------------------------------------------------------------ snapshot


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskSnapshot:
    """The RiskActor's state: comparable before and after a restart."""

    rebuilding: bool
    record: TradingStateRecord | None
    positions: tuple[OpenPosition, ...]
    churn: tuple[tuple[str, str, dt.datetime], ...]  # (symbol, side, blocked until)
    reconciliation_hold: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class GetRiskSnapshot(Ask[RiskSnapshot]):
    """Command: return the RiskActor's current state (``RiskSnapshot``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateRiskLimits(Ask[RiskLimits]):
    """Command (O-02 hot reload): use ``limits`` for every later decision; reply with the limits in force.

    Open exposure is kept: a lowered limit only refuses new risk, it never closes anything.
    """

    limits: RiskLimits


# ------------------------------------------------------------------ replies from the trio side


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskStateLoaded:
    """Reply (trio → risk): the persisted trading state and open positions (rebuild in ``on_start``)."""

    record: TradingStateRecord
    positions: tuple[OpenPosition, ...]
    reservations: tuple[tuple[OpenPosition, dt.datetime], ...]
    churn: ChurnBook


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskStateLoadFailed:
    """Reply (trio → risk): the rebuild failed; the actor stays closed and retries with backoff."""

    error: str
    attempt: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StorePersisted:
    """Reply (trio → risk): a write (``what``) is stored."""

    what: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreFailed:
    """Reply (trio → risk): a write failed (logged; the trading state write is retried)."""

    what: str
    error: str
    source: ChangeSource | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingStateObserved:
    """Reply (trio → risk): the persisted trading state as read by a poll started at write ``generation``.

    The actor adopts it only when it differs and no write of its own happened since the poll started.
    """

    record: TradingStateRecord
    generation: int


# ------------------------------------------------------------------ internal timers


@dataclass(frozen=True, slots=True)
class RetryRebuild:
    """Internal command: submit the rebuild again (after a failure and its backoff)."""

    attempt: int


@dataclass(frozen=True, slots=True)
class PollTradingState:
    """Internal command: re-read the persisted trading state (a change by another process, e.g. the CLI)."""


@dataclass(frozen=True, slots=True)
class FlushDenials:
    """Internal command: hand the buffered denials to the work queue as one batch."""


@dataclass(frozen=True, slots=True)
class RetryPersist:
    """Internal command: write the pending trading state again (after a failed write and its backoff)."""
