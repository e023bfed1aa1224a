"""The composition root's own sections of ``Settings``: ``engine`` and the gateway's one ask timeout."""

from __future__ import annotations

from pathlib import Path

import pytest

from algogrid.engine_config import EngineConfig
from algogrid.settings import ConfigError, load_settings
from gateway import GatewayConfig

YAML = Path(__file__).resolve().parents[2] / "config" / "settings.yaml"
NO_SECRETS = Path("/nonexistent/secrets.env")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("ALGOGRID_") or name in {"DATABASE_URL", "REDIS_URL"}:
            monkeypatch.delenv(name)


def test_the_shipped_yaml_states_the_defaults_of_the_engine_and_gateway_sections() -> None:
    settings = load_settings(YAML, secrets_env=NO_SECRETS)
    assert settings.engine == EngineConfig()
    assert settings.gateway == GatewayConfig(host="127.0.0.1", port=8080)
    assert settings.gateway.ask_timeout_s == 2.0


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        ("ALGOGRID_GATEWAY__ASK_TIMEOUT_S", "0", "gateway.ask_timeout_s"),
        ("ALGOGRID_ENGINE__WORK_QUEUE_SIZE", "0", "engine.work_queue_size"),
        ("ALGOGRID_ENGINE__STOP_TIMEOUT_S", "-1", "engine.stop_timeout_s"),
    ],
)
def test_a_bad_value_fails_at_start_up_naming_the_field(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, field: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        load_settings(YAML, secrets_env=NO_SECRETS)
