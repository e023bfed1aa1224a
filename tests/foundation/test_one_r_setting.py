"""One 1R (R-01): ``risk.risk_per_trade_usd`` sizes the signals and is the RiskActor's and monitor's unit."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from actors.monitor import monitor_config_from
from actors.risk import risk_limits_from
from algogrid.engine import trading_inputs
from algogrid.settings import ConfigError, Settings, load_settings
from strategy_core import Side, compute_levels

ROOT = Path(__file__).resolve().parents[2]
YAML = ROOT / "config" / "settings.yaml"
NO_SECRETS = Path("/nonexistent/secrets.env")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("ALGOGRID_") or name in {"DATABASE_URL", "REDIS_URL"}:
            monkeypatch.delenv(name)


def _sized_qty(settings: Settings) -> Decimal:
    inputs = trading_inputs(settings, {})
    levels = compute_levels(
        Side.LONG,
        best_bid=Decimal("99.99"),
        best_ask=Decimal(100),
        atr=Decimal(2),
        config=inputs.strategy,
        instrument=inputs.instrument("BTCUSDT"),
        risk_per_trade_usd=inputs.risk_per_trade_usd,
    )
    return levels.qty


def test_the_risk_setting_changes_the_signal_size_and_the_risk_unit(monkeypatch: pytest.MonkeyPatch) -> None:
    default = load_settings(YAML, secrets_env=NO_SECRETS)
    monkeypatch.setenv("ALGOGRID_RISK__RISK_PER_TRADE_USD", "50")
    doubled = load_settings(YAML, secrets_env=NO_SECRETS)

    # sizing: R = 1.5 × ATR = 3 USD per unit, so 25 USD buys 8.333 units and 50 USD twice that
    assert _sized_qty(default) == Decimal("8.333")
    assert _sized_qty(doubled) == Decimal("16.666")
    # the risk unit: the R cap follows 1R, and the monitor counts R in the same unit
    assert risk_limits_from(default.risk).max_total_risk_r == 10
    assert risk_limits_from(doubled.risk).max_total_risk_r == 5
    monitor = monitor_config_from(doubled.risk, doubled.monitor)
    assert monitor.position_rules.r_unit_usd == Decimal(50)


def test_the_strategy_section_has_no_1r_of_its_own(tmp_path: Path) -> None:
    yaml_file = tmp_path / "settings.yaml"
    yaml_file.write_text("strategy:\n  risk_per_trade_usd: 30\n")
    with pytest.raises(ConfigError, match=r"strategy\.risk_per_trade_usd"):
        load_settings(yaml_file, secrets_env=NO_SECRETS)
