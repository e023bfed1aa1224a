"""Messages of the MonitorActor (``root/monitor``, R-04, R-05, R-06).

* in: ``Tick`` (poll now; the actor also schedules it every ``poll_interval_s`` on its clock),
  ``PositionMarked`` (position side → monitor: a position with its latest mark and next funding time),
  ``PositionClosed`` (from ``actors.risk``: stop watching), ``GetMonitorSnapshot`` (→ ``MonitorSnapshot``);
* replies from the trio side: ``PerformanceLoaded`` / ``PerformanceLoadFailed``, ``HaltsLoaded`` (start);
* out, to the RiskActor: ``KillConditionTriggered`` (from ``actors.risk``);
* out, decisions for the position side (executed there): ``BreakEvenReached``, ``MoveStopToEntry``
  (``be_mode: full``), ``FundingExitWarning``, ``ReduceOnlyCloseRequested`` (``auto_funding_exit``);
* out, to the UI (``MonitorDeps.ui``): ``MetricsUpdated`` after an assessment whose figures changed (SSE
  ``metrics``, G-03).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from strategy_core.exposure import OpenPosition
from strategy_core.models import Side
from strategy_core.performance import ClosedTrade, KillAssessment
from supervision import Ask

__all__ = [
    "BreakEvenReached",
    "FundingExitWarning",
    "GetMonitorSnapshot",
    "HaltsLoaded",
    "MetricsUpdated",
    "MonitorSnapshot",
    "MoveStopToEntry",
    "PerformanceLoadFailed",
    "PerformanceLoaded",
    "PositionMarked",
    "ReduceOnlyCloseRequested",
    "Tick",
]


@dataclass(frozen=True, slots=True)
class Tick:
    """Command: evaluate every condition now (R-04 polls every 60 s by default)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionMarked:
    """Event (position side → monitor): an open position, its mark, TP1 state and next funding time."""

    position: OpenPosition
    mark: Decimal
    tp1_hit: bool = False
    next_funding_time: dt.datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PerformanceLoaded:
    """Reply (trio → monitor): closed trades of the stats window and the daily realised equity."""

    trades: tuple[ClosedTrade, ...]
    daily_equity: tuple[Decimal, ...]
    at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class PerformanceLoadFailed:
    """Reply (trio → monitor): the read failed; the next tick tries again."""

    error: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HaltsLoaded:
    """Reply (trio → monitor, at start): kill conditions that already halted trading on UTC ``day``."""

    conditions: tuple[str, ...]
    day: dt.date


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakEvenReached:
    """Event (R-05): TP1 was hit or the mark is ≥ entry + 1R; emitted once per position."""

    position_id: str
    symbol: str
    side: Side
    mark: Decimal
    at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class MoveStopToEntry:
    """Decision (R-05, ``be_mode: full``): move the position's stop loss to ``new_sl`` (its entry)."""

    position_id: str
    symbol: str
    new_sl: Decimal
    at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class FundingExitWarning:
    """Event (R-06): funding is less than the window away and the position's UPnL is below the threshold."""

    position_id: str
    symbol: str
    time_to_funding_s: float
    upnl_r: Decimal
    at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ReduceOnlyCloseRequested:
    """Decision (R-06, ``auto_funding_exit``): close the position with reduce-only IOC orders."""

    position_id: str
    symbol: str
    side: Side
    reason: str
    at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsUpdated:
    """Event (monitor → UI, SSE ``metrics``, G-03): an assessment's figures, sent when they changed (R-04).

    The statistics cover the ``stats_window_days`` window of closed trades; ``None``: not defined yet (no
    trade, no loss, no equity day). ``at`` is the assessment's market time and not one of the figures.
    """

    at: dt.datetime
    trades: int
    win_rate: Decimal | None
    profit_factor: Decimal | None
    net_expectancy_r: Decimal | None
    daily_drawdown_r: Decimal
    max_drawdown_pct: Decimal | None

    @classmethod
    def of(cls, assessment: KillAssessment, at: dt.datetime) -> MetricsUpdated:
        """Return the figures of ``assessment``."""
        stats = assessment.stats
        return cls(
            at=at,
            trades=0 if stats is None else stats.trades,
            win_rate=None if stats is None else stats.win_rate,
            profit_factor=None if stats is None else stats.profit_factor,
            net_expectancy_r=None if stats is None else stats.net_expectancy_r,
            daily_drawdown_r=assessment.daily_drawdown_r,
            max_drawdown_pct=assessment.max_drawdown_pct,
        )

    def figures(self) -> tuple[object, ...]:
        """Return every figure but ``at`` (two snapshots with equal figures announce nothing new)."""
        return (
            self.trades,
            self.win_rate,
            self.profit_factor,
            self.net_expectancy_r,
            self.daily_drawdown_r,
            self.max_drawdown_pct,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitorSnapshot:
    """What the monitor last saw and decided (ops, tests)."""

    last_tick_at: dt.datetime | None
    last_assessment: KillAssessment | None
    watched: tuple[str, ...]
    break_even_done: tuple[str, ...]
    fired: tuple[tuple[str, dt.date], ...] = ()  # (finding, UTC day it last fired)


@dataclass(frozen=True, slots=True, kw_only=True)
class GetMonitorSnapshot(Ask[MonitorSnapshot]):
    """Command: return the monitor's state (``MonitorSnapshot``)."""
