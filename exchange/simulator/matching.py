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
from exchange.simulator.conditional import fire_triggers, read_trigger
from exchange.simulator.config import SimulatorConfig
from exchange.simulator.errors import BybitRejection
from exchange.simulator.funding import settle_position_funding
from exchange.simulator.market import Market
from exchange.simulator.reduce_only import fit_reduce_only, refit_reduce_only

__all__ = ["MatchingEngine", "PrivatePush", "decimal_param"]

MARKET_SLIPPAGE = Decimal("0.05")  # market orders become IOC limits this far through the best price
TIFS = frozenset({"GTC", "IOC", "FOK", "PostOnly"})


@dataclass(frozen=True, slots=True)
class PrivatePush:
    """One item for an account's private topic."""

    account: Account
    topic: str
    data: dict[str, Any]


@dataclass(slots=True)
class _Closing:
    """What the fills of one order in one matching event closed (one ``closed-pnl`` record)."""

    size: Decimal = ZERO
    entry_value: Decimal = ZERO
    exit_value: Decimal = ZERO
    open_fee: Decimal = ZERO
    close_fee: Decimal = ZERO
    gross: Decimal = ZERO
    fills: int = 0


def decimal_param(params: dict[str, Any], name: str) -> Decimal:
    """Return ``params[name]`` as a finite Decimal.

    Raises:
        BybitRejection: 10001 when it is missing or not a number.
    """
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
        self._deferred: list[tuple[float, Account, Order]] = []

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
    def create_order(  # noqa: PLR0912, PLR0915 - Bybit's checks, in its order
        self, account: Account, params: dict[str, Any], fill_at: float | None = None
    ) -> Order:
        """Validate, accept and match one ``/v5/order/create`` request.

        With a ``triggerPrice`` the order is conditional: it stays ``Untriggered`` until the last price
        crosses it (see ``exchange.simulator.conditional``). ``fill_at`` (trio time) delays the first
        match of a plain order (fault ``fill_delay_ms``): it is acknowledged ``New`` and matched then.

        Raises:
            BybitRejection: 10001 parameters (qty below min, off-step qty, price off tick, …), 110007
                insufficient balance, 110017 reduce-only violated, 110072 duplicate orderLinkId,
                110094 below minimum order value, 110092/110093 trigger price on the wrong side.
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
        qty = decimal_param(params, "qty")
        if qty < spec.min_qty:
            raise BybitRejection(10001, "The number of contracts exceeds minimum limit allowed")
        if qty % spec.qty_step:
            raise BybitRejection(10001, f"Qty invalid: qty must be a multiple of qtyStep {spec.qty_step}")
        max_qty = spec.max_mkt_qty if order_type == "Market" else spec.max_qty
        if qty > max_qty:
            raise BybitRejection(10001, "The number of contracts exceeds maximum limit allowed")
        buy = side == "Buy"
        trigger = read_trigger(params, market)
        if order_type == "Limit":
            price = decimal_param(params, "price")
            if price <= 0 or price % spec.tick_size:
                raise BybitRejection(
                    10001, f"Price invalid: price must be a multiple of tickSize {spec.tick_size}"
                )
            ref = price
        else:
            ref = self.market_price(market, buy)
            price = ZERO if trigger is not None else ref
        reduce_only = params.get("reduceOnly") in (True, "true", "True", 1)
        close_on_trigger = trigger is not None and params.get("closeOnTrigger") in (True, "true", "True", 1)
        position = account.position(symbol)
        if reduce_only or close_on_trigger:
            if not position.size:
                raise BybitRejection(110017, "current position is zero, cannot fix reduce-only order qty")
            if position.side == side:
                raise BybitRejection(
                    110017, "Reduce-only rule not satisfied: order would increase the position"
                )
            qty = min(qty, position.size)
        else:
            if qty * ref < spec.min_notional:
                raise BybitRejection(
                    110094, f"Order does not meet minimum order value {spec.min_notional}USDT"
                )
            opposite = position.size if position.size and position.side != side else ZERO
            opening = max(qty - opposite, ZERO)
            need = opening * ref / account.leverage + qty * ref * self._config.taker_fee_rate
            if trigger is None and need > account.available(self.marks()):
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
        if trigger is not None:
            order.status, order.stop_order_type = "Untriggered", "Stop"
            order.trigger_price, order.trigger_direction, order.trigger_by = trigger
            order.close_on_trigger = close_on_trigger
            order.last_price_on_created = market.last_price()
            self.push_order(account, order)
        elif fill_at is not None:
            self._deferred.append((fill_at, account, order))
            self.push_order(account, order)
        else:
            self.take(account, order, market)
        return order

    def market_price(self, market: Market, buy: bool) -> Decimal:
        """Return the protected limit price a market order gets: 5 % through the best opposite price."""
        spec = market.spec
        best = market.book.best_ask() if buy else market.book.best_bid()
        ref = spec.price_of(best) if best is not None else market.last_price()
        factor = 1 + MARKET_SLIPPAGE if buy else 1 - MARKET_SLIPPAGE
        return (ref * factor).quantize(spec.tick_size)

    def run_deferred(self, now: float) -> None:
        """Match the orders whose first match was delayed (fault ``fill_delay_ms``) and is due at ``now``."""
        due = [d for d in self._deferred if d[0] <= now]
        if not due:
            return
        self._deferred = [d for d in self._deferred if d[0] > now]
        for _, account, order in due:
            if order.status == "New" and not order.cum_exec_qty:
                self.take(account, order, self.markets[order.symbol])

    def take(self, account: Account, order: Order, market: Market) -> None:
        """Match ``order`` as a taker against the book, then rest, cancel (IOC/FOK) or finish it."""
        if order.reduces_only and not fit_reduce_only(self, account, order):
            return
        spec = market.spec
        buy = order.side == "Buy"
        limit = int(order.price / spec.tick_size)
        steps = int(order.leaves_qty / spec.qty_step)
        crossing = market.book.available(buy, limit)
        if order.time_in_force == "PostOnly" and crossing:
            self.finish(account, order, "Cancelled", "EC_PostOnlyWillTakeLiquidity")
            return
        if order.time_in_force == "FOK" and crossing < steps:
            self.finish(account, order, "Cancelled", "EC_FOKCanNotFill")
            return
        fills = market.book.take(buy, limit, steps) if crossing else []
        closing = _Closing()
        for price_ticks, got in fills:
            self._fill(account, order, market, spec.price_of(price_ticks), spec.qty_of(got), False, closing)
        self._record_close(account, order, market, closing)
        if order.time_in_force in ("IOC", "FOK") and order.leaves_qty:
            self.finish(account, order, "Cancelled", "EC_NoError")
        else:
            self._after_fills(account, order, market, bool(fills))
        if closing.size:
            refit_reduce_only(self, account, order.symbol)

    # ----------------------------------------------------------------------------- fills
    def _fill(  # noqa: PLR0917 - private helper
        self,
        account: Account,
        order: Order,
        market: Market,
        price: Decimal,
        qty: Decimal,
        maker: bool,
        closing: _Closing,
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
            close_share = fee * closed / qty
            closing.size += closed
            closing.entry_value += pos.avg_price * closed
            closing.exit_value += price * closed
            closing.open_fee += entry_share
            closing.close_fee += close_share
            closing.gross += pnl
            closing.fills += 1
            pos.entry_fees -= entry_share
            pos.size -= closed
            account.wallet += pnl
            pos.cum_realised_pnl += pnl
            pos.cur_realised_pnl += pnl
            order.closed_pnl += pnl - entry_share - close_share
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
        exec_id, seq = self.next_exec()
        pos.seq = seq
        order.cum_exec_qty += qty
        order.cum_exec_value += price * qty
        order.cum_exec_fee += fee
        order.leaves_qty -= qty
        order.updated_ms = now
        order.status = "Filled" if not order.leaves_qty else "PartiallyFilled"
        execution = Execution(
            exec_id=exec_id,
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
            seq=seq,
            stop_order_type=order.stop_order_type,
        )
        account.executions.append(execution)
        self.outbox.append(PrivatePush(account, "execution", execution.to_wire()))

    def _record_close(self, account: Account, order: Order, market: Market, closing: _Closing) -> None:
        if not closing.size:
            return
        account.closed_pnls.append(
            ClosedPnl(
                symbol=order.symbol,
                order_id=order.order_id,
                side=order.side,
                order_type=order.order_type,
                order_price=order.price,
                qty=order.qty,
                closed_size=closing.size,
                cum_entry_value=closing.entry_value,
                cum_exit_value=closing.exit_value,
                open_fee=closing.open_fee,
                close_fee=closing.close_fee,
                closed_pnl=closing.gross - closing.open_fee - closing.close_fee,
                fill_count=closing.fills,
                leverage=account.leverage,
                created_ms=order.created_ms,
                updated_ms=market.now_ms,
            )
        )

    def _after_fills(self, account: Account, order: Order, market: Market, filled: bool) -> None:
        self.push_order(account, order)
        if filled:
            self.push_position(account, market)
            self.push_wallet(account)

    def queue(self, account: Account, topic: str, data: dict[str, Any]) -> None:
        """Queue one private push for ``account``'s ``topic``."""
        self.outbox.append(PrivatePush(account, topic, data))

    def push_order(self, account: Account, order: Order) -> None:
        """Queue the ``order`` topic push of ``order``'s current state."""
        self.outbox.append(PrivatePush(account, "order", order.to_wire()))

    def finish(self, account: Account, order: Order, status: str, reason: str) -> None:
        """Move ``order`` to a final ``status`` (its unfilled rest is cancelled) and push it."""
        order.status = status
        order.reject_reason = reason
        if status == "Cancelled" and order.cancel_type == "UNKNOWN" and order.time_in_force in ("IOC", "FOK"):
            order.cancel_type = "CancelByUser" if order.order_type == "Limit" else "UNKNOWN"
        order.leaves_qty = ZERO
        order.updated_ms = self._now(order.symbol)
        self._after_fills(account, order, self.markets[order.symbol], bool(order.cum_exec_qty))

    def push_position(self, account: Account, market: Market) -> None:
        """Queue the ``position`` topic push of ``account``'s position on ``market``."""
        pos = account.position(market.spec.symbol)
        self.outbox.append(
            PrivatePush(account, "position", pos.to_wire(market.last_price(), account.leverage))
        )

    def push_wallet(self, account: Account) -> None:
        """Queue the ``wallet`` topic push of ``account``."""
        self.outbox.append(PrivatePush(account, "wallet", account.wallet_wire(self.marks())))

    # ----------------------------------------------------------------------------- cancel
    def cancel_order(self, account: Account, params: dict[str, Any]) -> Order:
        """Cancel an open order by ``orderId`` or ``orderLinkId`` (a conditional one becomes Deactivated).

        Raises:
            BybitRejection: 10001 without an id, 110001 when the order is unknown or already finished.
        """
        order = self.find_order(account, params)
        if order is None or not order.is_open or order.symbol != params.get("symbol", order.symbol):
            raise BybitRejection(110001, "order not exists or too late to cancel")
        self.cancel(account, order)
        return order

    def cancel(self, account: Account, order: Order) -> None:
        """Cancel the open ``order`` on the user's request."""
        order.cancel_type = "CancelByUser"
        status = "Deactivated" if order.status == "Untriggered" else "Cancelled"
        self.finish(account, order, status, "EC_NoError")

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
        """Fire crossed conditional orders, then fill resting orders the moved book now crosses."""
        symbol = market.spec.symbol
        for account in self.accounts.values():
            fire_triggers(self, account, market)
            deferred = {d[2].order_id for d in self._deferred}
            resting = [
                o
                for o in account.orders.values()
                if o.status in ("New", "PartiallyFilled")
                and o.symbol == symbol
                and o.order_type == "Limit"
                and o.order_id not in deferred
            ]
            for order in resting:
                self._maker_fill(account, order, market)

    def _maker_fill(self, account: Account, order: Order, market: Market) -> None:
        if order.status not in ("New", "PartiallyFilled"):
            return  # cancelled by an earlier fill's reduce-only refit in this step
        spec = market.spec
        buy = order.side == "Buy"
        limit = int(order.price / spec.tick_size)
        if not market.book.available(buy, limit):
            return
        if order.reduces_only and not fit_reduce_only(self, account, order):
            return
        got = sum(s for _, s in market.book.take(buy, limit, int(order.leaves_qty / spec.qty_step)))
        if got:
            closing = _Closing()
            self._fill(account, order, market, order.price, spec.qty_of(got), True, closing)
            self._record_close(account, order, market, closing)
            self._after_fills(account, order, market, True)
            if closing.size:
                refit_reduce_only(self, account, order.symbol)

    def next_exec(self) -> tuple[str, int]:
        """Return a fresh ``execId`` and the next sequence number (shared by fills and funding)."""
        self._exec_seq += 1
        return self._uuid(), self._exec_seq

    def settle_funding(self, market: Market, at_ms: int) -> None:
        """Charge or pay funding on every open position of ``market`` (see ``exchange.simulator.funding``)."""
        for account in self.accounts.values():
            if settle_position_funding(self, account, market, at_ms):
                self.push_position(account, market)
                self.push_wallet(account)

    def drain(self) -> list[PrivatePush]:
        """Return and clear the queued private pushes."""
        pushes, self.outbox = self.outbox, []
        return pushes
