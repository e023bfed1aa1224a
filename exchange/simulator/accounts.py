"""Trading state of one simulated account: orders, executions, one-way positions, closed PnL, wallet.

All amounts are ``Decimal``. ``to_wire`` methods render Bybit v5 field names with string numbers, shared by
the REST lists and the private WebSocket pushes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from exchange.simulator.wire import fmt

__all__ = ["Account", "ClosedPnl", "Execution", "Order", "Position"]

ZERO = Decimal(0)
MM_RATE = Decimal("0.005")
OPEN_STATUSES = frozenset({"New", "PartiallyFilled", "Untriggered"})
FINAL_STATUSES = frozenset({"Filled", "Cancelled", "Rejected", "Deactivated"})


def _px(value: Decimal) -> str:
    return fmt(value.quantize(Decimal("0.00000001")))


@dataclass(slots=True)
class Order:
    """One order as the exchange tracks it."""

    order_id: str
    order_link_id: str
    symbol: str
    side: str
    order_type: str
    price: Decimal
    qty: Decimal
    time_in_force: str
    reduce_only: bool
    created_ms: int
    status: str = "New"
    leaves_qty: Decimal = ZERO
    cum_exec_qty: Decimal = ZERO
    cum_exec_value: Decimal = ZERO
    cum_exec_fee: Decimal = ZERO
    closed_pnl: Decimal = ZERO
    cancel_type: str = "UNKNOWN"
    reject_reason: str = "EC_NoError"
    updated_ms: int = 0
    trigger_price: Decimal = ZERO
    trigger_direction: int = 0
    trigger_by: str = ""
    close_on_trigger: bool = False
    stop_order_type: str = ""
    last_price_on_created: Decimal = ZERO

    @property
    def conditional(self) -> bool:
        """Return whether the order was placed with a ``triggerPrice`` (Bybit ``stopOrderType`` Stop)."""
        return bool(self.stop_order_type)

    @property
    def reduces_only(self) -> bool:
        """Return whether the order may only shrink the position (``reduceOnly`` or ``closeOnTrigger``)."""
        return self.reduce_only or self.close_on_trigger

    @property
    def is_open(self) -> bool:
        """Return whether the order can still fill."""
        return self.status in OPEN_STATUSES

    @property
    def avg_price(self) -> Decimal:
        """Return the average fill price (0 before the first fill)."""
        return self.cum_exec_value / self.cum_exec_qty if self.cum_exec_qty else ZERO

    def to_wire(self) -> dict[str, Any]:
        """Render as an element of ``/v5/order/realtime`` and of the ``order`` topic."""
        return {
            "category": "linear",
            "orderId": self.order_id,
            "orderLinkId": self.order_link_id,
            "blockTradeId": "",
            "symbol": self.symbol,
            "price": str(self.price),
            "qty": str(self.qty),
            "side": self.side,
            "isLeverage": "",
            "positionIdx": 0,
            "orderStatus": self.status,
            "cancelType": self.cancel_type,
            "rejectReason": self.reject_reason,
            "avgPrice": _px(self.avg_price) if self.cum_exec_qty else "",
            "leavesQty": str(self.leaves_qty),
            "leavesValue": fmt(self.leaves_qty * self.price),
            "cumExecQty": str(self.cum_exec_qty),
            "cumExecValue": fmt(self.cum_exec_value),
            "cumExecFee": fmt(self.cum_exec_fee),
            "closedPnl": fmt(self.closed_pnl),
            "timeInForce": self.time_in_force,
            "orderType": self.order_type,
            "stopOrderType": self.stop_order_type,
            "orderIv": "",
            "triggerPrice": str(self.trigger_price) if self.conditional else "",
            "takeProfit": "",
            "stopLoss": "",
            "tpTriggerBy": "",
            "slTriggerBy": "",
            "triggerDirection": self.trigger_direction,
            "triggerBy": self.trigger_by,
            "lastPriceOnCreated": str(self.last_price_on_created) if self.conditional else "",
            "reduceOnly": self.reduce_only,
            "closeOnTrigger": self.close_on_trigger,
            "smpType": "None",
            "smpGroup": 0,
            "smpOrderId": "",
            "tpslMode": "",
            "tpLimitPrice": "",
            "slLimitPrice": "",
            "placeType": "",
            "feeCurrency": "",
            "cumFeeDetail": {"USDT": fmt(self.cum_exec_fee)} if self.cum_exec_qty else {},
            "createdTime": str(self.created_ms),
            "updatedTime": str(self.updated_ms or self.created_ms),
        }


@dataclass(frozen=True, slots=True)
class Execution:
    """One fill (``execType`` Trade) or funding settlement (``execType`` Funding)."""

    exec_id: str
    symbol: str
    side: str
    order_id: str
    order_link_id: str
    order_type: str
    order_price: Decimal
    order_qty: Decimal
    leaves_qty: Decimal
    exec_type: str
    exec_price: Decimal
    exec_qty: Decimal
    exec_fee: Decimal
    fee_rate: Decimal
    is_maker: bool
    exec_time: int
    closed_size: Decimal
    exec_pnl: Decimal
    mark_price: Decimal
    seq: int
    stop_order_type: str = ""

    def to_wire(self) -> dict[str, Any]:
        """Render as an element of ``/v5/execution/list`` and of the ``execution`` topic."""
        return {
            "category": "linear",
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderLinkId": self.order_link_id,
            "side": self.side,
            "orderPrice": str(self.order_price),
            "orderQty": str(self.order_qty),
            "leavesQty": str(self.leaves_qty),
            "createType": self._create_type(),
            "orderType": self.order_type,
            "stopOrderType": self.stop_order_type or "UNKNOWN",
            "execFee": fmt(self.exec_fee),
            "execId": self.exec_id,
            "execPrice": str(self.exec_price),
            "execQty": str(self.exec_qty),
            "execType": self.exec_type,
            "execValue": fmt(self.exec_price * self.exec_qty),
            "execTime": str(self.exec_time),
            "feeCurrency": "USDT",
            "isMaker": self.is_maker,
            "feeRate": fmt(self.fee_rate),
            "tradeIv": "",
            "markIv": "",
            "markPrice": str(self.mark_price),
            "indexPrice": "",
            "underlyingPrice": "",
            "blockTradeId": "",
            "isLeverage": "",
            "marketUnit": "",
            "extraFees": [],
            "closedSize": str(self.closed_size),
            "execPnl": fmt(self.exec_pnl),
            "seq": self.seq,
        }

    def _create_type(self) -> str:
        if self.exec_type != "Trade":
            return ""
        return "CreateByStopOrder" if self.stop_order_type else "CreateByUser"


@dataclass(slots=True)
class Position:
    """A one-way (``positionIdx`` 0) position; ``size`` is unsigned and ``side`` is Buy, Sell or empty."""

    symbol: str
    side: str = ""
    size: Decimal = ZERO
    avg_price: Decimal = ZERO
    entry_fees: Decimal = ZERO
    cum_realised_pnl: Decimal = ZERO
    cur_realised_pnl: Decimal = ZERO
    created_ms: int = 0
    updated_ms: int = 0
    seq: int = 0

    @property
    def signed_size(self) -> Decimal:
        """Return the size, negative for a short."""
        return -self.size if self.side == "Sell" else self.size

    def unrealised(self, mark: Decimal) -> Decimal:
        """Return the unrealised PnL at ``mark``."""
        return (mark - self.avg_price) * self.signed_size if self.size else ZERO

    def to_wire(self, mark: Decimal, leverage: Decimal) -> dict[str, Any]:
        """Render as an element of ``/v5/position/list`` and of the ``position`` topic."""
        value = self.size * self.avg_price
        return {
            "category": "linear",
            "positionIdx": 0,
            "tradeMode": 0,
            "riskId": 1,
            "riskLimitValue": "2000000",
            "symbol": self.symbol,
            "side": self.side,
            "size": fmt(self.size) if self.size else "0",
            "avgPrice": _px(self.avg_price),
            "entryPrice": _px(self.avg_price),
            "leverage": fmt(leverage),
            "positionValue": _px(value),
            "positionBalance": _px(value / leverage),
            "markPrice": str(mark),
            "positionIM": _px(value / leverage),
            "positionMM": _px(self.size * mark * MM_RATE),
            "positionIMByMp": _px(self.size * mark / leverage),
            "positionMMByMp": _px(self.size * mark * MM_RATE),
            "breakEvenPrice": "",
            "mmrSysUpdatedTime": "",
            "leverageSysUpdatedTime": "",
            "liqPrice": "",
            "bustPrice": "",
            "takeProfit": "",
            "stopLoss": "",
            "trailingStop": "0",
            "tpslMode": "Full",
            "unrealisedPnl": _px(self.unrealised(mark)),
            "curRealisedPnl": _px(self.cur_realised_pnl),
            "cumRealisedPnl": _px(self.cum_realised_pnl),
            "sessionAvgPrice": "",
            "positionStatus": "Normal",
            "adlRankIndicator": 2 if self.size else 0,
            "autoAddMargin": 0,
            "isReduceOnly": False,
            "createdTime": str(self.created_ms),
            "updatedTime": str(self.updated_ms),
            "seq": self.seq,
        }


@dataclass(frozen=True, slots=True)
class ClosedPnl:
    """One closing chunk: the fills of one order in one matching event that reduced a position.

    ``closed_pnl`` follows Bybit: ``(cumExitValue - cumEntryValue)`` signed by the closed position's side,
    minus ``open_fee`` (the entry fees of the closed quantity, pro rata) and ``close_fee`` (the fees of the
    closing fills, pro rata to the closed part of a flipping fill). Funding is not included (it is
    settled separately as ``execType`` Funding executions).
    """

    symbol: str
    order_id: str
    side: str
    order_type: str
    order_price: Decimal
    qty: Decimal
    closed_size: Decimal
    cum_entry_value: Decimal
    cum_exit_value: Decimal
    open_fee: Decimal
    close_fee: Decimal
    closed_pnl: Decimal
    fill_count: int
    leverage: Decimal
    created_ms: int
    updated_ms: int

    def to_wire(self) -> dict[str, Any]:
        """Render as an element of ``/v5/position/closed-pnl``."""
        return {
            "symbol": self.symbol,
            "orderType": self.order_type,
            "leverage": fmt(self.leverage),
            "updatedTime": str(self.updated_ms),
            "side": self.side,
            "orderId": self.order_id,
            "closedPnl": _px(self.closed_pnl),
            "openFee": _px(self.open_fee),
            "closeFee": _px(self.close_fee),
            "avgEntryPrice": _px(self.cum_entry_value / self.closed_size),
            "qty": str(self.qty),
            "cumEntryValue": _px(self.cum_entry_value),
            "createdTime": str(self.created_ms),
            "orderPrice": str(self.order_price),
            "closedSize": str(self.closed_size),
            "avgExitPrice": _px(self.cum_exit_value / self.closed_size),
            "execType": "Trade",
            "fillCount": str(self.fill_count),
            "cumExitValue": _px(self.cum_exit_value),
        }


@dataclass(slots=True)
class Account:
    """One API key's account on the simulated venue (USDT only, one-way positions)."""

    api_key: str
    api_secret: str
    uid: int
    wallet: Decimal
    leverage: Decimal
    orders: dict[str, Order] = field(default_factory=dict)
    link_ids: dict[str, str] = field(default_factory=dict)
    executions: list[Execution] = field(default_factory=list)
    positions: dict[str, Position] = field(default_factory=dict)
    closed_pnls: list[ClosedPnl] = field(default_factory=list)

    def position(self, symbol: str) -> Position:
        """Return the position on ``symbol`` (flat if never traded)."""
        pos = self.positions.get(symbol)
        if pos is None:
            pos = self.positions[symbol] = Position(symbol)
        return pos

    def order_margin(self) -> Decimal:
        """Return the initial margin reserved by open, non-reduce-only orders."""
        return sum(
            (
                o.leaves_qty * o.price / self.leverage
                for o in self.orders.values()
                if o.status in ("New", "PartiallyFilled") and not o.reduces_only
            ),
            ZERO,
        )

    def position_margin(self) -> Decimal:
        """Return the initial margin of open positions."""
        return sum((p.size * p.avg_price / self.leverage for p in self.positions.values()), ZERO)

    def unrealised(self, marks: dict[str, Decimal]) -> Decimal:
        """Return the total unrealised PnL at ``marks``."""
        return sum((p.unrealised(marks[s]) for s, p in self.positions.items() if p.size), ZERO)

    def available(self, marks: dict[str, Decimal]) -> Decimal:
        """Return margin balance minus initial margin (Bybit's ``totalAvailableBalance``)."""
        return self.wallet + self.unrealised(marks) - self.position_margin() - self.order_margin()

    def wallet_wire(self, marks: dict[str, Decimal]) -> dict[str, Any]:
        """Render as an element of ``/v5/account/wallet-balance`` and of the ``wallet`` topic."""
        upl = self.unrealised(marks)
        equity = self.wallet + upl
        pos_im = self.position_margin()
        ord_im = self.order_margin()
        mm = sum((p.size * marks[s] * MM_RATE for s, p in self.positions.items() if p.size), ZERO)
        cum = sum((p.cum_realised_pnl for p in self.positions.values()), ZERO)
        available = equity - pos_im - ord_im
        im_rate = (pos_im + ord_im) / equity if equity > 0 else ZERO
        mm_rate = mm / equity if equity > 0 else ZERO
        coin = {
            "coin": "USDT",
            "equity": _px(equity),
            "usdValue": _px(equity),
            "walletBalance": _px(self.wallet),
            "availableToWithdraw": _px(max(available, ZERO)),
            "availableToBorrow": "",
            "borrowAmount": "0",
            "accruedInterest": "0",
            "totalOrderIM": _px(ord_im),
            "totalPositionIM": _px(pos_im),
            "totalPositionMM": _px(mm),
            "unrealisedPnl": _px(upl),
            "cumRealisedPnl": _px(cum),
            "bonus": "0",
            "collateralSwitch": True,
            "marginCollateral": True,
            "locked": "0",
            "spotHedgingQty": "0",
            "spotBorrow": "0",
        }
        return {
            "accountType": "UNIFIED",
            "totalEquity": _px(equity),
            "totalWalletBalance": _px(self.wallet),
            "totalMarginBalance": _px(equity),
            "totalAvailableBalance": _px(available),
            "totalPerpUPL": _px(upl),
            "totalInitialMargin": _px(pos_im + ord_im),
            "totalInitialMarginByMp": _px(pos_im + ord_im),
            "totalMaintenanceMargin": _px(mm),
            "totalMaintenanceMarginByMp": _px(mm),
            "accountIMRate": _px(im_rate.quantize(Decimal("0.0001"))),
            "accountIMRateByMp": _px(im_rate.quantize(Decimal("0.0001"))),
            "accountMMRate": _px(mm_rate.quantize(Decimal("0.0001"))),
            "accountMMRateByMp": _px(mm_rate.quantize(Decimal("0.0001"))),
            "accountLTV": "0",
            "coin": [coin],
        }
