"""The execution domain (E-02..E-05), pure: order and position state tables, the fill fold, sizing, slippage.

No I/O and no clock reads. The PositionActor (``actors.position``) drives these functions; the tests prove
them with hypothesis.

* ``OrderStatus`` / ``advance_order`` — an order's status never regresses (``_ORDER_ALLOWED``): Untriggered →
  Triggered → New → PartiallyFilled → Filled | Cancelled | Rejected; a stale or duplicated update is ignored.
* ``PositionStatus`` / ``advance_position`` — opening → open | partial_accepted | failed_underfill → closing →
  closed | error (``_POSITION_ALLOWED``).
* ``Ledger`` — a position's orders and fills as a *fold*: executions are deduplicated by exec id and orders
  keep their furthest status and largest cumulative fill, so any interleaving or duplication of the same
  updates gives the same ledger as in-order delivery.
* ``size_entry`` — quantity from 1R and |entry − SL| rounded down to the qty step, the limit price on the
  tick,
  min qty and min notional enforced.
* ``classify_fill`` (E-03), ``split_take_profits`` (protective sizes from the fill), ``slippage_bps`` and
  ``modelled_slippage_pct`` (E-05), ``order_link_id`` / ``position_id_for`` (idempotent placement, E-02).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from strategy_core.config import InstrumentRules
from strategy_core.models import Side
from strategy_core.numeric import DECIMAL_CONTEXT, round_down_to_step, round_up_to_step

__all__ = [
    "EXEC_TYPE_FUNDING",
    "EntrySizing",
    "ExecFill",
    "FillClass",
    "Ledger",
    "OrderPurpose",
    "OrderState",
    "OrderStatus",
    "PositionStatus",
    "SizingRefusal",
    "advance_order",
    "advance_position",
    "classify_fill",
    "exchange_side",
    "modelled_slippage_pct",
    "order_link_id",
    "order_status_from_exchange",
    "position_id_for",
    "position_may_move",
    "size_entry",
    "slippage_bps",
    "split_take_profits",
]

EXEC_TYPE_FUNDING = "Funding"
_BPS = Decimal(10_000)


# ------------------------------------------------------------------ orders


class OrderStatus(StrEnum):
    """An order's status as stored (``orders.status``); the exchange's names map with ``_FROM_EXCHANGE``."""

    NEW = "new"  # intent committed, not yet acknowledged, or live on the book
    UNTRIGGERED = "untriggered"  # a conditional order waiting for its trigger price
    TRIGGERED = "triggered"
    SUBMITTED = "submitted"  # acknowledged by the exchange
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def terminal(self) -> bool:
        """Return True for a status nothing follows."""
        return self in _TERMINAL_ORDER


_TERMINAL_ORDER = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)

_ORDER_ALLOWED: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.NEW: frozenset(OrderStatus) - {OrderStatus.NEW},
    OrderStatus.UNTRIGGERED: frozenset(OrderStatus)
    - {OrderStatus.NEW, OrderStatus.SUBMITTED, OrderStatus.UNTRIGGERED},
    OrderStatus.SUBMITTED: frozenset(
        {OrderStatus.UNTRIGGERED, OrderStatus.TRIGGERED, OrderStatus.PARTIALLY_FILLED} | _TERMINAL_ORDER
    ),
    OrderStatus.TRIGGERED: frozenset({OrderStatus.PARTIALLY_FILLED} | _TERMINAL_ORDER),
    OrderStatus.PARTIALLY_FILLED: _TERMINAL_ORDER,
    OrderStatus.FILLED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.REJECTED: frozenset(),
    OrderStatus.EXPIRED: frozenset(),
}
"""Allowed order transitions; anything else is a stale or duplicated update and is ignored."""

_FROM_EXCHANGE: Mapping[str, OrderStatus] = {
    "Created": OrderStatus.SUBMITTED,
    "New": OrderStatus.SUBMITTED,
    "Untriggered": OrderStatus.UNTRIGGERED,
    "Triggered": OrderStatus.TRIGGERED,
    "PartiallyFilled": OrderStatus.PARTIALLY_FILLED,
    "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELLED,
    "PartiallyFilledCanceled": OrderStatus.CANCELLED,
    "Deactivated": OrderStatus.CANCELLED,
    "Rejected": OrderStatus.REJECTED,
}


def order_status_from_exchange(status: str) -> OrderStatus:
    """Return the stored status of the exchange's ``orderStatus`` (an unknown name raises ``ValueError``)."""
    try:
        return _FROM_EXCHANGE[status]
    except KeyError:
        raise ValueError(f"expected a Bybit order status, got {status!r}") from None


