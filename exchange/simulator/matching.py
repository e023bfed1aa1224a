"""Order matching against the simulated book, positions, fees and funding for every account.

Takers walk the L50 book; resting GTC orders fill as makers when the book crosses their price. Rejections use
Bybit's ``retCode`` values (see ``docs/simulator.md``). Every state change queues private pushes (order,
execution, position, wallet) that the server sends to the account's authenticated WebSockets.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from exchange.simulator.accounts import ZERO, Account, ClosedPnl, Execution, Order
from exchange.simulator.config import SimulatorConfig
from exchange.simulator.errors import BybitRejection
from exchange.simulator.market import Market

__all__ = ["MatchingEngine", "PrivatePush"]

MARKET_SLIPPAGE = Decimal("0.05")  # market orders become IOC limits this far through the best price
TIFS = frozenset({"GTC", "IOC", "FOK", "PostOnly"})


@dataclass(frozen=True, slots=True)
class PrivatePush:
    """One item for an account's private topic."""

    account: Account
    topic: str
    data: dict[str, Any]


def _decimal(params: dict[str, Any], name: str) -> Decimal:
    raw = params.get(name)
    try:
        value = Decimal(str(raw))
    except InvalidOperation as exc:
        raise BybitRejection(10001, f"params error: {name} invalid") from exc
    if not value.is_finite():
        raise BybitRejection(10001, f"params error: {name} invalid")
    return value


