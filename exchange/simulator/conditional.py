"""Conditional orders: a ``triggerPrice`` keeps an order ``Untriggered`` until the price crosses it.

Bybit semantics kept here: ``triggerDirection`` 1 fires when the price rises to the trigger, 2 when it falls
to it; at creation the trigger must still be ahead of the current price (retCode 110092 for a rising
trigger at or below it, 110093 for a falling one at or above it). The simulator has one price per symbol,
the last traded price, which also serves as mark and index, so ``triggerBy`` is recorded but every
trigger is checked against it. When it fires the order is pushed ``Triggered`` and then matched like a
freshly placed order (a Market one at the protected market price); a reduce-only or ``closeOnTrigger``
order is first capped to the position and cancelled (``CancelByReduceOnly``) when there is none left.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from exchange.simulator.errors import BybitRejection
from exchange.simulator.market import Market

if TYPE_CHECKING:
    from exchange.simulator.accounts import Account, Order
    from exchange.simulator.matching import MatchingEngine

__all__ = ["check_trigger_side", "fire_triggers", "read_trigger"]

RISE, FALL = 1, 2
TRIGGER_BY = frozenset({"LastPrice", "MarkPrice", "IndexPrice"})


def check_trigger_side(trigger: Decimal, direction: int, market: Market) -> None:
    """Refuse a trigger the current price has already crossed.

    Raises:
        BybitRejection: 110092 (rising trigger not above the price), 110093 (falling one not below it).
    """
    last = market.last_price()
    if direction == RISE and trigger <= last:
        raise BybitRejection(
            110092, f"expect Rising, but trigger_price[{trigger}] <= current[{last}]??LastPrice"
        )
    if direction == FALL and trigger >= last:
        raise BybitRejection(
            110093, f"expect Falling, but trigger_price[{trigger}] >= current[{last}]??LastPrice"
        )


def parse_trigger_price(raw: Any, market: Market) -> Decimal:
    """Return a positive, on-tick trigger price.

    Raises:
        BybitRejection: 10001 when it is not a number, not positive or off the tick.
    """
    try:
        price = Decimal(str(raw))
    except ArithmeticError as exc:
        raise BybitRejection(10001, "params error: triggerPrice invalid") from exc
    tick = market.spec.tick_size
    if not price.is_finite() or price <= 0 or price % tick:
        raise BybitRejection(10001, f"TriggerPrice invalid: it must be a multiple of tickSize {tick}")
    return price


def read_trigger(params: dict[str, Any], market: Market) -> tuple[Decimal, int, str] | None:
    """Return ``(triggerPrice, triggerDirection, triggerBy)`` of a create request, None when not conditional.

    Raises:
        BybitRejection: 10001 for a bad price, direction or ``triggerBy``; 110092/110093 for a trigger
            already crossed.
    """
    raw = params.get("triggerPrice")
    if raw in (None, ""):
        return None
    price = parse_trigger_price(raw, market)
    try:
        direction = int(params.get("triggerDirection") or 0)
    except (TypeError, ValueError) as exc:
        raise BybitRejection(10001, "params error: triggerDirection invalid") from exc
    if direction not in (RISE, FALL):
        raise BybitRejection(10001, "params error: triggerDirection must be 1 (rise) or 2 (fall)")
    by = str(params.get("triggerBy") or "LastPrice")
    if by not in TRIGGER_BY:
        raise BybitRejection(10001, "params error: triggerBy invalid")
    check_trigger_side(price, direction, market)
    return price, direction, by


def _crossed(order: Order, last: Decimal) -> bool:
    if order.trigger_direction == RISE:
        return last >= order.trigger_price
    return last <= order.trigger_price


def fire_triggers(engine: MatchingEngine, account: Account, market: Market) -> None:
    """Trigger every ``Untriggered`` order of ``account`` on ``market`` whose price has been crossed."""
    symbol = market.spec.symbol
    last = market.last_price()
    crossed = [
        o
        for o in account.orders.values()
        if o.status == "Untriggered" and o.symbol == symbol and _crossed(o, last)
    ]
    for order in crossed:
        order.status = "Triggered"
        order.updated_ms = market.now_ms
        engine.push_order(account, order)
        order.status = "New"
        if order.order_type == "Market":
            order.price = engine.market_price(market, order.side == "Buy")
        engine.take(account, order, market)