def advance_order(current: OrderStatus, proposed: OrderStatus) -> OrderStatus:
    """Return ``proposed`` when the table allows the move, else ``current`` (no state regresses)."""
    return proposed if proposed in _ORDER_ALLOWED[current] else current


class OrderPurpose(StrEnum):
    """Why an order exists (``orders.purpose``)."""

    ENTRY = "entry"
    TOPUP = "topup"
    SL = "sl"
    TP = "tp"
    EXIT = "exit"
    FUNDING_EXIT = "funding_exit"
    MANUAL_CLOSE = "manual_close"


@dataclass(frozen=True, slots=True)
class OrderState:
    """One order of a position as the fold sees it (furthest status, largest cumulative fill)."""

    order_link_id: str
    purpose: OrderPurpose
    qty: Decimal
    status: OrderStatus = OrderStatus.NEW
    exchange_order_id: str | None = None
    cum_qty: Decimal = Decimal(0)
    avg_price: Decimal | None = None
    price: Decimal | None = None
    trigger_price: Decimal | None = None

    def merged(
        self,
        status: OrderStatus,
        *,
        cum_qty: Decimal | None = None,
        avg_price: Decimal | None = None,
        exchange_order_id: str | None = None,
        trigger_price: Decimal | None = None,
    ) -> OrderState:
        """Return this order after an update; order-independent (status by table, fills by maximum)."""
        new_cum = self.cum_qty if cum_qty is None else max(self.cum_qty, cum_qty)
        new_avg = self.avg_price
        if cum_qty is not None and cum_qty >= self.cum_qty and avg_price is not None and avg_price > 0:
            new_avg = avg_price
        return replace(
            self,
            status=advance_order(self.status, status),
            cum_qty=new_cum,
            avg_price=new_avg,
            exchange_order_id=self.exchange_order_id or exchange_order_id,
            trigger_price=self.trigger_price if trigger_price is None else trigger_price,
        )


# ------------------------------------------------------------------ positions


class PositionStatus(StrEnum):
    """A position's status (``positions.status``)."""

    OPENING = "opening"
    OPEN = "open"
    PARTIAL_ACCEPTED = "partial_accepted"
    FAILED_UNDERFILL = "failed_underfill"
    CLOSING = "closing"
    CLOSED = "closed"
    ERROR = "error"


_POSITION_ALLOWED: Mapping[PositionStatus, frozenset[PositionStatus]] = {
    PositionStatus.OPENING: frozenset(
        {
            PositionStatus.OPEN,
            PositionStatus.PARTIAL_ACCEPTED,
            PositionStatus.FAILED_UNDERFILL,
            PositionStatus.CLOSING,
            PositionStatus.CLOSED,
            PositionStatus.ERROR,
        }
    ),
    PositionStatus.OPEN: frozenset({PositionStatus.CLOSING, PositionStatus.CLOSED, PositionStatus.ERROR}),
    PositionStatus.PARTIAL_ACCEPTED: frozenset(
        {PositionStatus.CLOSING, PositionStatus.CLOSED, PositionStatus.ERROR}
    ),
    PositionStatus.FAILED_UNDERFILL: frozenset(
        {PositionStatus.CLOSING, PositionStatus.CLOSED, PositionStatus.ERROR}
    ),
    PositionStatus.CLOSING: frozenset({PositionStatus.CLOSED, PositionStatus.ERROR}),
    PositionStatus.CLOSED: frozenset(),
    PositionStatus.ERROR: frozenset({PositionStatus.CLOSED}),
}
"""Allowed position transitions (an ``error`` position may still be closed by hand)."""