class MatchingEngine:
    """Hold every account and match their orders against the markets.

    Args:
        config: the venue configuration (fees, leverage).
        markets: the simulated markets by symbol.
    """

    def __init__(self, config: SimulatorConfig, markets: dict[str, Market]) -> None:
        self._config = config
        self.markets = markets
        self.accounts: dict[str, Account] = {}
        self._rng = random.Random(config.seed ^ 0x5EED)
        self._exec_seq = self._rng.randrange(10**10, 10**11)
        self.outbox: list[PrivatePush] = []

    # ----------------------------------------------------------------------------- accounts
    def add_account(self, api_key: str, api_secret: str, balance: Decimal) -> Account:
        """Create (or reset) the account of ``api_key`` with a USDT wallet of ``balance``."""
        account = Account(api_key, api_secret, 100000 + len(self.accounts), balance, self._config.leverage)
        self.accounts[api_key] = account
        return account

    def marks(self) -> dict[str, Decimal]:
        """Return the mark price of every symbol."""
        return {s: m.last_price() for s, m in self.markets.items()}

    def _uuid(self) -> str:
        h = f"{self._rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def _now(self, symbol: str) -> int:
        return self.markets[symbol].now_ms

    # ----------------------------------------------------------------------------- create
    def create_order(self, account: Account, params: dict[str, Any]) -> Order:  # noqa: PLR0912, PLR0915 - Bybit's checks, in its order
        """Validate, accept and match one ``/v5/order/create`` request.

        Raises:
            BybitRejection: 10001 parameters (qty below min, off-step qty, price off tick, …), 110007
                insufficient balance, 110017 reduce-only violated, 110072 duplicate orderLinkId,
                110094 below minimum order value.
        """
        if params.get("category") != "linear":
            raise BybitRejection(10001, "params error: category only support linear")
        symbol = str(params.get("symbol", ""))
        market = self.markets.get(symbol)
        if market is None:
            raise BybitRejection(10001, "params error: symbol invalid")
        spec = market.spec
        side = params.get("side")
        if side not in ("Buy", "Sell"):
            raise BybitRejection(10001, "params error: side invalid")
        order_type = params.get("orderType")
        if order_type not in ("Market", "Limit"):
            raise BybitRejection(10001, "params error: orderType invalid")
        tif = str(params.get("timeInForce") or ("IOC" if order_type == "Market" else "GTC"))
        if tif not in TIFS:
            raise BybitRejection(10001, "params error: timeInForce invalid")
        if order_type == "Market":
            tif = "IOC"
        if int(params.get("positionIdx", 0) or 0) != 0:
            raise BybitRejection(10001, "position idx not match position mode")
        link = str(params.get("orderLinkId") or "")
        if len(link) > 36:
            raise BybitRejection(10001, "params error: orderLinkId invalid")
        if link and link in account.link_ids:
            raise BybitRejection(110072, "OrderLinkedID is duplicate")
        qty = _decimal(params, "qty")
        if qty < spec.min_qty:
            raise BybitRejection(10001, "The number of contracts exceeds minimum limit allowed")
        if qty % spec.qty_step:
            raise BybitRejection(10001, f"Qty invalid: qty must be a multiple of qtyStep {spec.qty_step}")
        max_qty = spec.max_mkt_qty if order_type == "Market" else spec.max_qty
        if qty > max_qty:
            raise BybitRejection(10001, "The number of contracts exceeds maximum limit allowed")
        buy = side == "Buy"
        book = market.book
        if order_type == "Limit":
            price = _decimal(params, "price")
            if price <= 0 or price % spec.tick_size:
                raise BybitRejection(
                    10001, f"Price invalid: price must be a multiple of tickSize {spec.tick_size}"
                )
        else:
            best = book.best_ask() if buy else book.best_bid()
            ref = spec.price_of(best) if best is not None else market.last_price()
            factor = 1 + MARKET_SLIPPAGE if buy else 1 - MARKET_SLIPPAGE
            price = (ref * factor).quantize(spec.tick_size)
        reduce_only = params.get("reduceOnly") in (True, "true", "True", 1)
        position = account.position(symbol)
        if reduce_only:
            if not position.size or position.side == side:
                raise BybitRejection(
                    110017, "Reduce-only rule not satisfied: order would increase the position"
                )
            qty = min(qty, position.size)
        else:
            if qty * price < spec.min_notional:
                raise BybitRejection(
                    110094, f"Order does not meet minimum order value {spec.min_notional}USDT"
                )
            opposite = position.size if position.size and position.side != side else ZERO
            opening = max(qty - opposite, ZERO)
            need = opening * price / account.leverage + qty * price * self._config.taker_fee_rate
            if need > account.available(self.marks()):
                raise BybitRejection(110007, "ab not enough for new order")
        now = self._now(symbol)
        order = Order(
            order_id=self._uuid(),
            order_link_id=link,
            symbol=symbol,
            side=side,
            order_type=order_type,
            price=price,
            qty=qty,
            time_in_force=tif,
            reduce_only=reduce_only,
            created_ms=now,
            leaves_qty=qty,
            updated_ms=now,
        )
        account.orders[order.order_id] = order
        if link:
            account.link_ids[link] = order.order_id
        self._take(account, order, market)
        return order

    def _take(self, account: Account, order: Order, market: Market) -> None:
        spec = market.spec
        buy = order.side == "Buy"
        limit = int(order.price / spec.tick_size)
        steps = int(order.leaves_qty / spec.qty_step)
        crossing = market.book.available(buy, limit)
        if order.time_in_force == "PostOnly" and crossing:
            self._finish(account, order, "Cancelled", "EC_PostOnlyWillTakeLiquidity")
            return
        if order.time_in_force == "FOK" and crossing < steps:
            self._finish(account, order, "Cancelled", "EC_FOKCanNotFill")
            return
        fills = market.book.take(buy, limit, steps) if crossing else []
        for price_ticks, got in fills:
            self._fill(account, order, market, spec.price_of(price_ticks), spec.qty_of(got), maker=False)
        if order.time_in_force in ("IOC", "FOK") and order.leaves_qty:
            self._finish(account, order, "Cancelled", "EC_NoError")
            return
        self._after_fills(account, order, market, bool(fills))

    # ----------------------------------------------------------------------------- fills
    def _fill(  # noqa: PLR0917 - private helper
        self, account: Account, order: Order, market: Market, price: Decimal, qty: Decimal, maker: bool
    ) -> None:
        rate = self._config.maker_fee_rate if maker else self._config.taker_fee_rate
        fee = price * qty * rate
        now = market.now_ms
        pos = account.position(order.symbol)
        closed = ZERO
        pnl = ZERO
        if pos.size and pos.side != order.side:
            closed = min(qty, pos.size)
            direction = 1 if pos.side == "Buy" else -1
            pnl = (price - pos.avg_price) * closed * direction
            entry_share = pos.entry_fees * closed / pos.size
            pos.entry_fees -= entry_share
            pos.size -= closed
            account.wallet += pnl
            pos.cum_realised_pnl += pnl
            pos.cur_realised_pnl += pnl
            order.closed_pnl += pnl - entry_share - fee * closed / qty
            self._record_close(
                account, order, market, pos.avg_price, price, closed, pnl - entry_share - fee * closed / qty
            )
            if not pos.size:
                pos.side, pos.avg_price, pos.entry_fees = "", ZERO, ZERO
        opening = qty - closed
        if opening:
            if not pos.size:
                pos.side, pos.avg_price, pos.created_ms = order.side, price, now
            pos.avg_price = (pos.avg_price * pos.size + price * opening) / (pos.size + opening)
            pos.size += opening
            pos.entry_fees += fee * opening / qty
        account.wallet -= fee
        pos.cum_realised_pnl -= fee
        pos.cur_realised_pnl -= fee
        pos.updated_ms = now
        self._exec_seq += 1
        pos.seq = self._exec_seq
        order.cum_exec_qty += qty
        order.cum_exec_value += price * qty
        order.cum_exec_fee += fee
        order.leaves_qty -= qty
        order.updated_ms = now
        order.status = "Filled" if not order.leaves_qty else "PartiallyFilled"
        execution = Execution(
            exec_id=self._uuid(),
            symbol=order.symbol,
            side=order.side,
            order_id=order.order_id,
            order_link_id=order.order_link_id,
            order_type=order.order_type,
            order_price=order.price,
            order_qty=order.qty,
            leaves_qty=order.leaves_qty,
            exec_type="Trade",
            exec_price=price,
            exec_qty=qty,
            exec_fee=fee,
            fee_rate=rate,
            is_maker=maker,
            exec_time=now,
            closed_size=closed,
            exec_pnl=pnl,
            mark_price=market.last_price(),
            seq=self._exec_seq,
        )
        account.executions.append(execution)
        self.outbox.append(PrivatePush(account, "execution", execution.to_wire()))

    def _record_close(  # noqa: PLR0917 - private helper
        self,
        account: Account,
        order: Order,
        market: Market,
        entry: Decimal,
        exit_: Decimal,
        size: Decimal,
        pnl: Decimal,
    ) -> None:
        account.closed_pnls.append(
            ClosedPnl(
                symbol=order.symbol,
                order_id=order.order_id,
                side=order.side,
                order_type=order.order_type,
                order_price=order.price,
                qty=order.qty,
                closed_size=size,
                avg_entry_price=entry,
                avg_exit_price=exit_,
                closed_pnl=pnl,
                fill_count=1,
                leverage=account.leverage,
                created_ms=order.created_ms,
                updated_ms=market.now_ms,
            )
        )

    def _after_fills(self, account: Account, order: Order, market: Market, filled: bool) -> None:
        self.outbox.append(PrivatePush(account, "order", order.to_wire()))
        if filled:
            self._push_position(account, market)
            self._push_wallet(account)

    def _finish(self, account: Account, order: Order, status: str, reason: str) -> None:
        order.status = status
        order.reject_reason = reason
        if status == "Cancelled" and order.cancel_type == "UNKNOWN" and order.time_in_force in ("IOC", "FOK"):
            order.cancel_type = "CancelByUser" if order.order_type == "Limit" else "UNKNOWN"
        order.leaves_qty = ZERO
        order.updated_ms = self._now(order.symbol)
        self._after_fills(account, order, self.markets[order.symbol], bool(order.cum_exec_qty))

    def _push_position(self, account: Account, market: Market) -> None:
        pos = account.position(market.spec.symbol)
        self.outbox.append(
            PrivatePush(account, "position", pos.to_wire(market.last_price(), account.leverage))
        )

    def _push_wallet(self, account: Account) -> None:
        self.outbox.append(PrivatePush(account, "wallet", account.wallet_wire(self.marks())))

    # ----------------------------------------------------------------------------- cancel
    def cancel_order(self, account: Account, params: dict[str, Any]) -> Order:
        """Cancel an open order by ``orderId`` or ``orderLinkId``.

        Raises:
            BybitRejection: 10001 without an id, 110001 when the order is unknown or already finished.
        """
        order = self.find_order(account, params)
        if order is None or not order.is_open or order.symbol != params.get("symbol", order.symbol):
            raise BybitRejection(110001, "order not exists or too late to cancel")
        order.cancel_type = "CancelByUser"
        self._finish(account, order, "Cancelled", "EC_NoError")
        return order

    def find_order(self, account: Account, params: dict[str, Any]) -> Order | None:
        """Return the order named by ``orderId`` or ``orderLinkId`` in ``params``."""
        order_id = params.get("orderId") or account.link_ids.get(str(params.get("orderLinkId") or ""))
        if not order_id:
            if not params.get("orderLinkId"):
                raise BybitRejection(10001, "params error: orderId or orderLinkId is required")
            return None
        return account.orders.get(str(order_id))

    # ----------------------------------------------------------------------------- market events
    def on_step(self, market: Market) -> None:
        """Fill resting orders the moved book now crosses (as makers, at their limit price)."""
        symbol = market.spec.symbol
        for account in self.accounts.values():
            resting = [o for o in account.orders.values() if o.is_open and o.symbol == symbol]
            for order in resting:
                self._maker_fill(account, order, market)

    def _maker_fill(self, account: Account, order: Order, market: Market) -> None:
        spec = market.spec
        buy = order.side == "Buy"
        limit = int(order.price / spec.tick_size)
        if not market.book.available(buy, limit):
            return
        if order.reduce_only:
            pos = account.position(order.symbol)
            if not pos.size or pos.side == order.side:
                order.cancel_type = "CancelByReduceOnly"
                self._finish(account, order, "Cancelled", "EC_NoError")
                return
            order.leaves_qty = min(order.leaves_qty, pos.size)
        got = sum(s for _, s in market.book.take(buy, limit, int(order.leaves_qty / spec.qty_step)))
        if got:
            self._fill(account, order, market, order.price, spec.qty_of(got), maker=True)
            self._after_fills(account, order, market, True)

    def settle_funding(self, market: Market, at_ms: int) -> None:
        """Charge or pay funding on the open positions of ``market`` (longs pay when the rate is positive)."""
        rate = market.funding_rate
        mark = market.last_price()
        for account in self.accounts.values():
            pos = account.positions.get(market.spec.symbol)
            if pos is None or not pos.size:
                continue
            fee = pos.signed_size * mark * rate
            account.wallet -= fee
            pos.cum_realised_pnl -= fee
            pos.updated_ms = at_ms
            self._exec_seq += 1
            execution = Execution(
                exec_id=self._uuid(),
                symbol=pos.symbol,
                side=pos.side,
                order_id="",
                order_link_id="",
                order_type="UNKNOWN",
                order_price=ZERO,
                order_qty=ZERO,
                leaves_qty=ZERO,
                exec_type="Funding",
                exec_price=mark,
                exec_qty=pos.size,
                exec_fee=fee,
                fee_rate=rate,
                is_maker=False,
                exec_time=at_ms,
                closed_size=ZERO,
                exec_pnl=ZERO,
                mark_price=mark,
                seq=self._exec_seq,
            )
            account.executions.append(execution)
            self.outbox.append(PrivatePush(account, "execution", execution.to_wire()))
            self._push_position(account, market)
            self._push_wallet(account)

    def drain(self) -> list[PrivatePush]:
        """Return and clear the queued private pushes."""
        pushes, self.outbox = self.outbox, []
        return pushes
