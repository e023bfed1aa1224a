"""Forward validation (S-07, Q-04): the metrics of simulated trades, their verdict and the live-trading gate.

During the forward phase signals are generated on the live market and their trades are simulated by the fill
model (no order is sent). After ≥ ``min_days`` calendar days the phase is judged on WR, PF, MaxDD, net
expectancy and the gap between actual and modelled slippage. **Live trading may be enabled only after a
passed phase** (``live_trading_gate``): start-up in live mode and every enabling of trading ask it.

- actual slippage of a forward trade: the next bar's open against the signal's entry (what a click a bar
  later would have paid), sign-adjusted as E-05 (positive: it cost the trader);
- MaxDD %: on the equity curve starting at ``starting_equity_usd`` plus each trade's net PnL in close order;
- WR = wins/trades, PF = Σ wins/|Σ losses|, expectancy = mean R (as ``trade_stats``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, localcontext
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from strategy_core.fill_model import SimulatedTrade
from strategy_core.models import Side
from strategy_core.numeric import DECIMAL_CONTEXT
from strategy_core.performance import trade_stats

__all__ = [
    "ForwardMetrics",
    "ForwardStatus",
    "ForwardThresholds",
    "ForwardVerdict",
    "GateDecision",
    "forward_metrics",
    "judge_forward",
    "live_trading_gate",
    "max_drawdown_pct",
    "slippage_bps_of",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_DAY_S = 86_400


class ForwardStatus(StrEnum):
    """A forward phase's status: running until judged, then passed or failed (or aborted by an operator)."""

    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    ABORTED = "aborted"


class ForwardThresholds(BaseModel):
    """What a forward phase must reach to pass (S-07); defaults are R-04's warning levels."""

    model_config = _FROZEN

    min_days: int = Field(default=30, ge=1, description="Calendar days the phase must run at least.")
    min_trades: int = Field(default=30, ge=1, description="Simulated trades needed for a verdict.")
    min_win_rate: Decimal = Field(default=Decimal("0.55"), ge=0, le=1)
    min_profit_factor: Decimal = Field(default=Decimal("1.5"), gt=0)
    max_drawdown_pct: Decimal = Field(default=Decimal("25"), gt=0)
    min_net_expectancy_r: Decimal = Field(default=Decimal("0"))
    max_slippage_gap_bps: Decimal = Field(
        default=Decimal("20"), ge=0, description="Mean actual − mean modelled slippage at most this."
    )


class ForwardMetrics(BaseModel):
    """The metrics of a forward phase so far."""

    model_config = _FROZEN

    days: int
    trades: int
    wins: int
    win_rate: Decimal | None
    profit_factor: Decimal | None
    net_expectancy_r: Decimal | None
    max_drawdown_pct: Decimal
    modelled_slippage_bps: Decimal | None
    actual_slippage_bps: Decimal | None


class ForwardVerdict(BaseModel):
    """Whether the phase passed, and every threshold it missed (sentences)."""

    model_config = _FROZEN

    complete: bool
    passed: bool
    reasons: tuple[str, ...]


class GateDecision(BaseModel):
    """The live-trading gate's answer: allowed, or refused with the reason (S-07)."""

    model_config = _FROZEN

    allowed: bool
    reason: str


def slippage_bps_of(side: Side, requested: Decimal, paid: Decimal) -> Decimal:
    """Return the slippage of paying ``paid`` for ``requested`` at entry, in bps (positive: a cost)."""
    with localcontext(DECIMAL_CONTEXT):
        return Decimal(side.sign) * (paid - requested) / requested * 10_000


def max_drawdown_pct(pnls_usd: Sequence[Decimal], starting_equity_usd: Decimal) -> Decimal:
    """Return the largest fall from a running peak of the equity curve, in percent of that peak."""
    with localcontext(DECIMAL_CONTEXT):
        equity = peak = starting_equity_usd
        worst = Decimal(0)
        for pnl in pnls_usd:
            equity += pnl
            peak = max(peak, equity)
            if peak > 0:
                worst = max(worst, (peak - equity) / peak * 100)
        return worst


