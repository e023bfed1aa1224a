"""The persisted trading state and kill switch (R-04, C-03), and the rules for changing it.

One record is the source of truth (PostgreSQL ``kill_switch_state``, mirrored to Redis): the trading state
``ACTIVE | REDUCING | HALTED``. The kill switch is *engaged* whenever the state is not ``ACTIVE``:

* ``HALTED``   — nothing is approved;
* ``REDUCING`` — only risk-reducing orders are approved, so an operator can exit positions;
* ``ACTIVE``   — every limit of R-02/R-03 applies as usual.

Automatic sources (kill conditions, critical reconciliation findings) may only make the state *more*
restrictive. Only an operator may release it or loosen it (R-04: release needs an explicit operator action).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

__all__ = ["ChangeSource", "TradingState", "TradingStateRecord", "is_tightening"]


class TradingState(enum.StrEnum):
    """What the RiskActor currently approves."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


_STRICTNESS = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


class ChangeSource(enum.StrEnum):
    """Who changed the trading state (the audit trail's ``actor`` kind)."""

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
    reason: str
    changed_by: str
    source: ChangeSource
    changed_at: dt.datetime

    @property
    def kill_switch_engaged(self) -> bool:
        """Return True when the kill switch blocks new risk (any state but ``ACTIVE``)."""
        return self.state is not TradingState.ACTIVE

    def to_mirror(self) -> dict[str, str | int | bool]:
        """Return the JSON-able form mirrored to Redis for other processes."""
        return {
            "state": self.state.value,
            "kill_switch": self.kill_switch_engaged,
            "reason": self.reason,
            "changed_by": self.changed_by,
            "source": self.source.value,
            "changed_at": self.changed_at.isoformat(),
        }

    @classmethod
    def initial(cls, at: dt.datetime) -> TradingStateRecord:
        """Return the record a fresh database starts from (ACTIVE)."""
        return cls(
            state=TradingState.ACTIVE,
            reason="initial state",
            changed_by="system",
            source=ChangeSource.OPERATOR,
            changed_at=at,
        )
