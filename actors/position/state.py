"""The PositionActor's in-memory records: a click being validated, a tracked position and its flows, and
the conversions between stored rows, exchange reports and views (pure, no I/O)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from actors.monitor.messages import MoveStopToEntry, ReduceOnlyCloseRequested
from exchange.bybit import ExecutionReport, OrderAck
from storage import ExecutionRecord, PositionRecord, StoredSignal
from strategy_core.config import InstrumentRules
from strategy_core.execution import EntrySizing, ExecFill, Ledger, OrderPurpose, OrderState, PositionStatus
from strategy_core.models import Side
from supervision import ReplyFuture

from .messages import (
    CloseOutcome,
    ClosePosition,
    PlacementOutcome,
    PlacementStatus,
    PlaceOrderFromSignal,
    PositionView,
)

__all__ = [
    "CLOSE_PURPOSES",
    "ENTRY_PURPOSES",
    "LIVE",
    "BufferedCommand",
    "IntentSent",
    "PendingClick",
    "PositionFlow",
    "epoch_ms",
    "fill_of",
    "from_epoch_ms",
    "record_of",
    "view_of",
]

BufferedCommand = PlaceOrderFromSignal | ClosePosition | MoveStopToEntry | ReduceOnlyCloseRequested
"""The commands a PositionActor holds while it rebuilds and replays once it is ready."""

LIVE = (PositionStatus.OPEN, PositionStatus.PARTIAL_ACCEPTED)


ENTRY_PURPOSES = (OrderPurpose.ENTRY, OrderPurpose.TOPUP)


CLOSE_PURPOSES = (OrderPurpose.EXIT, OrderPurpose.MANUAL_CLOSE, OrderPurpose.FUNDING_EXIT)


def epoch_ms(at: dt.datetime) -> int:
    return int(at.timestamp() * 1000)


def from_epoch_ms(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


@dataclass
class PendingClick:
    """A click being validated: the signal, its sizing and everyone waiting for the answer."""

    signal: StoredSignal
    sizing: EntrySizing
    rules: InstrumentRules
    link: str
    requested_by: str
    replies: list[ReplyFuture[PlacementOutcome]]
    asked_at: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class IntentSent:
    """A click's job result: the stored position and, when this click inserted it, the entry's send."""

    stored: PositionRecord
    sent: bool
    ack: OrderAck | None = None
    error: Exception | None = None


@dataclass
class PositionFlow:
    """One position of this symbol: its stored record, its ledger and its flows."""

    record: PositionRecord
    ledger: Ledger
    rules: InstrumentRules | None
    signal_entry: Decimal | None = None
    modelled_bps: Decimal | None = None  # the slippage model for the signal's market context (E-05)
    replies: list[ReplyFuture[PlacementOutcome]] = field(default_factory=list)
    close_replies: list[ReplyFuture[CloseOutcome]] = field(default_factory=list)
    purposes: dict[str, OrderPurpose] = field(default_factory=dict)
    attempts: dict[OrderPurpose, int] = field(default_factory=dict)
    entry_settled: bool = False
    in_flight: set[str] = field(default_factory=set)
    protecting: bool = False
    closing_reason: str | None = None
    close_in_flight: bool = False
    finalizing: bool = False
    answer: PlacementOutcome | None = None
    placement: PlacementStatus | None = None  # how the entry settled (E-03), once it has

    @property
    def side(self) -> Side:
        return Side(self.record.side)

    @property
    def status(self) -> PositionStatus:
        return PositionStatus(self.record.status)

    def links(self, *purposes: OrderPurpose) -> list[str]:
        return [link for link, p in self.purposes.items() if p in purposes]

    def orders(self, *purposes: OrderPurpose) -> list[OrderState]:
        return [self.ledger.orders[link] for link in self.links(*purposes) if link in self.ledger.orders]


def fill_of(record: ExecutionRecord) -> ExecFill:
    return ExecFill(
        exec_id=record.exec_id,
        order_link_id=record.order_link_id,
        side="Buy" if record.side == "Buy" else "Sell",
        price=record.price,
        qty=record.qty,
        fee=record.fee,
        exec_type=record.exec_type,
    )


def record_of(report: ExecutionReport, position_id: str) -> ExecutionRecord:
    return ExecutionRecord(
        exec_id=report.exec_id,
        order_link_id=report.order_link_id,
        exchange_order_id=report.order_id or None,
        position_id=position_id,
        symbol=report.symbol,
        side=report.side,
        price=report.exec_price,
        qty=report.exec_qty,
        fee=report.exec_fee or Decimal(0),
        exec_type=report.exec_type,
        is_maker=report.is_maker,
        exec_time=from_epoch_ms(report.exec_time),
    )


def view_of(r: PositionRecord) -> PositionView:
    return PositionView(
        id=r.id,
        signal_id=r.signal_id,
        symbol=r.symbol,
        side=Side(r.side),
        status=PositionStatus(r.status),
        requested_size=r.requested_size_base,
        executed_size=r.executed_size_base,
        fill_ratio=r.fill_ratio,
        avg_entry_price=r.avg_entry_price,
        avg_exit_price=r.avg_exit_price,
        sl=r.sl,
        tp1=r.tp1,
        tp2=r.tp2,
        tp3=r.tp3,
        pnl_usd=r.pnl_usd,
        fees_usd=r.fees_usd,
        funding_usd=r.funding_usd,
        be_moved=r.be_moved,
        opened_at=r.opened_at,
        closed_at=r.closed_at,
        close_reason=r.close_reason,
        message=r.error_message,
    )