def _mean(values: Sequence[Decimal]) -> Decimal | None:
    if not values:
        return None
    with localcontext(DECIMAL_CONTEXT):
        return sum(values, Decimal(0)) / len(values)


def forward_metrics(
    trades: Sequence[SimulatedTrade],
    actual_slippage_bps: Sequence[Decimal],
    *,
    started_at: datetime,
    now: datetime,
    starting_equity_usd: Decimal,
) -> ForwardMetrics:
    """Return the metrics of the phase's simulated trades at ``now`` (days are whole calendar days run)."""
    ordered = sorted(trades, key=lambda t: (t.closed_at, t.signal_id))
    stats = trade_stats([t.pnl_r for t in ordered])
    return ForwardMetrics(
        days=max(0, int((now - started_at).total_seconds()) // _DAY_S),
        trades=stats.trades,
        wins=stats.wins,
        win_rate=stats.win_rate,
        profit_factor=stats.profit_factor,
        net_expectancy_r=stats.net_expectancy_r,
        max_drawdown_pct=max_drawdown_pct([t.pnl_usd for t in ordered], starting_equity_usd),
        modelled_slippage_bps=_mean([t.modelled_slippage_bps for t in ordered]),
        actual_slippage_bps=_mean(list(actual_slippage_bps)),
    )


def judge_forward(metrics: ForwardMetrics, thresholds: ForwardThresholds) -> ForwardVerdict:
    """Return the verdict: complete after ``min_days``; passed when complete and every threshold holds."""
    t = thresholds
    reasons: list[str] = []
    if metrics.days < t.min_days:
        reasons.append(f"the phase ran {metrics.days} of {t.min_days} days")
    if metrics.trades < t.min_trades:
        reasons.append(f"expected at least {t.min_trades} simulated trades, got {metrics.trades}")
    if metrics.win_rate is None or metrics.win_rate < t.min_win_rate:
        reasons.append(f"win rate {metrics.win_rate} is below {t.min_win_rate}")
    if metrics.profit_factor is not None and metrics.profit_factor < t.min_profit_factor:
        reasons.append(f"profit factor {metrics.profit_factor:.4f} is below {t.min_profit_factor}")
    if metrics.max_drawdown_pct > t.max_drawdown_pct:
        reasons.append(f"max drawdown {metrics.max_drawdown_pct:.2f} % is above {t.max_drawdown_pct} %")
    if metrics.net_expectancy_r is None or metrics.net_expectancy_r < t.min_net_expectancy_r:
        reasons.append(f"net expectancy {metrics.net_expectancy_r} R is below {t.min_net_expectancy_r} R")
    if metrics.actual_slippage_bps is not None and metrics.modelled_slippage_bps is not None:
        gap = metrics.actual_slippage_bps - metrics.modelled_slippage_bps
        if gap > t.max_slippage_gap_bps:
            reasons.append(f"actual slippage exceeds the model by {gap:.2f} bps (> {t.max_slippage_gap_bps})")
    complete = metrics.days >= t.min_days
    return ForwardVerdict(complete=complete, passed=complete and not reasons, reasons=tuple(reasons))


def live_trading_gate(latest_status: ForwardStatus | None, *, phase_id: str | None = None) -> GateDecision:
    """Return whether live trading may be enabled given the latest forward phase's status (S-07)."""
    if latest_status is ForwardStatus.PASSED:
        return GateDecision(allowed=True, reason=f"forward phase {phase_id} passed")
    if latest_status is None:
        return GateDecision(
            allowed=False, reason="live trading needs a passed forward phase (S-07); none has run"
        )
    return GateDecision(
        allowed=False,
        reason=f"live trading needs a passed forward phase (S-07); the latest ({phase_id}) is "
        f"{latest_status.value}",
    )
