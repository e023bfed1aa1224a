"""Configuration of the domain actors: execution policy (E-02, E-03), risk limits (R-01..R-06), dev flags."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["DevConfig", "ExecutionConfig", "RiskConfig"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class ExecutionConfig(BaseModel):
    """How an approved signal becomes a position (E-02, E-03)."""

    model_config = _FROZEN

    min_fill_ratio_to_open: Decimal = Field(default=Decimal("0.5"), gt=0, le=1)
    partial_fill_policy: Literal["accept", "retry"] = "accept"
    max_retries_on_partial: int = Field(default=2, ge=0, le=5)
    order_grace_seconds: int = Field(default=120, ge=1, le=3600)
    fill_wait_seconds: float = Field(default=3.0, gt=0, le=60)


class RiskConfig(BaseModel):
    """Risk limits and kill-switch polling (R-01..R-06)."""

    model_config = _FROZEN

    be_mode: Literal["full", "visual"] = "visual"
    auto_funding_exit: bool = False
    risk_per_trade_usd: Decimal = Field(default=Decimal("25"), gt=0, le=Decimal("100000"))
    max_total_risk_usd: Decimal = Field(default=Decimal("250"), gt=0, le=Decimal("10000000"))
    max_concurrent_positions: int = Field(default=10, ge=1, le=100)
    max_positions_per_base: int = Field(default=2, ge=1, le=20)
    churn_block_sec: int = Field(default=900, ge=0, le=86_400)
    clear_churn_on_close: bool = True
    daily_drawdown_limit_r: Decimal = Field(default=Decimal("5"), gt=0, le=100)
    kill_poll_seconds: int = Field(default=60, ge=1, le=3600)

    @model_validator(mode="after")
    def _check_totals(self) -> RiskConfig:
        if self.max_total_risk_usd < self.risk_per_trade_usd:
            raise ValueError(
                f"expected max_total_risk_usd >= risk_per_trade_usd, got "
                f"{self.max_total_risk_usd} < {self.risk_per_trade_usd}"
            )
        return self


class DevConfig(BaseModel):
    """Developer switches; refused in live mode where dangerous."""

    model_config = _FROZEN

    fault_injection: bool = False