def position_may_move(current: PositionStatus, proposed: PositionStatus) -> bool:
    """Return True when the position may go from ``current`` to ``proposed``."""
    return proposed in _POSITION_ALLOWED[current]


def advance_position(current: PositionStatus, proposed: PositionStatus) -> PositionStatus:
    """Return ``proposed`` when allowed, else ``current`` (no state regresses)."""
    return proposed if position_may_move(current, proposed) else current


# ------------------------------------------------------------------ the fold


def exchange_side(side: Side, *, opening: bool) -> Literal["Buy", "Sell"]:
    """Return the exchange side of an order that opens (or closes) a ``side`` position."""
    buys = (side is Side.LONG) == opening
    return "Buy" if buys else "Sell"


@dataclass(frozen=True, slots=True)
class ExecFill:
    """One execution (fill or funding settlement) as the fold needs it."""

    exec_id: str
    order_link_id: str
    side: Literal["Buy", "Sell"]
    price: Decimal
    qty: Decimal
    fee: Decimal
    exec_type: str = "Trade"


@dataclass(frozen=True, slots=True)
class Ledger:
    """A position's orders and fills as a fold; ``apply_*`` return a new ledger (duplicates: no change)."""

    side: Side
    orders: Mapping[str, OrderState] = field(default_factory=dict)
    fills: Mapping[str, ExecFill] = field(default_factory=dict)

    def with_order(self, order: OrderState) -> Ledger:
        """Return the ledger knowing ``order`` (an order already known keeps its state)."""
        if order.order_link_id in self.orders:
            return self
        return replace(self, orders={**self.orders, order.order_link_id: order})

    def apply_order_update(
        self,
        order_link_id: str,
        status: OrderStatus,
        *,
        cum_qty: Decimal | None = None,
        avg_price: Decimal | None = None,
        exchange_order_id: str | None = None,
        trigger_price: Decimal | None = None,
    ) -> Ledger:
        """Return the ledger after an order update (unknown orders are ignored)."""
        known = self.orders.get(order_link_id)
        if known is None:
            return self
        merged = known.merged(
            status,
            cum_qty=cum_qty,
            avg_price=avg_price,
            exchange_order_id=exchange_order_id,
            trigger_price=trigger_price,
        )
        return replace(self, orders={**self.orders, order_link_id: merged})

    def apply_fill(self, fill: ExecFill) -> Ledger:
        """Return the ledger with ``fill`` (once per exec id) and its order's cumulative fill raised."""
        if fill.exec_id in self.fills:
            return self
        ledger = replace(self, fills={**self.fills, fill.exec_id: fill})
        known = ledger.orders.get(fill.order_link_id)
        if known is not None and fill.exec_type != EXEC_TYPE_FUNDING:
            filled = ledger._filled_of(fill.order_link_id)
            status = OrderStatus.FILLED if filled >= known.qty else OrderStatus.PARTIALLY_FILLED
            merged = known.merged(status, cum_qty=filled)
            ledger = replace(ledger, orders={**ledger.orders, fill.order_link_id: merged})
        return ledger

    def _filled_of(self, link: str) -> Decimal:
        return sum(
            (
                f.qty
                for f in self.fills.values()
                if f.order_link_id == link and f.exec_type != EXEC_TYPE_FUNDING
            ),
            Decimal(0),
        )

    def _trades(self, *, opening: bool) -> list[ExecFill]:
        wanted = exchange_side(self.side, opening=opening)
        return sorted(
            (f for f in self.fills.values() if f.exec_type != EXEC_TYPE_FUNDING and f.side == wanted),
            key=lambda f: f.exec_id,
        )

    @property
    def entry_qty(self) -> Decimal:
        """Return the base quantity bought (long) or sold (short) to open."""
        return sum((f.qty for f in self._trades(opening=True)), Decimal(0))

    @property
    def exit_qty(self) -> Decimal:
        """Return the base quantity closed."""
        return sum((f.qty for f in self._trades(opening=False)), Decimal(0))

    @property
    def open_qty(self) -> Decimal:
        """Return what is still open on the exchange."""
        return self.entry_qty - self.exit_qty

    @property
    def avg_entry(self) -> Decimal | None:
        """Return the volume-weighted entry price (``None`` before any fill)."""
        return _vwap(self._trades(opening=True))

    @property
    def avg_exit(self) -> Decimal | None:
        """Return the volume-weighted exit price (``None`` before any exit fill)."""
        return _vwap(self._trades(opening=False))

    @property
    def fees(self) -> Decimal:
        """Return the trading fees paid (positive: paid)."""
        return sum((f.fee for f in self.fills.values() if f.exec_type != EXEC_TYPE_FUNDING), Decimal(0))

    @property
    def funding(self) -> Decimal:
        """Return the funding paid (positive: paid, as Bybit's ``execFee`` of a Funding execution)."""
        return sum((f.fee for f in self.fills.values() if f.exec_type == EXEC_TYPE_FUNDING), Decimal(0))

    def filled_of(self, order_link_id: str) -> Decimal:
        """Return the quantity filled by one order, from the fills (0 for an unknown order)."""
        return self._filled_of(order_link_id)


