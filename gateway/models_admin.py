"""Bodies of the admin and config routes (R-04, G-01, O-02)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = [
    "AdminStatusView",
    "AuditEntry",
    "AuditPage",
    "AuditQuery",
    "CalibrationRunPage",
    "CalibrationRunView",
    "ConfigPatch",
    "ConfigView",
    "KillSwitchBody",
    "KillSwitchStateView",
    "KillSwitchView",
]

_IN = ConfigDict(frozen=True, extra="forbid")
_OUT = ConfigDict(frozen=True)


class KillSwitchBody(BaseModel):
    """Engage (``enabled``) or release the kill switch; the reason is kept in the audit trail (R-04).

    The admin re-authenticates with every change: their password and a current authenticator code (U-05),
    checked server side; neither is stored or logged.
    """

    model_config = _IN
    enabled: bool
    reason: str = Field(min_length=3, max_length=500)
    state: Literal["halted", "reducing"] = "halted"
    password: SecretStr = Field(min_length=1, max_length=256)
    totp_code: str = Field(pattern=r"^[0-9]{6}$")


class KillSwitchView(BaseModel):
    model_config = _OUT
    state: str
    kill_switch: bool
    reason: str
    changed_by: str
    changed_at: dt.datetime
    changed: bool


class KillSwitchStateView(BaseModel):
    """The trading state as every user sees it in the banner: state, who changed it, why and when (R-04)."""

    model_config = _OUT
    state: str = Field(description="ACTIVE | REDUCING | HALTED")
    kill_switch: bool
    reason: str
    changed_by: str = Field(description="user:<id>, system, cli, monitor:<condition>, reconciler …")
    changed_by_email: str | None = Field(description="the e-mail of a user who changed it (null otherwise)")
    source: str
    changed_at: dt.datetime


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
    slippage_fills: int = 0  # fills with a slippage row in the window (E-05)
    median_slippage_bps: Decimal | None = None
    median_modelled_slippage_bps: Decimal | None = None


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


class AuditQuery(BaseModel):
    """Filters and paging of ``GET /admin/audit`` (U-11); unknown parameters are refused with 422."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    actor: str | None = Field(
        default=None, min_length=1, max_length=254, description="a label, a user id or the user's e-mail"
    )
    action: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[a-z0-9_.]+$", description="action prefix"
    )
    since: dt.datetime | None = Field(default=None, description="from this instant (inclusive)")
    until: dt.datetime | None = Field(default=None, description="up to this instant (exclusive)")
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


class AuditEntry(BaseModel):
    """One audit row: who (label, user id and e-mail), what, on which target, when and from where."""

    model_config = _OUT
    id: int
    at: dt.datetime
    actor: str
    actor_user_id: str | None
    actor_email: str | None
    action: str
    target_type: str | None
    target_id: str | None
    details: dict[str, Any]
    ip: str | None


class AuditPage(BaseModel):
    """One page of audit rows, newest first."""

    model_config = _OUT
    items: list[AuditEntry]
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page, null on the last page")


class CalibrationRunView(BaseModel):
    """One calibration run (S-05): its version, data range, progress and outcome."""

    model_config = _OUT
    id: str
    version: int
    status: str = Field(description="running | succeeded | failed | cancelled")
    start_date: dt.date
    end_date: dt.date
    forced: bool
    progress_days: int
    total_days: int
    triggered_by: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    error: str | None


class CalibrationRunPage(BaseModel):
    """The newest calibration runs, newest first; ``active_version`` is the θ map in force (null: none)."""

    model_config = _OUT
    items: list[CalibrationRunView]
    active_version: int | None
