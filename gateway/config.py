"""Gateway configuration (G-02): bind address, CORS origins, per-IP rate limit."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["GatewayConfig"]


class GatewayConfig(BaseModel):
    """Where the gateway listens and how it guards itself (G-02)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8080, ge=0, le=65535)
    allowed_origins: tuple[str, ...] = ()
    ip_rate_limit_per_min: int = Field(default=100, ge=1, le=100_000)
