"""Pure performance metrics and kill conditions of R-04 for the MonitorActor.

- daily drawdown (R): on the R curve that starts at 0 at the UTC day start and adds each trade closed today
  (in close order) and finally the open positions' unrealised R, the largest fall from a running peak.
- drawdown % series: for daily equity values e₀…eₙ, ddᵢ = (max(e₀…eᵢ) − eᵢ)/max(e₀…eᵢ) × 100.
- MaxDD rule: halt when the last ``max_dd_days`` values of that series are all above ``max_dd_pct``.
- trade statistics over a window of closed trades' net R: WR = wins/trades, PF = Σwins/|Σlosses| (``None``
  without losses), net expectancy = mean R. A zero-R trade counts as a trade but neither win nor loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from decimal import Decimal, localcontext
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from strategy_core.config import KillThresholds
from strategy_core.numeric import DECIMAL_CONTEXT

__all__ = [
    "ClosedTrade",
    "KillAssessment",
    "KillFinding",
    "TradeStats",
    "assess_kill_conditions",
    "daily_drawdown_r",
    "drawdown_pct_series",
    "max_drawdown_breached",
    "trade_stats",
    "utc_day_start",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_HUNDRED = Decimal(100)


class ClosedTrade(BaseModel):
    """A closed trade's close time and net result in R (fees and funding included)."""

    model_config = _FROZEN

    closed_at: datetime
    pnl_r: Decimal


class TradeStats(BaseModel):
    """Win rate, profit factor and net expectancy of a window of closed trades."""

    model_config = _FROZEN

    trades: int
    wins: int
    losses: int
    win_rate: Decimal | None
    profit_factor: Decimal | None
    net_expectancy_r: Decimal | None


class KillFinding(StrEnum):
    """A kill condition (halts) or an alert/warning of R-04."""

    DAILY_DRAWDOWN = "daily_drawdown"
    MAX_DRAWDOWN_DAYS = "max_drawdown_days"
    NEGATIVE_EXPECTANCY = "negative_expectancy"
    LOW_WIN_RATE = "low_win_rate"
    LOW_PROFIT_FACTOR = "low_profit_factor"


class KillAssessment(BaseModel):
    """What the monitor should do: halt (with reasons), alert, warn."""

    model_config = _FROZEN

    halt: tuple[KillFinding, ...] = ()
    alerts: tuple[KillFinding, ...] = ()
    warnings: tuple[KillFinding, ...] = ()
    daily_drawdown_r: Decimal = Decimal(0)
    max_drawdown_pct: Decimal | None = None  # the largest fall of daily equity from its peak (None: no days)
    stats: TradeStats | None = None


def utc_day_start(now: datetime) -> datetime:
    """Return 00:00 UTC of ``now``'s UTC day (``now`` must be aware UTC)."""
    return datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)


def daily_drawdown_r(
    trades: Sequence[ClosedTrade], now: datetime, open_upnl_r: Decimal = Decimal(0)
) -> Decimal:
    """Return today's largest peak-to-trough fall of the R curve (≥ 0), open UPnL included at the end."""
    start = utc_day_start(now)
    today = sorted((t for t in trades if start <= t.closed_at <= now), key=lambda t: t.closed_at)
    with localcontext(DECIMAL_CONTEXT):
        value = peak = worst = Decimal(0)
        for step in [*(t.pnl_r for t in today), open_upnl_r]:
            value += step
            peak = max(peak, value)
            worst = max(worst, peak - value)
        return worst


def drawdown_pct_series(equity: Sequence[Decimal]) -> list[Decimal]:
    """Return each point's drawdown from its running peak in percent.

    Raises:
        ValueError: an equity value is not positive.
    """
    out: list[Decimal] = []
    peak: Decimal | None = None
    with localcontext(DECIMAL_CONTEXT):
        for value in equity:
            if value <= 0:
                raise ValueError(f"expected positive equity values, got {value}")
            peak = value if peak is None else max(peak, value)
            out.append((peak - value) / peak * _HUNDRED)
    return out


def max_drawdown_breached(series: Sequence[Decimal], threshold_pct: Decimal, days: int) -> bool:
    """Return whether the last ``days`` drawdown values are all above ``threshold_pct`` (R-04)."""
    return len(series) >= days and all(v > threshold_pct for v in series[-days:])


def trade_stats(pnls_r: Sequence[Decimal]) -> TradeStats:
    """Return WR, PF and net expectancy of the given net R results (``None`` where undefined)."""
    wins = [p for p in pnls_r if p > 0]
    losses = [p for p in pnls_r if p < 0]
    if not pnls_r:
        return TradeStats(
            trades=0, wins=0, losses=0, win_rate=None, profit_factor=None, net_expectancy_r=None
        )
    with localcontext(DECIMAL_CONTEXT):
        gross_loss = -sum(losses, Decimal(0))
        return TradeStats(
            trades=len(pnls_r),
            wins=len(wins),
            losses=len(losses),
            win_rate=Decimal(len(wins)) / Decimal(len(pnls_r)),
            profit_factor=sum(wins, Decimal(0)) / gross_loss if gross_loss > 0 else None,
            net_expectancy_r=sum(pnls_r, Decimal(0)) / Decimal(len(pnls_r)),
        )


def assess_kill_conditions(
    trades: Sequence[ClosedTrade],
    daily_equity: Sequence[Decimal],
    now: datetime,
    thresholds: KillThresholds,
    open_upnl_r: Decimal = Decimal(0),
) -> KillAssessment:
    """Evaluate every R-04 condition at ``now``.

    Args:
        trades: closed trades of the statistics window (e.g. the last 30 days), any order.
        daily_equity: account equity at each day's end, oldest first (today's current value last).
        open_upnl_r: unrealised R of the open positions.
    """
    halt: list[KillFinding] = []
    alerts: list[KillFinding] = []
    warnings: list[KillFinding] = []
    daily_dd = daily_drawdown_r(trades, now, open_upnl_r)
    if daily_dd > thresholds.daily_drawdown_limit_r:
        halt.append(KillFinding.DAILY_DRAWDOWN)
    drawdowns = drawdown_pct_series(daily_equity)
    if max_drawdown_breached(drawdowns, thresholds.max_dd_pct, thresholds.max_dd_days):
        halt.append(KillFinding.MAX_DRAWDOWN_DAYS)
    stats = trade_stats([t.pnl_r for t in trades if t.closed_at <= now])
    if stats.trades >= thresholds.min_trades_for_stats:
        if stats.net_expectancy_r is not None and stats.net_expectancy_r < thresholds.min_net_expectancy_r:
            alerts.append(KillFinding.NEGATIVE_EXPECTANCY)
        if stats.win_rate is not None and stats.win_rate < thresholds.warn_win_rate:
            warnings.append(KillFinding.LOW_WIN_RATE)
        if stats.profit_factor is not None and stats.profit_factor < thresholds.warn_profit_factor:
            warnings.append(KillFinding.LOW_PROFIT_FACTOR)
    return KillAssessment(
        halt=tuple(halt),
        alerts=tuple(alerts),
        warnings=tuple(warnings),
        daily_drawdown_r=daily_dd,
        max_drawdown_pct=max(drawdowns) if drawdowns else None,
        stats=stats,
    )
