"""Who may change the trading state how (R-04, C-03).

The trading state (``strategy_core``'s ``TradingState``: ACTIVE | REDUCING | HALTED) and the kill switch are
one persisted record (``storage.TradingStateRecord``, PostgreSQL ``kill_switch_state`` mirrored to Redis).
An engaged kill switch always comes with REDUCING or HALTED:

* ``HALTED``   — nothing is approved;
* ``REDUCING`` — only risk-reducing orders are approved, so an operator can exit positions;
* ``ACTIVE``   — every limit of R-02/R-03 applies.

Automatic sources (kill conditions, critical reconciliation findings) may only tighten. Only an operator may
release the kill switch or loosen the state (R-04: release needs an explicit operator action).
"""

from __future__ import annotations

from strategy_core.risk_rules import TradingState

__all__ = ["TradingState", "is_tightening"]

_STRICTNESS = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


def is_tightening(current: TradingState, new: TradingState) -> bool:
    """Return True when ``new`` approves strictly less than ``current``."""
    return _STRICTNESS[new] > _STRICTNESS[current]
