"""The monitor room's config: the ``monitor:`` settings section and what it takes from ``risk:`` (R-04..R-06).

``Settings.monitor`` holds the monitor's own tunables (the stats window, the equity series, the starting
equity, the R-04 thresholds other than the daily limit, the R-05/R-06 position rules other than the mode
switches). The poll period (``risk.kill_poll_seconds``), the daily drawdown limit
(``risk.daily_drawdown_limit_r``), ``be_mode``, ``auto_funding_exit`` and 1R (``risk.risk_per_trade_usd``)
have one source, the ``risk:`` section: ``monitor_config_from`` lays them over the ``monitor:`` section, and
``Settings`` refuses a ``monitor:`` section that sets them itself.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from actors.risk import RiskConfig
from strategy_core.config import BreakEvenMode, KillThresholds, PositionRules

__all__ = ["FROM_RISK", "MonitorConfig", "monitor_config_from"]

FROM_RISK: dict[str, frozenset[str]] = {
    "": frozenset({"poll_interval_s"}),
    "thresholds": frozenset({"daily_drawdown_limit_r"}),
    "position_rules": frozenset({"be_mode", "auto_funding_exit", "r_unit_usd"}),
}
"""Fields of ``MonitorConfig`` (by nested section) whose one source is the ``risk:`` section."""


class MonitorConfig(BaseModel):
    """How the monitor polls and what it assesses (R-04..R-06)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    poll_interval_s: float = Field(default=60.0, gt=0, description="Seconds between ticks (R-04).")
    schedule_ticks: bool = Field(default=True, description="Schedule ticks on the clock (else tell Tick).")
    stats_window_days: int = Field(default=30, ge=1, description="Closed trades assessed for WR/PF/E.")
    equity_days: int = Field(default=10, ge=1, description="Daily equity values read for the MaxDD rule.")
    starting_equity_usd: Decimal = Field(default=Decimal(1000), gt=0, description="Equity before any trade.")
    thresholds: KillThresholds = KillThresholds()
    position_rules: PositionRules = PositionRules()

    def set_from_risk(self) -> list[str]:
        """Return the dotted names of fields set here whose one source is the ``risk:`` section."""
        found = [f"monitor.{name}" for name in sorted(FROM_RISK[""] & self.model_fields_set)]
        for section in ("thresholds", "position_rules"):
            model: BaseModel = getattr(self, section)
            found += [
                f"monitor.{section}.{name}" for name in sorted(FROM_RISK[section] & model.model_fields_set)
            ]
        return found


def monitor_config_from(
    risk: RiskConfig, monitor: MonitorConfig | None = None, **overrides: Any
) -> MonitorConfig:
    """Return the MonitorActor's config: ``monitor`` (default values) with the ``risk:`` fields laid over it.

    ``overrides`` (top-level fields) win over both, for tests.
    """
    base = monitor or MonitorConfig()
    values: dict[str, Any] = {
        "poll_interval_s": float(risk.kill_poll_seconds),
        "thresholds": base.thresholds.model_copy(
            update={"daily_drawdown_limit_r": risk.daily_drawdown_limit_r}
        ),
        "position_rules": base.position_rules.model_copy(
            update={
                "be_mode": BreakEvenMode(risk.be_mode),
                "auto_funding_exit": risk.auto_funding_exit,
                "r_unit_usd": risk.risk_per_trade_usd,
            }
        ),
    }
    values.update(overrides)
    return base.model_copy(update=values)
