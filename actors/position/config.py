"""The position room's config: the ``execution:`` settings section (E-02, E-03, E-05, E-06).

``Settings.execution`` is an ``ExecutionConfig``. 1R is not here: its one source is
``risk.risk_per_trade_usd`` (R-01), which reaches the PositionActor through ``TradingInputs``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ExecutionConfig"]


class ExecutionConfig(BaseModel):
    """How an approved signal becomes a position and how the position is protected and closed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_fill_ratio_to_open: Decimal = Field(
        default=Decimal("0.5"), gt=0, le=1, description="Below this fill ratio the entry fails (E-03)."
    )
    filled_ratio: Decimal = Field(
        default=Decimal("0.95"), gt=0, le=1, description="At or above this fill ratio the entry is filled."
    )
    partial_fill_policy: Literal["accept", "retry"] = Field(
        default="accept", description="accept: protect what filled; retry: top up with market orders (E-03)."
    )
    max_retries_on_partial: int = Field(default=2, ge=0, le=5, description="Top-up orders at most (retry).")
    order_grace_seconds: int = Field(
        default=120, ge=1, le=3600, description="A signal older than this cannot be placed (E-02)."
    )
    fill_wait_seconds: float = Field(
        default=3.0, gt=0, le=60, description="How long fills are awaited before REST decides (E-02)."
    )
    poll_interval_s: float = Field(
        default=0.5, gt=0, le=10, description="REST polling period while fills are awaited (WS fallback)."
    )
    tp_split: tuple[Decimal, Decimal, Decimal] = Field(
        default=(Decimal("0.4"), Decimal("0.3"), Decimal("0.3")),
        description="Share of the filled size for TP1..TP3; the rounding remainder goes to the last TP.",
    )
    entry_slippage_ticks: int = Field(
        default=0, ge=0, le=1000, description="Ticks beyond the signal entry the IOC limit may fill at."
    )
    slippage_base_pct: Decimal = Field(
        default=Decimal("0.05"),
        ge=0,
        le=5,
        description="Base of the slippage model in percent, before the ATR and depth adjustments (E-05).",
    )
    risk_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="A click the RiskActor has not answered by then is refused."
    )
    close_attempts: int = Field(
        default=5, ge=1, le=50, description="Reduce-only IOC orders tried to go flat."
    )
    max_rebuild_attempts: int = Field(default=10, ge=1, le=1000, description="Rebuild tries before a crash.")
    max_stop_replacements: int = Field(
        default=3, ge=0, le=20, description="Stops placed again after one was cancelled on the venue (C-02)."
    )

    @model_validator(mode="after")
    def _check(self) -> ExecutionConfig:
        if sum(self.tp_split, Decimal(0)) != 1:
            raise ValueError(f"expected tp_split to sum to 1, got {sum(self.tp_split, Decimal(0))}")
        if any(share < 0 for share in self.tp_split):
            raise ValueError("expected every tp_split share >= 0")
        if self.filled_ratio < self.min_fill_ratio_to_open:
            raise ValueError("expected filled_ratio >= min_fill_ratio_to_open")
        return self
