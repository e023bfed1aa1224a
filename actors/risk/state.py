"""The persisted trading state and kill switch (R-04, C-03), and who may change it how.

One record is the source of truth (PostgreSQL ``kill_switch_state``, mirrored to Redis): the trading state
(``strategy_core``'s ``TradingState``: ACTIVE | REDUCING | HALTED) and whether the kill switch is engaged.
An engaged kill switch always comes with REDUCING or HALTED (the table's CHECK enforces it):

* ``HALTED``   — nothing is approved;
* ``REDUCING`` — only risk-reducing orders are approved, so an operator can exit positions;
* ``ACTIVE``   — every limit of R-02/R-03 applies.

Automatic sources (kill conditions, critical reconciliation findings) may only tighten. Only an operator may
release the kill switch or loosen the state (R-04: release needs an explicit operator action).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from strategy_core.risk_rules import TradingState

__all__ = ["ChangeSource", "TradingState", "TradingStateRecord", "is_tightening"]

_STRICTNESS = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


class ChangeSource(enum.StrEnum):
    """Who changed the trading state (kept in the audit trail)."""

    OPERATOR = "operator"
    RECONCILIATION = "reconciliation"
    KILL_CONDITION = "kill_condition"


def is_tightening(current: TradingState, new: TradingState) -> bool:
    """Return True when ``new`` approves strictly less than ``current``."""
    return _STRICTNESS[new] > _STRICTNESS[current]


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingStateRecord:
    """One version of the persisted trading state, with who changed it and why."""

    state: TradingState
    kill_switch: bool
    reason: str
    changed_by: str
    source: ChangeSource
    changed_at: dt.datetime

    def __post_init__(self) -> None:
        if self.kill_switch and self.state is TradingState.ACTIVE:
            raise ValueError("expected REDUCING or HALTED with an engaged kill switch, got ACTIVE")

    def to_mirror(self) -> dict[str, str | bool]:
        """Return the JSON-able form mirrored to Redis for other processes."""
        return {
            "state": self.state.name,
            "kill_switch": self.kill_switch,
            "reason": self.reason,
            "changed_by": self.changed_by,
            "source": self.source.value,
            "changed_at": self.changed_at.isoformat(),
        }

    @classmethod
    def initial(cls, at: dt.datetime) -> TradingStateRecord:
        """Return the record of a fresh database (ACTIVE, kill switch released)."""
        return cls(
            state=TradingState.ACTIVE,
            kill_switch=False,
            reason="initial state",
            changed_by="system",
            source=ChangeSource.OPERATOR,
            changed_at=at,
        )
