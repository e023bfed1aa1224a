"""The one settings object: ``config/settings.yaml`` + environment, composed from each room's frozen config.

Precedence (highest first): keyword arguments, ``ALGOGRID_*`` environment variables (nested with ``__``, e.g.
``ALGOGRID_RISK__RISK_PER_TRADE_USD=30``), plain ``DATABASE_URL`` / ``REDIS_URL``, ``config/secrets.env``
(dev only, U-09), the YAML file, then the defaults in the models. Validation failures become one
:class:`ConfigError` line naming the key and the value (O-02); secrets are never echoed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.exceptions import SettingsError

from actors import DevConfig, ExecutionConfig, PipelineConfig
from actors.monitor import MonitorConfig
from actors.reconciler import ReconcilerConfig
from actors.risk import RiskConfig, WebhookConfig
from algogrid.calibration_job import CalibrationSettings
from algogrid.engine_config import EngineConfig
from algogrid.forward_gate import ForwardConfig
from exchange.config import ExchangeConfig
from exchange.simulator.config import SimulatorConfig
from gateway.auth import AuthConfig
from gateway.config import GatewayConfig
from ops.config import OpsConfig
from storage import StorageConfig
from strategy_core.config import AVI5Config

__all__ = [
    "DEFAULT_SETTINGS_PATH",
    "SIMULATION_DEFAULTS",
    "WHITELIST",
    "ConfigError",
    "LoggingConfig",
    "Mode",
    "Settings",
    "load_settings",
]

DEFAULT_SETTINGS_PATH = Path("config/settings.yaml")
DEFAULT_SECRETS_PATH = Path("config/secrets.env")

# P-08 / Q-08: the only symbols the system may trade; changed through configuration/migration only.
WHITELIST: tuple[str, ...] = (
    "BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "BNBUSDT", "DOGEUSDT", "TONUSDT", "LINKUSDT", "LTCUSDT",
    "TRXUSDT", "ADAUSDT", "AVAXUSDT", "OPUSDT", "ARBUSDT", "MATICUSDT",
)

Mode = Literal["simulation", "paper", "live"]

# The simulator as ``algogrid run`` uses it by default: 60 exchange seconds per real second (a 5m bar
# every 5 s) and a market step every 100 ms, i.e. 6 exchange seconds between book updates — inside AVI-5's
# ``max_book_age_s`` (10 s), so ``book_fresh`` can hold (S-02; docs/architecture.md).
SIMULATION_DEFAULTS = SimulatorConfig(speed=60.0, book_interval_ms=100)

_SECRET_HINTS = ("secret", "password", "token", "url", "key", "dsn", "credential")

_yaml_path: ContextVar[Path | None] = ContextVar("algogrid_settings_yaml", default=None)
_secrets_path: ContextVar[Path | None] = ContextVar("algogrid_secrets_env", default=None)


class ConfigError(Exception):
    """Settings are invalid; ``str(error)`` is one line naming the key and the value."""


class LoggingConfig(BaseModel):
    """Structured logging (O-01): level, JSON lines on stdout and a rotating file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_stdout: bool = True
    file: Path | None = Path("var/log/algogrid.jsonl")
    max_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)
    backup_count: int = Field(default=7, ge=0, le=100)


class _YamlSource(PydanticBaseSettingsSource):
    """Read the YAML settings file chosen by :func:`load_settings`."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ returns the whole mapping

    def __call__(self) -> dict[str, Any]:
        path = _yaml_path.get()
        if path is None or not path.exists():
            return {}
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config error: {path} is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"config error: {path} must hold a mapping, got {type(data).__name__}")
        return data


class _PlainUrlSource(PydanticBaseSettingsSource):
    """Map the conventional ``DATABASE_URL`` / ``REDIS_URL`` variables onto ``storage.*``."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        secrets = _secrets_path.get()
        values: dict[str, str | None] = {}
        if secrets is not None and secrets.exists():
            values.update(dotenv_values(secrets))
        values.update(os.environ)
        storage = {
            name: values[var]
            for name, var in (("database_url", "DATABASE_URL"), ("redis_url", "REDIS_URL"))
            if values.get(var)
        }
        return {"storage": storage} if storage else {}


