"""HTTP-facing message models: queries, bodies and responses of the gateway routes (G-01).

These are the gateway's own DTOs. They are deliberately separate from the engine's ``Signal`` so the HTTP
contract (and the OpenAPI document generated from these models) changes only when we mean it to. Money is
``Decimal`` and goes over the wire as a string, so "Copy levels" reproduces exactly what was stored.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field

__all__ = [
    "CheckResult",
    "ErrorBody",
    "FaultKind",
    "FaultRequest",
    "FeedStatusView",
    "HealthBody",
    "ReadyBody",
    "Side",
    "SignalLevels",
    "SignalPage",
    "SignalQuery",
    "SignalView",
    "SupervisionNode",
    "TimeBody",
    "format_levels",
]

Side = Literal["long", "short"]
FaultKind = Literal["crash", "crash_on_next", "fail_on_start", "delay_next"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


def _as_text(value: object) -> object:
    # UUIDs and StrEnums from the engine and asyncpg become their plain string form.
    return value if isinstance(value, str) and type(value) is str else str(value)


Text = Annotated[str, BeforeValidator(_as_text)]


class SignalView(BaseModel):
    """A trading signal as clients see it (S-03): levels, probability and queue state."""

    model_config = ConfigDict(frozen=True, extra="ignore", from_attributes=True, populate_by_name=True)

    id: Text = Field(validation_alias=AliasChoices("id", "signal_id"))
    symbol: str
    side: Annotated[Side, BeforeValidator(_as_text)] = Field(
        validation_alias=AliasChoices("side", "direction")
    )
    entry: Decimal
    tp1: Decimal
    tp2: Decimal
    tp3: Decimal
    sl: Decimal
    risk_r: Decimal | None = None
    probability: float = Field(ge=0.0, le=1.0, validation_alias=AliasChoices("probability", "p_win"))
    strategy: str = "avi5"
    strategy_version: str = ""
    status: Text = Field(default="new", description="new | queued | placed | expired | … (S-03)")
    queued_until: dt.datetime | None = None
    created_at: dt.datetime = Field(validation_alias=AliasChoices("created_at", "generated_at", "at"))


class SignalQuery(BaseModel):
    """Filters and paging of ``GET /signals`` (G-01); unknown parameters are refused with 422."""

    model_config = _FROZEN

    symbol: str | None = Field(default=None, min_length=3, max_length=20, pattern=r"^[A-Z0-9]+$")
    direction: Side | None = None
    min_probability: float | None = Field(default=None, ge=0.0, le=1.0)
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


class SignalPage(BaseModel):
    """One page of signals, newest first."""

    model_config = _FROZEN

    items: list[SignalView]
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page, null on the last page")


def format_levels(entry: Decimal, tp1: Decimal, tp2: Decimal, tp3: Decimal, sl: Decimal) -> str:
    """Return the exact "Copy levels" text of G-04: ``Entry: X, TP1: Y, TP2: Z, TP3: W, SL: V``."""
    return f"Entry: {entry:f}, TP1: {tp1:f}, TP2: {tp2:f}, TP3: {tp3:f}, SL: {sl:f}"


class SignalLevels(BaseModel):
    """The levels of one signal plus the ready-to-copy text (G-01 ``/signals/{id}/levels``)."""

    model_config = _FROZEN

    id: str
    symbol: str
    side: Side
    entry: Decimal
    tp1: Decimal
    tp2: Decimal
    tp3: Decimal
    sl: Decimal
    risk_r: Decimal | None
    text: str

    @classmethod
    def of(cls, signal: SignalView) -> SignalLevels:
        """Build the levels view of ``signal``."""
        return cls(
            id=signal.id,
            symbol=signal.symbol,
            side=signal.side,
            entry=signal.entry,
            tp1=signal.tp1,
            tp2=signal.tp2,
            tp3=signal.tp3,
            sl=signal.sl,
            risk_r=signal.risk_r,
            text=format_levels(signal.entry, signal.tp1, signal.tp2, signal.tp3, signal.sl),
        )


class FaultRequest(BaseModel):
    """Body of ``POST /admin/faults`` (DESIGN §4 fault injection; dev mode only)."""

    model_config = _FROZEN

    path: str = Field(min_length=1, max_length=200, examples=["root/symbols/BTCUSDT/feed"])
    kind: FaultKind
    message_type: str | None = Field(default=None, description="crash_on_next: only on this message type")
    times: int = Field(default=1, ge=1, le=100, description="fail_on_start: number of failing starts")
    delay_s: float = Field(default=1.0, gt=0.0, le=120.0, description="delay_next: seconds of delay")


class FeedStatusView(BaseModel):
    """Liveness of one symbol's market-data feed, as its feed actor reports it.

    ``last_event_at`` and ``age_s`` are *wall* time (the feed actor stamps events on the supervision tree's
    clock), so ``stale`` compares them with wall now, not market now.
    """

    model_config = _FROZEN

    symbol: str
    available: bool
    last_event_at: dt.datetime | None = Field(default=None, description="wall time of the last market event")
    age_s: float | None = Field(default=None, description="wall seconds since last_event_at")
    stale: bool
    stale_after_s: float = Field(description="wall seconds of quiet after which the feed counts as stale")
    reason: str | None = None


class TimeBody(BaseModel):
    """Body of ``GET /time``: the engine's market clock, the wall clock read with it, and the market speed.

    Clients extrapolate market now between reads as ``market_time + speed × (wall seconds elapsed)``.
    """

    model_config = _FROZEN

    market_time: dt.datetime = Field(description="market now: the time base of created_at and bar times")
    wall_time: dt.datetime = Field(description="wall now, read together with market_time")
    speed: float = Field(ge=0.0, description="market seconds per wall second (60 in the default simulation)")


class HealthBody(BaseModel):
    """Body of ``GET /health``: liveness only (always 200)."""

    model_config = _FROZEN

    status: Literal["ok"] = "ok"


class CheckResult(BaseModel):
    """One readiness check: ``ok`` or the reason it is not ready."""

    model_config = _FROZEN

    ok: bool
    reason: str | None = None


class ReadyBody(BaseModel):
    """Body of ``GET /ready``; ``not_ready`` names every failing check (503 when non-empty)."""

    model_config = _FROZEN

    ready: bool
    checks: dict[str, CheckResult]
    not_ready: list[str]


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer: a machine-readable ``error`` and a human ``reason`` sentence."""

    model_config = _FROZEN

    error: str
    reason: str
    details: list[dict[str, Any]] | None = None


class SupervisionNode(BaseModel):
    """One node of the live supervision tree (DESIGN §4); engines may add keys, children nest."""

    model_config = ConfigDict(frozen=True, extra="allow")

    path: str
    kind: str
    status: str = Field(description="starting | running | restarting | stopping | stopped | failed")
    restarts: int
    recent_restarts: list[Any] = Field(default_factory=list)
    last_failure: dict[str, Any] | None = None
    uptime_s: float | None = None
    mailbox: int | None = None
    handled: int | None = None
    children: list[SupervisionNode] = Field(default_factory=list)
