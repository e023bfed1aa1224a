"""The view of the monitor's figures on the SSE channel ``metrics`` (G-03; the figures of R-04)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MetricsView"]


class MetricsView(BaseModel):
    """The MonitorActor's figures after an assessment that changed them (``actors.monitor.MetricsUpdated``).

    Every ``Decimal`` is serialised as its exact string; ``null``: not defined yet (no trade, no loss, no
    equity day).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    at: dt.datetime = Field(description="market time of the assessment")
    trades: int = Field(description="closed trades in the statistics window")
    win_rate: Decimal | None = Field(description="wins / trades (0..1)")
    profit_factor: Decimal | None = Field(description="gross profit / gross loss")
    net_expectancy_r: Decimal | None = Field(description="mean net result per trade, in R")
    daily_drawdown_r: Decimal = Field(description="today's largest fall of the R curve, open UPnL included")
    max_drawdown_pct: Decimal | None = Field(description="largest fall of daily equity from its peak, in %")

    @property
    def id(self) -> str:
        """Return the assessment's time (the feed logs events by id)."""
        return self.at.isoformat()

    @property
    def symbol(self) -> str | None:
        """Return None: the figures cover every symbol."""
        return None

    @classmethod
    def of(cls, event: Any) -> MetricsView:
        """Return the view of an ``actors.monitor.MetricsUpdated`` (its fields are the view's)."""
        return cls.model_validate(event, from_attributes=True)