class _SecretsFileSource(EnvSettingsSource):
    """Read ``ALGOGRID_*`` variables from ``config/secrets.env`` (dev only, U-09); other keys are ignored."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        self._path = path
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {
            key.lower(): value
            for key, value in dotenv_values(self._path).items()
            if value is not None and key.upper().startswith("ALGOGRID_")
        }


class Settings(BaseSettings):
    """Everything configurable, validated at start-up (O-02)."""

    model_config = SettingsConfigDict(
        env_prefix="ALGOGRID_", env_nested_delimiter="__", frozen=True, extra="forbid", case_sensitive=False
    )

    mode: Mode = "simulation"
    symbols: Annotated[tuple[str, ...], NoDecode] = WHITELIST
    research_mode: bool = False
    storage: StorageConfig = StorageConfig()
    gateway: GatewayConfig = GatewayConfig()
    auth: AuthConfig = AuthConfig()
    engine: EngineConfig = EngineConfig()
    execution: ExecutionConfig = ExecutionConfig()
    risk: RiskConfig = RiskConfig()
    monitor: MonitorConfig = MonitorConfig()
    reconciler: ReconcilerConfig = ReconcilerConfig()
    pipeline: PipelineConfig = PipelineConfig()
    dev: DevConfig = DevConfig()
    logging: LoggingConfig = LoggingConfig()
    exchange: ExchangeConfig = ExchangeConfig()
    simulator: SimulatorConfig = SIMULATION_DEFAULTS
    strategy: AVI5Config = AVI5Config()
    webhooks: WebhookConfig = WebhookConfig()
    ops: OpsConfig = OpsConfig()
    calibration: CalibrationSettings = CalibrationSettings()
    forward: ForwardConfig = ForwardConfig()

    @field_validator("symbols", mode="before")
    @classmethod
    def _split_symbols(cls, value: Any) -> Any:
        if isinstance(value, str):  # env: ALGOGRID_SYMBOLS=BTCUSDT,ETHUSDT
            return tuple(s.strip().upper() for s in value.split(",") if s.strip())
        return value

    @field_validator("simulator", mode="before")
    @classmethod
    def _simulation_defaults(cls, value: Any) -> Any:
        # A partial ``simulator:`` section keeps the run defaults for the keys it does not set.
        if isinstance(value, Mapping):
            defaults = SIMULATION_DEFAULTS
            return {"speed": defaults.speed, "book_interval_ms": defaults.book_interval_ms, **value}
        return value

    @field_validator("symbols")
    @classmethod
    def _check_whitelist(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("expected at least one symbol")
        unknown = [s for s in value if s not in WHITELIST]
        if unknown:
            raise ValueError(f"expected symbols from the P-08 whitelist, got {', '.join(unknown)}")
        if len(set(value)) != len(value):
            raise ValueError("expected each symbol once")
        return value

    @model_validator(mode="after")
    def _check_mode(self) -> Settings:
        if self.mode == "live" and self.dev.fault_injection:
            raise ValueError("dev.fault_injection must be false in live mode")
        problems = self.auth.problems_for_mode(self.mode)
        if problems:
            raise ValueError(problems[0])
        from_risk = self.monitor.set_from_risk()
        if from_risk:
            raise ValueError(f"expected {', '.join(from_risk)} to be set in the risk section (one source)")
        retention, window = self.ops.retention, self.calibration.model.window_days
        if retention.enabled and retention.klines_days < window:
            raise ValueError(
                f"expected ops.retention.klines_days >= {window} (the train + out-of-sample days a "
                f"calibration reads), got {retention.klines_days}: the retention pass would delete the bars "
                "it needs"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Order the sources: init > env > DATABASE_URL/REDIS_URL > secrets.env > YAML."""
        secrets = _secrets_path.get()
        sources: list[PydanticBaseSettingsSource] = [
            init_settings,
            EnvSettingsSource(settings_cls),
            _PlainUrlSource(settings_cls),
        ]
        if secrets is not None and secrets.exists():
            sources.append(_SecretsFileSource(settings_cls, secrets))
        sources.append(_YamlSource(settings_cls))
        return tuple(sources)


def _describe(error: ErrorDetails) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "settings"
    if any(hint in key.lower() for hint in _SECRET_HINTS):
        shown = "'***'"
    else:
        value = error.get("input")
        shown = repr(value) if not isinstance(value, dict) else "{...}"
    return f"config error: {key} = {shown}: {error['msg']}"


def load_settings(
    path: Path | None = None, *, secrets_env: Path | None = None, **overrides: Any
) -> Settings:
    """Load and validate settings from ``path`` (default ``config/settings.yaml``) and the environment.

    Raises:
        ConfigError: one line such as ``config error: risk.risk_per_trade_usd = '-5': Input should be
            greater than 0``.
    """
    yaml_token = _yaml_path.set(path if path is not None else DEFAULT_SETTINGS_PATH)
    secrets_token = _secrets_path.set(secrets_env if secrets_env is not None else DEFAULT_SECRETS_PATH)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc.errors()[0])) from None
    except SettingsError as exc:  # an env value that is not valid JSON for a complex field
        raise ConfigError(f"config error: {exc}") from None
    finally:
        _yaml_path.reset(yaml_token)
        _secrets_path.reset(secrets_token)
