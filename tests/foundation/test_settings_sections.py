"""The rooms' sections of ``Settings``: ``risk``, ``monitor`` and ``pipeline`` (STYLE §9, O-02).

Every tunable that moved out of a deps or options object keeps its former default; each section is frozen,
refuses unknown keys and names the field of a bad value; the ``monitor:`` section cannot restate a value
whose one source is ``risk:``.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from actors import PipelineConfig
from actors.monitor import MonitorConfig, monitor_config_from
from algogrid.settings import ConfigError, load_settings
from supervision import Backoff, Intensity

ROOT = Path(__file__).resolve().parents[2]
YAML = ROOT / "config" / "settings.yaml"
NO_SECRETS = Path("/nonexistent/secrets.env")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("ALGOGRID_") or name in {"DATABASE_URL", "REDIS_URL"}:
            monkeypatch.delenv(name)


def test_the_moved_tunables_keep_their_defaults_in_the_shipped_yaml() -> None:
    s = load_settings(YAML, secrets_env=NO_SECRETS)
    risk = s.risk
    assert (risk.reservation_ttl_s, risk.rebuild_backoff_s) == (900.0, (0.5, 1.0, 2.0, 5.0))
    assert (risk.state_poll_s, risk.denial_flush_s, risk.denial_batch_max) == (2.0, 0.05, 500)
    pipeline = s.pipeline
    assert pipeline == PipelineConfig()
    assert (pipeline.backfill_bars, pipeline.indicator.history_bars) == (200, 200)
    assert (pipeline.indicator.max_buffer, pipeline.indicator.max_load_attempts) == (1_000, 5)
    assert (pipeline.feed.interval, pipeline.feed.research_every_ms, pipeline.feed.max_store_attempts) == (
        "5",
        10_000,
        3,
    )
    assert (pipeline.signal.max_store_attempts, pipeline.signal.keep_samples) == (3, 10_000)
    assert pipeline.root_supervisor.intensity == Intensity(max_restarts=5, within_seconds=10.0)
    assert pipeline.root_supervisor.backoff == Backoff(min_s=0.1, max_s=5.0, jitter=0.2)
    assert pipeline.symbols_supervisor.intensity == Intensity(max_restarts=50, within_seconds=60.0)
    assert pipeline.symbol_supervisor.intensity == Intensity(max_restarts=20, within_seconds=60.0)
    assert pipeline.symbol_supervisor.backoff == Backoff(min_s=0.05, max_s=2.0, jitter=0.2)
    assert s.monitor.model_dump() == MonitorConfig().model_dump()
    monitor = monitor_config_from(s.risk, s.monitor)
    assert (monitor.poll_interval_s, monitor.thresholds.daily_drawdown_limit_r) == (60.0, Decimal(5))
    assert monitor.position_rules.r_unit_usd == Decimal(25)


def test_nested_environment_keys_reach_the_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALGOGRID_PIPELINE__INDICATOR__HISTORY_BARS", "120")
    monkeypatch.setenv("ALGOGRID_RISK__STATE_POLL_S", "5")
    monkeypatch.setenv("ALGOGRID_MONITOR__STATS_WINDOW_DAYS", "14")
    s = load_settings(YAML, secrets_env=NO_SECRETS)
    assert s.pipeline.indicator.history_bars == 120
    assert s.pipeline.indicator.max_buffer == 1_000  # untouched keys keep the YAML value
    assert s.risk.state_poll_s == 5.0
    assert s.monitor.stats_window_days == 14


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            "pipeline:\n  symbol_supervisor: {backoff_min_s: 3, backoff_max_s: 1}\n",
            "pipeline.symbol_supervisor = {...}: Value error, expected backoff_max_s >= backoff_min_s",
        ),
        ("pipeline:\n  feed: {max_store_attempts: 0}\n", "pipeline.feed.max_store_attempts = 0"),
        ("risk:\n  rebuild_backoff_s: []\n", "config error: risk.rebuild_backoff_s = []"),
        ("risk:\n  denial_batch_max: 0\n", "config error: risk.denial_batch_max = 0"),
        ("pipeline:\n  indicator: {history: 200}\n", "config error: pipeline.indicator.history = 200"),
        (
            "monitor:\n  poll_interval_s: 5\n",
            "expected monitor.poll_interval_s to be set in the risk section (one source)",
        ),
        (
            "monitor:\n  position_rules: {r_unit_usd: 10}\n",
            "expected monitor.position_rules.r_unit_usd to be set in the risk section (one source)",
        ),
    ],
)
def test_a_bad_section_value_fails_naming_the_field(tmp_path: Path, yaml_text: str, message: str) -> None:
    yaml_file = tmp_path / "settings.yaml"
    yaml_file.write_text(yaml_text)
    with pytest.raises(ConfigError) as caught:
        load_settings(yaml_file, secrets_env=NO_SECRETS)
    assert message in str(caught.value)


def test_the_sections_are_frozen() -> None:
    s = load_settings(YAML, secrets_env=NO_SECRETS)
    with pytest.raises(ValueError, match="frozen"):
        s.pipeline.indicator.history_bars = 1  # type: ignore[misc]
