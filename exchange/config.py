"""Frozen configuration of the exchange room (STYLE §9)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

__all__ = ["Credentials", "ExchangeConfig", "ExchangeMode"]

ExchangeMode = Literal["testnet", "mainnet"]

_PRESETS: dict[str, tuple[str, str, str]] = {
    "testnet": (
        "https://api-testnet.bybit.com",
        "wss://stream-testnet.bybit.com/v5/public/linear",
        "wss://stream-testnet.bybit.com/v5/private",
    ),
    "mainnet": (
        "https://api.bybit.com",
        "wss://stream.bybit.com/v5/public/linear",
        "wss://stream.bybit.com/v5/private",
    ),
}


class Credentials(BaseModel):
    """An API key pair; the secret never appears in ``repr`` or logs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key: str = Field(min_length=1)
    api_secret: SecretStr


class ExchangeConfig(BaseModel):
    """Endpoints, timeouts and WS session tuning for one Bybit venue (D-03, E-07)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rest_url: str = "https://api-testnet.bybit.com"
    ws_public_url: str = "wss://stream-testnet.bybit.com/v5/public/linear"
    ws_private_url: str = "wss://stream-testnet.bybit.com/v5/private"
    category: str = "linear"
    recv_window_ms: int = Field(default=5000, gt=0)
    connect_timeout_s: float = Field(default=10.0, gt=0)
    request_timeout_s: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=5, ge=1, le=5)
    retry_backoff_min_s: float = Field(default=0.2, gt=0)
    retry_backoff_max_s: float = Field(default=5.0, gt=0)
    ping_interval_s: float = Field(default=20.0, gt=0)
    silence_timeout_s: float = Field(default=5.0, gt=0)
    pong_timeout_s: float = Field(default=10.0, gt=0)
    reconnect_backoff_min_s: float = Field(default=0.2, gt=0)
    reconnect_backoff_max_s: float = Field(default=3.0, gt=0)
    rest_fallback_interval_s: float = Field(default=1.0, gt=0)
    resync_min_interval_s: float = Field(default=1.0, ge=0)
    backfill_margin_ms: int = Field(default=5000, ge=0)
    ws_auth_expiry_ms: int = Field(default=10000, gt=0)
    orderbook_depth: int = Field(default=50, gt=0)
    ws_receive_buffer_bytes: int = Field(default=65536, ge=4096)
    # longest run of message handling in the trio thread before the reader yields to other tasks
    ws_slice_ms: float = Field(default=1.0, gt=0)
    ws_max_message_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    kline_interval: str = "5"
    outcome_query_attempts: int = Field(default=3, ge=1)
    rate_limit_prefix: str = Field(default="algogrid:ratelimit", min_length=1)
    rate_limit_wait_s: float = Field(default=5.0, ge=0)
    # The account's API key pair (paper/live: ``ALGOGRID_EXCHANGE__CREDENTIALS__API_KEY`` / ``__API_SECRET``
    # in the environment or config/secrets.env). Without it the engine runs no private session and cannot
    # trade; in simulation mode the engine creates an account in the simulator and ignores this.
    credentials: Credentials | None = None

    @model_validator(mode="after")
    def _check_ranges(self) -> ExchangeConfig:
        if self.retry_backoff_min_s > self.retry_backoff_max_s:
            raise ValueError("retry_backoff_min_s must not exceed retry_backoff_max_s")
        if self.reconnect_backoff_min_s > self.reconnect_backoff_max_s:
            raise ValueError("reconnect_backoff_min_s must not exceed reconnect_backoff_max_s")
        return self

    @classmethod
    def for_mode(cls, mode: ExchangeMode, **overrides: object) -> ExchangeConfig:
        """Return the preset for Bybit ``testnet`` or ``mainnet``, with ``overrides`` applied."""
        try:
            rest, public, private = _PRESETS[mode]
        except KeyError:
            raise ValueError(f"expected mode testnet or mainnet, got {mode!r}") from None
        values: dict[str, object] = {"rest_url": rest, "ws_public_url": public, "ws_private_url": private}
        values.update(overrides)
        return cls.model_validate(values)