def _vwap(fills: Iterable[ExecFill]) -> Decimal | None:
    qty = Decimal(0)
    value = Decimal(0)
    for f in fills:
        qty += f.qty
        value += f.qty * f.price
    return None if qty == 0 else value / qty


# ------------------------------------------------------------------ sizing


@dataclass(frozen=True, slots=True)
class EntrySizing:
    """The entry order: quantity on the step, limit price on the tick, notional, risk in USD and R."""

    qty: Decimal
    price: Decimal
    notional: Decimal
    risk_usd: Decimal
    risk_r: Decimal


@dataclass(frozen=True, slots=True)
class SizingRefusal:
    """Why no order can be sized (``reason_code`` machine-readable, ``message`` for the trader)."""

    reason_code: str
    message: str


def size_entry(  # noqa: PLR0917 - the levels, 1R and the instrument's grid
    side: Side,
    entry: Decimal,
    sl: Decimal,
    risk_per_trade_usd: Decimal,
    rules: InstrumentRules,
    min_notional_usd: Decimal = Decimal(0),
    slippage_ticks: int = 0,
) -> EntrySizing | SizingRefusal:
    """Return the entry order sized from 1R and |entry − SL| (rounded down), or why it cannot be.

    The IOC limit price is the entry moved ``slippage_ticks`` against the trader and snapped to the tick so
    it never pays more than allowed (down for a buy, up for a sell).
    """
    distance = abs(entry - sl)
    if distance == 0:
        return SizingRefusal("invalid_levels", "The stop loss equals the entry price, so no size can be set.")
    qty = round_down_to_step(risk_per_trade_usd / distance, rules.qty_step)
    if qty < rules.min_qty:
        return SizingRefusal(
            "qty_below_minimum",
            f"The size for one risk unit ({qty}) is below the exchange's minimum order of {rules.min_qty}.",
        )
    allowance = rules.tick_size * slippage_ticks
    if side is Side.LONG:
        price = round_down_to_step(entry + allowance, rules.tick_size)
    else:
        price = round_up_to_step(entry - allowance, rules.tick_size)
    notional = qty * price
    if notional < min_notional_usd:
        return SizingRefusal(
            "notional_below_minimum",
            f"The order value {notional:.2f} USDT is below the exchange's minimum "
            f"of {min_notional_usd} USDT.",
        )
    risk_usd = qty * distance
    return EntrySizing(
        qty=qty, price=price, notional=notional, risk_usd=risk_usd, risk_r=risk_usd / risk_per_trade_usd
    )


FillClass = Literal["filled", "partial_accept", "partial_retry", "underfill"]


