"""Bodies of the admin and config routes (R-04, G-01, O-02)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AdminStatusView", "ConfigPatch", "ConfigView", "KillSwitchBody", "KillSwitchView"]

_IN = ConfigDict(frozen=True, extra="forbid")
_OUT = ConfigDict(frozen=True)


class KillSwitchBody(BaseModel):
    """Engage (``enabled``) or release the kill switch; the reason is kept in the audit trail (R-04)."""

    model_config = _IN
    enabled: bool
    reason: str = Field(min_length=3, max_length=500)
    state: Literal["halted", "reducing"] = "halted"


class KillSwitchView(BaseModel):
    model_config = _OUT
    state: str
    kill_switch: bool
    reason: str
    changed_by: str
    changed_at: dt.datetime
    changed: bool


class AdminStatusView(BaseModel):
    """The trading state and the performance the kill conditions watch (R-04, G-01)."""

    model_config = _OUT
    state: str
    kill_switch: bool
    kill_switch_reason: str
    trades: int
    win_rate: Decimal | None
    profit_factor: Decimal | None
    net_expectancy_r: Decimal | None
    max_drawdown_pct: Decimal | None
    window_days: int


class ConfigView(BaseModel):
    """The effective, non-secret settings the API may read and (admins) patch, with pending overrides."""

    model_config = _OUT
    mode: str
    symbols: list[str]
    sections: dict[str, dict[str, Any]]
    overrides: dict[str, dict[str, Any]]
    editable: list[str]
    applied_now: list[str] = []  # after a PATCH: the keys the running engine applied at once (O-02)
    restart_required: list[str] = []  # after a PATCH: the changed keys that wait for the next start


class ConfigPatch(BaseModel):
    """Change keys of editable sections: ``{"risk": {"risk_per_trade_usd": "30"}}`` (validated now against the
    settings model; audited). Hot keys (risk limits) apply at once; the rest at the next start."""

    model_config = _IN
    risk: dict[str, Any] | None = None
    monitor: dict[str, Any] | None = None
    execution: dict[str, Any] | None = None
    strategy: dict[str, Any] | None = None
