"""``/v5/order/amend`` and ``/v5/order/cancel-all`` on the simulated venue.

Amend follows Bybit: the order is named by ``orderId`` or ``orderLinkId``; ``qty``, ``price`` and
``triggerPrice`` may change; an unknown or finished order is retCode 110001; a request that changes nothing
is 34040 ("Not modified"). A new ``qty`` must stay above what has already filled (10001), a ``price`` is
only for Limit orders, a ``triggerPrice`` only for an order still ``Untriggered`` and still ahead of the
price (110092/110093). A live Limit order whose new price crosses the book matches at once as a taker.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from exchange.simulator.conditional import check_trigger_side, parse_trigger_price
from exchange.simulator.errors import BybitRejection

if TYPE_CHECKING:
    from exchange.simulator.accounts import Account, Order
    from exchange.simulator.matching import MatchingEngine

__all__ = ["amend_order", "cancel_all"]


def _decimal(raw: Any, name: str) -> Decimal:
    try:
        value = Decimal(str(raw))
    except ArithmeticError as exc:
        raise BybitRejection(10001, f"params error: {name} invalid") from exc
    if not value.is_finite() or value <= 0:
        raise BybitRejection(10001, f"params error: {name} invalid")
    return value


def amend_order(engine: MatchingEngine, account: Account, params: dict[str, Any]) -> Order:  # noqa: PLR0912 - one check per amendable field
    """Amend an open order's quantity, limit price or trigger price.

    Raises:
        BybitRejection: 10001 bad parameters, 110001 unknown or finished order, 34040 nothing changed,
            110092/110093 trigger price already crossed.
    """
    if params.get("category") != "linear":
        raise BybitRejection(10001, "params error: category only support linear")
    order = engine.find_order(account, params)
    if order is None or not order.is_open or order.symbol != params.get("symbol", order.symbol):
        raise BybitRejection(110001, "order not exists or too late to replace")
    market = engine.markets[order.symbol]
    spec = market.spec
    changed = False
    raw_qty, raw_price, raw_trigger = params.get("qty"), params.get("price"), params.get("triggerPrice")
    if raw_trigger not in (None, ""):
        if order.status != "Untriggered":
            raise BybitRejection(10001, "params error: triggerPrice can only be amended before the trigger")
        trigger = parse_trigger_price(raw_trigger, market)
        if trigger != order.trigger_price:
            check_trigger_side(trigger, order.trigger_direction, market)
            order.trigger_price, changed = trigger, True
    if raw_price not in (None, ""):
        if order.order_type != "Limit":
            raise BybitRejection(10001, "params error: price cannot be amended on a Market order")
        price = _decimal(raw_price, "price")
        if price % spec.tick_size:
            raise BybitRejection(
                10001, f"Price invalid: price must be a multiple of tickSize {spec.tick_size}"
            )
        if price != order.price:
            order.price, changed = price, True
    if raw_qty not in (None, ""):
        qty = _decimal(raw_qty, "qty")
        if qty % spec.qty_step or qty < spec.min_qty:
            raise BybitRejection(10001, f"Qty invalid: qty must be a multiple of qtyStep {spec.qty_step}")
        if qty <= order.cum_exec_qty:
            raise BybitRejection(10001, "params error: qty must be greater than the filled cumExecQty")
        if order.reduces_only:
            pos = account.position(order.symbol)
            qty = min(qty, order.cum_exec_qty + pos.size)
        if qty != order.qty:
            order.leaves_qty = qty - order.cum_exec_qty
            order.qty, changed = qty, True
    if not changed:
        raise BybitRejection(34040, "Not modified. Please check the parameters")
    order.updated_ms = market.now_ms
    if order.status in ("New", "PartiallyFilled") and order.order_type == "Limit":
        engine.take(account, order, market)
    else:
        engine.push_order(account, order)
    return order


def cancel_all(engine: MatchingEngine, account: Account, params: dict[str, Any]) -> list[Order]:
    """Cancel every open order of ``symbol`` (or of ``settleCoin`` USDT); ``orderFilter`` picks
    ``Order`` (plain) or ``StopOrder`` (conditional) ones, both when absent.

    Raises:
        BybitRejection: 10001 without ``symbol`` or ``settleCoin``.
    """
    if params.get("category") != "linear":
        raise BybitRejection(10001, "params error: category only support linear")
    symbol = params.get("symbol")
    if not symbol and params.get("settleCoin") != "USDT":
        raise BybitRejection(10001, "params error: symbol or settleCoin is required")
    wanted = params.get("orderFilter")
    chosen = [
        o
        for o in account.orders.values()
        if o.is_open
        and (not symbol or o.symbol == symbol)
        and (not wanted or (wanted == "StopOrder") == o.conditional)
    ]
    for order in chosen:
        engine.cancel(account, order)
    return chosen
