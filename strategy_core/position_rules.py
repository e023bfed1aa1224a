"""Pure per-position decisions of R-05 (break-even) and R-06 (funding exit), executed by the position side.

- Break-even: triggered once, when TP1 was hit or the mark is at least ``be_trigger_r`` × R in profit, where R
  per unit = risk_usd / qty of the position (its entry-to-initial-SL distance). With ``be_mode: full`` the
  decision asks to move the SL to entry; with ``visual`` it only reports the event.
- Funding exit: time_to_funding = next funding − now; UPnL in R = s·(mark − entry)·qty / r_unit_usd. When
  time_to_funding < ``funding_exit_window_s`` (10 min) and UPnL < ``funding_exit_max_upnl_r`` (0.3R) → alert;
  with ``auto_funding_exit`` also a reduce-only close request.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, localcontext

from pydantic import BaseModel, ConfigDict

from strategy_core.config import BreakEvenMode, PositionRules
from strategy_core.exposure import OpenPosition
from strategy_core.numeric import DECIMAL_CONTEXT

__all__ = ["BreakEvenDecision", "FundingExitDecision", "check_break_even", "check_funding_exit", "upnl_r"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class BreakEvenDecision(BaseModel):
    """Whether to emit the BE event now, and the new SL when ``be_mode`` is full."""

    model_config = _FROZEN

    triggered: bool
    move_sl_to: Decimal | None = None


class FundingExitDecision(BaseModel):
    """Whether to alert before funding, and whether to request a reduce-only close."""

    model_config = _FROZEN

    alert: bool
    close_reduce_only: bool
    time_to_funding: timedelta
    upnl_r: Decimal


def upnl_r(position: OpenPosition, mark: Decimal, r_unit_usd: Decimal) -> Decimal:
    """Return the position's unrealised PnL at ``mark`` in R (fees excluded)."""
    with localcontext(DECIMAL_CONTEXT):
        return Decimal(position.side.sign) * (mark - position.entry) * position.qty / r_unit_usd


def check_break_even(
    position: OpenPosition,
    mark: Decimal,
    tp1_hit: bool,
    rules: PositionRules,
    already_triggered: bool = False,
) -> BreakEvenDecision:
    """Decide R-05 for one position; never triggers twice for the same position."""
    if already_triggered:
        return BreakEvenDecision(triggered=False)
    with localcontext(DECIMAL_CONTEXT):
        r_usd = position.risk_usd if position.risk_usd > 0 else rules.r_unit_usd
        r_per_unit = r_usd / position.qty
        gain = Decimal(position.side.sign) * (mark - position.entry)
        hit = tp1_hit or gain >= rules.be_trigger_r * r_per_unit
    if not hit:
        return BreakEvenDecision(triggered=False)
    return BreakEvenDecision(
        triggered=True, move_sl_to=position.entry if rules.be_mode is BreakEvenMode.FULL else None
    )


def check_funding_exit(
    position: OpenPosition, mark: Decimal, next_funding_time: datetime, now: datetime, rules: PositionRules
) -> FundingExitDecision:
    """Decide R-06 for one position at ``now``."""
    left = next_funding_time - now
    r = upnl_r(position, mark, rules.r_unit_usd)
    alert = left < timedelta(seconds=rules.funding_exit_window_s) and r < rules.funding_exit_max_upnl_r
    return FundingExitDecision(
        alert=alert, close_reduce_only=alert and rules.auto_funding_exit, time_to_funding=left, upnl_r=r
    )
