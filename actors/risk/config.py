"""The risk room's config: the ``risk:`` settings section (R-01..R-07), limits and the RiskActor's tunables.

The section keeps the spec's operator vocabulary (``churn_block_sec``, ``kill_poll_seconds``); the pure rules
use ``strategy_core``'s models (``risk_limits_from``). ``max_total_risk_r`` is not a setting of its own: it
follows from the USD cap and 1R (``max_total_risk_usd / risk_per_trade_usd``), so the two totals never
disagree. ``risk_per_trade_usd`` is the one 1R of the system (R-01): signals are sized with it too.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from strategy_core.config import RiskLimits

__all__ = ["RiskConfig", "risk_limits_from"]


class RiskConfig(BaseModel):
    """Risk limits, kill-switch polling and the RiskActor's timers (R-01..R-07)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

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
    reservation_ttl_s: float = Field(
        default=900.0, gt=0, le=86_400, description="An approved signal counts as exposure this long (R-02)."
    )
    rebuild_backoff_s: tuple[float, ...] = Field(
        default=(0.5, 1.0, 2.0, 5.0), min_length=1, description="Delays between rebuild retries (R-07)."
    )
    state_poll_s: float | None = Field(
        default=2.0,
        gt=0,
        le=3600,
        description="Re-read the persisted kill switch (CLI changes); null: never.",
    )
    denial_flush_s: float = Field(
        default=0.05,
        ge=0,
        le=60,
        description="Denials are written at most this long after the first (0: at once).",
    )
    denial_batch_max: int = Field(default=500, ge=1, le=100_000, description="Denials written in one batch.")
    await_reconciliation: bool = Field(
        default=False,
        description=(
            "Deny new exposure from start until the reconciler reports a clean pass (C-01, DESIGN §9); "
            "the engine sets it when ``reconciler.enabled``."
        ),
    )

    @field_validator("rebuild_backoff_s")
    @classmethod
    def _check_backoff(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(delay < 0 for delay in value):
            raise ValueError(f"expected non-negative delays, got {list(value)}")
        return value

    @model_validator(mode="after")
    def _check_totals(self) -> RiskConfig:
        if self.max_total_risk_usd < self.risk_per_trade_usd:
            raise ValueError(
                f"expected max_total_risk_usd >= risk_per_trade_usd, got "
                f"{self.max_total_risk_usd} < {self.risk_per_trade_usd}"
            )
        return self


def risk_limits_from(config: RiskConfig) -> RiskLimits:
    """Return the RiskActor's limits (R-02, R-03) for the ``risk:`` settings."""
    return RiskLimits(
        max_concurrent_positions=config.max_concurrent_positions,
        max_total_risk_r=config.max_total_risk_usd / config.risk_per_trade_usd,
        max_total_risk_usd=config.max_total_risk_usd,
        max_positions_per_base=config.max_positions_per_base,
        churn_block_s=config.churn_block_sec,
        clear_churn_on_close=config.clear_churn_on_close,
    )