def classify_fill(
    filled: Decimal,
    requested: Decimal,
    *,
    min_fill_ratio: Decimal,
    filled_ratio: Decimal = Decimal("0.95"),
    policy: Literal["accept", "retry"] = "accept",
) -> FillClass:
    """Return how an entry's fill counts (E-03): filled, partial (accept | retry) or underfill."""
    ratio = Decimal(0) if requested <= 0 else filled / requested
    if ratio >= filled_ratio:
        return "filled"
    if ratio >= min_fill_ratio:
        return "partial_accept" if policy == "accept" else "partial_retry"
    return "underfill"


def split_take_profits(filled: Decimal, split: tuple[Decimal, ...], qty_step: Decimal) -> tuple[Decimal, ...]:
    """Return TP1..TPn sizes from the fill: each share rounded down to the step, the remainder to the last.

    The sizes sum to ``filled`` rounded down to the step; a size may be 0 (that TP gets no order).
    """
    ctx = DECIMAL_CONTEXT  # the one arithmetic policy, whatever the caller's context
    total = round_down_to_step(filled, qty_step)
    sizes = [round_down_to_step(ctx.multiply(total, share), qty_step) for share in split[:-1]]
    taken = Decimal(0)
    for size in sizes:
        taken = ctx.add(taken, size)
    sizes.append(ctx.subtract(total, taken))
    return tuple(sizes)


# ------------------------------------------------------------------ slippage (E-05)


def slippage_bps(side: Side, leg: Literal["entry", "exit"], requested: Decimal, filled: Decimal) -> Decimal:
    """Return the slippage in basis points, positive when it cost the trader.

    Entry of a long (a buy) and exit of a short cost when the fill is above the requested price.
    """
    buys = (side is Side.LONG) == (leg == "entry")
    adverse = filled - requested if buys else requested - filled
    return adverse / requested * _BPS


def modelled_slippage_pct(base_pct: Decimal, *, atr_above_p80: bool, depth_usd: Decimal | None) -> Decimal:
    """Return the slippage model's percentage: +0.15 % when ATR is above its 80th percentile, +0.25 % when the
    book's depth is below $1M (an unknown depth counts as thin)."""
    pct = base_pct
    if atr_above_p80:
        pct += _HIGH_ATR_PCT
    if depth_usd is None or depth_usd < _THIN_BOOK_USD:
        pct += _THIN_BOOK_PCT
    return pct


_HIGH_ATR_PCT = Decimal("0.15")
_THIN_BOOK_USD = Decimal(1_000_000)
_THIN_BOOK_PCT = Decimal("0.25")


# ------------------------------------------------------------------ identities (E-02)

_POSITION_NAMESPACE = uuid.UUID("0b6a3c2e-5f1d-4b7e-9d42-7a1c2e8f9b30")


def position_id_for(signal_id: str) -> str:
    """Return the position id a signal opens (deterministic: a second click finds the first position)."""
    return str(uuid.uuid5(_POSITION_NAMESPACE, signal_id.lower()))


_PURPOSE_CODE: Mapping[OrderPurpose, str] = {
    OrderPurpose.ENTRY: "e",
    OrderPurpose.TOPUP: "u",
    OrderPurpose.SL: "s",
    OrderPurpose.TP: "t",
    OrderPurpose.EXIT: "x",
    OrderPurpose.FUNDING_EXIT: "f",
    OrderPurpose.MANUAL_CLOSE: "c",
}


def order_link_id(signal_id: str, purpose: OrderPurpose, attempt: int = 0) -> str:
    """Return the deterministic ``orderLinkId`` (≤ 36 chars) of a signal's order ``purpose`` and ``attempt``.

    The same signal, purpose and attempt give the same id, so a resend is recognised by the exchange
    (duplicate ``orderLinkId``) and a lost answer is found by looking the id up.
    """
    if attempt < 0 or attempt > 99_999:
        raise ValueError(f"expected 0 <= attempt <= 99999, got {attempt}")
    head = uuid.UUID(signal_id).hex[:28]
    return f"{head}-{_PURPOSE_CODE[purpose]}{attempt}"
