"""Settings: YAML + environment, validated ranges, one clear error line, secrets hidden (O-02)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from algogrid.settings import WHITELIST, ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]
YAML = ROOT / "config" / "settings.yaml"
NO_SECRETS = Path("/nonexistent/secrets.env")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("ALGOGRID_") or name in {"DATABASE_URL", "REDIS_URL"}:
            monkeypatch.delenv(name)


def test_shipped_yaml_loads_with_the_documented_defaults() -> None:
    s = load_settings(YAML, secrets_env=NO_SECRETS)
    assert s.mode == "simulation"
    assert s.symbols == WHITELIST
    assert (s.storage.pool_min_size, s.storage.pool_max_size) == (5, 20)
    assert s.risk.risk_per_trade_usd == Decimal("25")
    assert s.risk.max_total_risk_usd == Decimal("250")
    assert s.execution.partial_fill_policy == "accept"
    assert (s.gateway.host, s.gateway.port) == ("127.0.0.1", 8080)
    assert s.logging.max_bytes == 100 * 1024 * 1024
    assert s.logging.backup_count == 7


def test_environment_overrides_yaml_with_nested_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALGOGRID_MODE", "paper")
    monkeypatch.setenv("ALGOGRID_AUTH__JWT_SECRET", "paper-mode-signing-secret-of-32-bytes-or-more")
    monkeypatch.setenv("ALGOGRID_RISK__RISK_PER_TRADE_USD", "30.5")
    monkeypatch.setenv("ALGOGRID_SYMBOLS", "btcusdt, ETHUSDT")
    monkeypatch.setenv("ALGOGRID_GATEWAY__ALLOWED_ORIGINS", '["https://ops.example.com"]')
    s = load_settings(YAML, secrets_env=NO_SECRETS)
    assert s.mode == "paper"
    assert s.risk.risk_per_trade_usd == Decimal("30.5")
    assert s.risk.churn_block_sec == 900  # untouched keys keep the YAML value
    assert s.symbols == ("BTCUSDT", "ETHUSDT")
    assert s.gateway.allowed_origins == ("https://ops.example.com",)


def test_plain_database_and_redis_urls_select_external_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:hunter2-db@db/algogrid")
    monkeypatch.setenv("REDIS_URL", "redis://:hunter2-redis@cache/0")
    s = load_settings(YAML, secrets_env=NO_SECRETS)
    assert s.storage.database_url is not None
    assert s.storage.database_url.get_secret_value() == "postgresql://app:hunter2-db@db/algogrid"
    assert "hunter2" not in repr(s)
    assert "hunter2" not in str(s.model_dump())


def test_secrets_env_file_is_read_for_development(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.env"
    secrets.write_text(
        "REDIS_URL=redis://:pw-in-file@h/1\nALGOGRID_MODE=paper\nUNRELATED=1\n"
        "ALGOGRID_AUTH__JWT_SECRET=paper-mode-signing-secret-of-32-bytes-or-more\n"
    )
    s = load_settings(YAML, secrets_env=secrets)
    assert s.mode == "paper"
    assert s.storage.redis_url is not None
    assert s.storage.redis_url.get_secret_value() == "redis://:pw-in-file@h/1"


@pytest.mark.parametrize(
    ("env", "value", "expected"),
    [
        ("ALGOGRID_RISK__RISK_PER_TRADE_USD", "-5", "config error: risk.risk_per_trade_usd = '-5': "),
        ("ALGOGRID_MODE", "yolo", "config error: mode = 'yolo': "),
        ("ALGOGRID_SYMBOLS", "BTCUSDT,PEPEUSDT", "config error: symbols = 'BTCUSDT,PEPEUSDT': "),
        ("ALGOGRID_EXECUTION__MIN_FILL_RATIO_TO_OPEN", "1.5",
         "config error: execution.min_fill_ratio_to_open = '1.5': "),
        ("ALGOGRID_GATEWAY__PORT", "70000", "config error: gateway.port = '70000': "),
        ("ALGOGRID_STORAGE__DATABASE_URL", "42", None),
    ],
)
def test_a_bad_value_gives_one_line_naming_key_and_value(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, expected: str | None
) -> None:
    monkeypatch.setenv(env, value)
    if expected is None:  # a valid string URL: accepted
        load_settings(YAML, secrets_env=NO_SECRETS)
        return
    with pytest.raises(ConfigError) as info:
        load_settings(YAML, secrets_env=NO_SECRETS)
    message = str(info.value)
    assert message.startswith(expected)
    assert "\n" not in message


def test_a_bad_secret_value_is_not_echoed(tmp_path: Path) -> None:
    yaml_file = tmp_path / "settings.yaml"
    yaml_file.write_text("storage:\n  redis_url: [not, a, string, s3cr3t-value]\n")
    with pytest.raises(ConfigError) as info:
        load_settings(yaml_file, secrets_env=NO_SECRETS)
    assert "storage.redis_url = '***'" in str(info.value)
    assert "s3cr3t" not in str(info.value)


def test_unknown_keys_and_cross_field_rules_are_refused(tmp_path: Path) -> None:
    yaml_file = tmp_path / "settings.yaml"
    yaml_file.write_text("risk:\n  risk_per_trade_usd: 300\n")
    with pytest.raises(ConfigError, match="max_total_risk_usd >= risk_per_trade_usd"):
        load_settings(yaml_file, secrets_env=NO_SECRETS)
    yaml_file.write_text("risk:\n  risk_per_trade: 30\n")
    with pytest.raises(ConfigError, match=r"risk\.risk_per_trade = 30: Extra inputs are not permitted"):
        load_settings(yaml_file, secrets_env=NO_SECRETS)
    yaml_file.write_text("ops:\n  retention:\n    klines_days: 30\n")
    with pytest.raises(ConfigError, match=r"klines_days >= 210 .* got 30: the retention pass would delete"):
        load_settings(yaml_file, secrets_env=NO_SECRETS)
    yaml_file.write_text("ops:\n  retention:\n    klines_days: 30\n    enabled: false\n")
    assert load_settings(yaml_file, secrets_env=NO_SECRETS).ops.retention.klines_days == 30
    yaml_file.write_text("mode: live\ndev:\n  fault_injection: true\n")
    with pytest.raises(ConfigError, match="fault_injection must be false in live mode"):
        load_settings(yaml_file, secrets_env=NO_SECRETS)


def test_settings_are_frozen() -> None:
    s = load_settings(YAML, secrets_env=NO_SECRETS)
    with pytest.raises(ValueError, match="frozen"):
        s.risk.risk_per_trade_usd = Decimal("1")  # type: ignore[misc]


def test_paper_and_live_refuse_a_missing_or_weak_signing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALGOGRID_MODE", "paper")
    with pytest.raises(ConfigError, match="jwt_secret must hold at least 32 bytes in paper mode"):
        load_settings(YAML, secrets_env=NO_SECRETS)
    monkeypatch.setenv("ALGOGRID_AUTH__JWT_SECRET", "short")
    with pytest.raises(ConfigError, match="jwt_secret"):
        load_settings(YAML, secrets_env=NO_SECRETS)
    assert "short" not in str(load_settings(YAML, secrets_env=NO_SECRETS, mode="simulation").auth)
