"""Map the ``risk:`` settings (``actors.config.RiskConfig``) onto the risk room's configs (R-01..R-06).

The settings keep the spec's operator vocabulary (``churn_block_sec``, ``kill_poll_seconds``); the pure rules
use ``strategy_core``'s models. ``max_total_risk_r`` is not a setting of its own: it follows from the USD cap
and 1R (``max_total_risk_usd / risk_per_trade_usd``), so the two totals never disagree.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

from strategy_core.config import BreakEvenMode, KillThresholds, PositionRules, RiskLimits

from .monitor import MonitorConfig

__all__ = ["RiskSettings", "monitor_config_from", "risk_limits_from"]


class RiskSettings(Protocol):
    """The fields of the ``risk:`` settings section this module reads."""

    @property
    def be_mode(self) -> str: ...
    @property
    def auto_funding_exit(self) -> bool: ...
    @property
    def risk_per_trade_usd(self) -> Decimal: ...
    @property
    def max_total_risk_usd(self) -> Decimal: ...
    @property
    def max_concurrent_positions(self) -> int: ...
    @property
    def max_positions_per_base(self) -> int: ...
    @property
    def churn_block_sec(self) -> int: ...
    @property
    def clear_churn_on_close(self) -> bool: ...
    @property
    def daily_drawdown_limit_r(self) -> Decimal: ...
    @property
    def kill_poll_seconds(self) -> int: ...


def risk_limits_from(settings: RiskSettings) -> RiskLimits:
    """Return the RiskActor's limits (R-02, R-03) for the ``risk:`` settings."""
    return RiskLimits(
        max_concurrent_positions=settings.max_concurrent_positions,
        max_total_risk_r=settings.max_total_risk_usd / settings.risk_per_trade_usd,
        max_total_risk_usd=settings.max_total_risk_usd,
        max_positions_per_base=settings.max_positions_per_base,
        churn_block_s=settings.churn_block_sec,
        clear_churn_on_close=settings.clear_churn_on_close,
    )


def monitor_config_from(settings: RiskSettings, **overrides: Any) -> MonitorConfig:
    """Return the MonitorActor's config (R-04..R-06) for the ``risk:`` settings; ``overrides`` win."""
    values: dict[str, Any] = {
        "poll_interval_s": float(settings.kill_poll_seconds),
        "thresholds": KillThresholds(daily_drawdown_limit_r=settings.daily_drawdown_limit_r),
        "position_rules": PositionRules(
            be_mode=BreakEvenMode(settings.be_mode),
            auto_funding_exit=settings.auto_funding_exit,
            r_unit_usd=settings.risk_per_trade_usd,
        ),
    }
    values.update(overrides)
    return MonitorConfig(**values)
