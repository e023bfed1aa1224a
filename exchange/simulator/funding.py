"""Funding settlement: at each funding time every open position pays or receives ``size × mark × rate``.

As on Bybit, a positive rate makes longs pay shorts. Each settlement is one ``execType`` Funding execution
(``execQty`` the position size, ``execPrice`` the mark price, ``feeRate`` the funding rate, ``execFee`` the
signed amount: positive paid, negative received, ``orderId`` empty) that moves the wallet balance and the
position's ``cumRealisedPnl`` but never ``/v5/position/closed-pnl``. So, per symbol and to the cent:
``wallet change = Σ execPnl (closing fills) − Σ execFee (Trade) − Σ execFee (Funding)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exchange.simulator.accounts import ZERO, Account, Execution
from exchange.simulator.market import Market

if TYPE_CHECKING:
    from exchange.simulator.matching import MatchingEngine

__all__ = ["settle_position_funding"]


def settle_position_funding(engine: MatchingEngine, account: Account, market: Market, at_ms: int) -> bool:
    """Settle funding for ``account``'s position on ``market`` at ``at_ms``; return whether it had one."""
    pos = account.positions.get(market.spec.symbol)
    if pos is None or not pos.size:
        return False
    rate = market.funding_rate
    mark = market.last_price()
    fee = pos.signed_size * mark * rate
    account.wallet -= fee
    pos.cum_realised_pnl -= fee
    pos.updated_ms = at_ms
    exec_id, seq = engine.next_exec()
    execution = Execution(
        exec_id=exec_id,
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
        seq=seq,
    )
    account.executions.append(execution)
    engine.queue(account, "execution", execution.to_wire())
    return True
