"""Reduce-only orders never open, increase or flip a position (Bybit's rule).

A reduce-only (or ``closeOnTrigger``) order is capped to the position when it is placed and again whenever it
is about to match; when the position is gone, or now lies on the order's own side, the order is cancelled
with ``cancelType`` ``CancelByReduceOnly``. After any fill that shrinks a position, the resting reduce-only
orders of that symbol are refitted the same way (their ``qty`` becomes ``cumExecQty`` + what is left to
reduce). Conditional orders still ``Untriggered`` are left alone until they fire.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from exchange.simulator.accounts import Account, Order
    from exchange.simulator.matching import MatchingEngine

__all__ = ["fit_reduce_only", "refit_reduce_only"]


def fit_reduce_only(engine: MatchingEngine, account: Account, order: Order) -> bool:
    """Cap ``order``'s rest to the position; cancel it (and return False) when nothing is left to reduce."""
    pos = account.position(order.symbol)
    if not pos.size or pos.side == order.side:
        order.cancel_type = "CancelByReduceOnly"
        engine.finish(account, order, "Cancelled", "EC_NoError")
        return False
    if order.leaves_qty > pos.size:
        order.leaves_qty = pos.size
        order.qty = order.cum_exec_qty + pos.size
    return True


def refit_reduce_only(engine: MatchingEngine, account: Account, symbol: str) -> None:
    """Fit every live reduce-only order on ``symbol`` to the position that just shrank; push the changed."""
    for other in list(account.orders.values()):
        if other.symbol != symbol or other.status not in ("New", "PartiallyFilled") or not other.reduces_only:
            continue
        before = other.leaves_qty
        if fit_reduce_only(engine, account, other) and other.leaves_qty != before:
            other.updated_ms = engine.markets[symbol].now_ms
            engine.push_order(account, other)
