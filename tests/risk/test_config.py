"""The ``risk:`` settings section maps onto the RiskActor's limits and the MonitorActor's config."""

from __future__ import annotations

from decimal import Decimal

from actors.monitor import monitor_config_from
from actors.risk import RiskConfig, risk_limits_from
from strategy_core.config import BreakEvenMode


def test_the_settings_section_maps_onto_the_limits_and_the_monitor() -> None:
    settings = RiskConfig(be_mode="full", auto_funding_exit=True, max_total_risk_usd=Decimal(200))
    limits = risk_limits_from(settings)
    assert (limits.max_total_risk_usd, limits.max_total_risk_r, limits.churn_block_s) == (200, 8, 900)
    assert limits.max_concurrent_positions == 10
    monitor = monitor_config_from(settings, starting_equity_usd=Decimal(5000))
    assert monitor.poll_interval_s == 60
    assert monitor.thresholds.daily_drawdown_limit_r == 5
    assert monitor.position_rules.be_mode is BreakEvenMode.FULL
    assert monitor.position_rules.auto_funding_exit
    assert monitor.position_rules.r_unit_usd == 25
    assert monitor.starting_equity_usd == 5000
