"""The view of an alert on the SSE channel ``be`` (R-05: "emit a BE event (UI + webhook)", G-03)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AlertView"]


class AlertView(BaseModel):
    """An alert as the UI sees it: the webhook's fields (G-05) with ``details`` as an object."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event: str = Field(description="break_even | funding_exit | … (actors.risk.AlertKind)")
    severity: str
    at: dt.datetime
    alert_id: str
    position_id: str | None = None
    symbol: str | None = None
    details: dict[str, str] = Field(default_factory=dict)

    @property
    def id(self) -> str:
        """Return the alert's id (the feed logs events by id)."""
        return self.alert_id

    @classmethod
    def of(cls, alert: Any) -> AlertView:
        """Return the view of an ``actors.risk.Alert``."""
        return cls(
            event=str(alert.event),
            severity=str(alert.severity),
            at=alert.at,
            alert_id=str(alert.alert_id),
            position_id=alert.position_id,
            symbol=alert.symbol,
            details=dict(alert.details),
        )
