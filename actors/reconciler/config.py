"""The reconciler room's config: the ``reconciler:`` settings section (C-01..C-04, R-04, P-10).

``Settings.reconciler`` is a ``ReconcilerConfig``. Tests shorten ``interval_s`` and the lock's TTL; the
engine turns ``risk.await_reconciliation`` on when ``enabled`` (new exposure waits for the first clean pass).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ReconcilerConfig"]


class ReconcilerConfig(BaseModel):
    """How often the reconciler compares, under which lock, and what it does about a finding."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(default=True, description="Run the ReconcilerActor at root/reconciler (C-01).")
    interval_s: float = Field(
        default=60.0, gt=0, le=300, description="Seconds between passes (C-01: at most 5 min)."
    )
    lock_name: str = Field(default="reconciler", min_length=1, description="Redis lock name (C-04).")
    lock_ttl_s: float = Field(
        default=30.0, gt=0, le=600, description="A pass's lease; a longer pass loses its fenced writes."
    )
    lookback_s: float = Field(
        default=7 * 86_400.0,
        gt=0,
        description="Executions are read back at most this far (from the oldest held position's opening).",
    )
    on_critical: Literal["halted", "reducing"] = Field(
        default="halted", description="Trading state the kill switch engages on a critical finding (C-03)."
    )
    liquidate_on_critical: bool = Field(
        default=False,
        description=(
            "Also flatten a critical finding's symbol at market, reduce-only (C-03); off: a person decides."
        ),
    )
    cancel_own_orphans: bool = Field(
        default=True, description="Cancel open orders with our orderLinkId that no position owns (warning)."
    )
    entry_price_tolerance: Decimal = Field(
        default=Decimal("0.001"), ge=0, description="Relative average-entry difference that is only info."
    )
    actor_timeout_s: float = Field(default=2.0, gt=0, le=60, description="Ask timeout per PositionActor.")
    pass_timeout_s: float = Field(
        default=20.0, gt=0, le=600, description="A pass that has not reported by then is abandoned."
    )
    history: int = Field(default=20, ge=1, le=1000, description="Passes kept for the status endpoint.")

    @model_validator(mode="after")
    def _check(self) -> ReconcilerConfig:
        if self.pass_timeout_s > self.lock_ttl_s:
            raise ValueError(
                f"expected pass_timeout_s <= lock_ttl_s, got {self.pass_timeout_s} > {self.lock_ttl_s}"
            )
        return self
