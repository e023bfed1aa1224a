"""Pure pre-trade risk rules (R-02, R-03, R-04): one candidate against exposure, limits and state.

``check_risk`` is the single decision function the RiskActor serialises. Checks run in this order and the
first failure is the reason:

1. trading state HALTED → deny everything (``halted``);
2. a reduce-only candidate must name an open position on that symbol and side (``unknown_position``); it is
   then allowed in every other state, kill switch included, so an operator can always exit;
3. new risk: REDUCING → ``reducing``; kill switch engaged → ``kill_switch``;
4. ``max_concurrent_positions``: count + 1 ≤ limit;
5. ``max_total_risk_r`` / ``max_total_risk_usd``: Σ open + candidate ≤ limit;
6. ``max_positions_per_base``: open positions on the same base *and side* < limit (long+short hedge allowed);
7. anti-churn: a same symbol+side entry accepted < ``churn_block_s`` ago → not allowed, reason ``anti_churn``,
   ``queued_until`` = last entry + block (the signal is shown as queued, R-03).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, localcontext
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from strategy_core.config import RiskLimits
from strategy_core.exposure import ChurnBook, Exposure, base_asset
from strategy_core.models import Side, Symbol
from strategy_core.numeric import DECIMAL_CONTEXT

__all__ = ["DenyReason", "RiskCandidate", "RiskDecision", "TradingState", "check_risk"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
NonNegDecimal = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]


class TradingState(StrEnum):
    """Global trading state: ACTIVE trades; REDUCING only reduces risk; HALTED approves nothing."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


class DenyReason(StrEnum):
    """Why a candidate was not allowed."""

    HALTED = "halted"
    REDUCING = "reducing"
    KILL_SWITCH = "kill_switch"
    UNKNOWN_POSITION = "unknown_position"
    MAX_CONCURRENT_POSITIONS = "max_concurrent_positions"
    MAX_TOTAL_RISK_R = "max_total_risk_r"
    MAX_TOTAL_RISK_USD = "max_total_risk_usd"
    MAX_POSITIONS_PER_BASE = "max_positions_per_base"
    ANTI_CHURN = "anti_churn"


class RiskCandidate(BaseModel):
    """A signal or order asking for approval.

    A new-risk candidate carries its ``risk_usd``/``risk_r``; a reduce-only one (``reduces_position_id`` set)
    names the open position it reduces and adds no risk.
    """

    model_config = _FROZEN

    symbol: Symbol
    side: Side
    risk_usd: NonNegDecimal = Decimal(0)
    risk_r: NonNegDecimal = Decimal(0)
    reduces_position_id: str | None = None

    @property
    def reduce_only(self) -> bool:
        """Return whether the candidate only reduces an open position."""
        return self.reduces_position_id is not None


class RiskDecision(BaseModel):
    """``allowed`` or not, with the reason; anti-churn refusals carry ``queued_until``."""

    model_config = _FROZEN

    allowed: bool
    reason: DenyReason | None = None
    queued_until: datetime | None = None

    @property
    def queued(self) -> bool:
        """Return whether the candidate is queued by anti-churn (not a hard denial)."""
        return self.queued_until is not None


_ALLOW = RiskDecision(allowed=True)


def _deny(reason: DenyReason, queued_until: datetime | None = None) -> RiskDecision:
    return RiskDecision(allowed=False, reason=reason, queued_until=queued_until)


def _new_risk_denial(
    exposure: Exposure, candidate: RiskCandidate, limits: RiskLimits, state: TradingState, kill_switch: bool
) -> DenyReason | None:
    with localcontext(DECIMAL_CONTEXT):
        checks = (
            (state is TradingState.REDUCING, DenyReason.REDUCING),
            (kill_switch, DenyReason.KILL_SWITCH),
            (exposure.count + 1 > limits.max_concurrent_positions, DenyReason.MAX_CONCURRENT_POSITIONS),
            (exposure.total_risk_r + candidate.risk_r > limits.max_total_risk_r, DenyReason.MAX_TOTAL_RISK_R),
            (
                exposure.total_risk_usd + candidate.risk_usd > limits.max_total_risk_usd,
                DenyReason.MAX_TOTAL_RISK_USD,
            ),
            (
                exposure.count_on_side(base_asset(candidate.symbol), candidate.side)
                >= limits.max_positions_per_base,
                DenyReason.MAX_POSITIONS_PER_BASE,
            ),
        )
    return next((reason for failed, reason in checks if failed), None)


def check_risk(
    exposure: Exposure,
    candidate: RiskCandidate,
    *,
    limits: RiskLimits,
    state: TradingState,
    kill_switch: bool,
    churn: ChurnBook,
    now: datetime,
) -> RiskDecision:
    """Decide one candidate (see the module docstring for the order of checks).

    Args:
        exposure: open positions; candidate: the signal or order asking; limits: R-02/R-03 limits.
        state: global trading state; kill_switch: whether the kill switch is engaged (R-04).
        churn: last accepted entries per symbol+side; now: the decision time.
    """
    if state is TradingState.HALTED:
        return _deny(DenyReason.HALTED)
    if candidate.reduces_position_id is not None:
        position = exposure.get(candidate.reduces_position_id)
        if position is None or position.symbol != candidate.symbol or position.side is not candidate.side:
            return _deny(DenyReason.UNKNOWN_POSITION)
        return _ALLOW
    reason = _new_risk_denial(exposure, candidate, limits, state, kill_switch)
    if reason is not None:
        return _deny(reason)
    until = churn.blocked_until(candidate.symbol, candidate.side, limits.churn_block_s, now)
    return _ALLOW if until is None else _deny(DenyReason.ANTI_CHURN, queued_until=until)
