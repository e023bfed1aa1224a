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
    "CloseBody",
    "CloseReason",
    "CloseResult",
    "ErrorBody",
    "ExecutionItem",
    "FaultKind",
    "FaultRequest",
    "FeedStatusView",
    "ForwardBody",
    "ForwardMetricsView",
    "HealthBody",
    "OpenBody",
    "OrderItem",
    "OrderOutcome",
    "PlacementResult",
    "PositionDetail",
    "PositionPage",
    "PositionQuery",
    "PositionSummary",
    "ReadyBody",
    "Side",
    "SignalLevels",
    "SignalPage",
    "SignalQuery",
    "SignalView",
    "SlippageItem",
    "SupervisionNode",
    "TimeBody",
    "TradePreviewView",
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
    mark_price: Decimal | None = Field(default=None, description="the ticker's latest mark price")
    next_funding_time: dt.datetime | None = Field(
        default=None, description="market time of the next funding settlement (the ticker's)"
    )


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


# ------------------------------------------------------------------------------------------------ trading

CloseReason = Literal["manual", "time_exit", "funding"]
_READ = ConfigDict(frozen=True, extra="ignore", from_attributes=True, populate_by_name=True)


class TradePreviewView(BaseModel):
    """Body of ``GET /signals/{id}/preview``: what a click would place and the RiskActor's verdict (E-02).

    Nothing is reserved: the same preview asked twice gives the same answer until the book changes.
    """

    model_config = _FROZEN

    signal_id: str
    symbol: str
    side: Side
    quantity: Decimal = Field(description="base units: 1R / |entry − SL|, rounded down to the qty step")
    price: Decimal = Field(description="the entry limit price, on the tick grid")
    notional_usd: Decimal
    fee_estimate_usd: Decimal = Field(description="taker fee of the entry and the exit at the entry price")
    risk_usd: Decimal
    risk_r: Decimal
    heat_after_usd: Decimal = Field(description="total open risk after the trade, USD")
    heat_after_r: Decimal = Field(description="total open risk after the trade, in R")
    positions_after: int = Field(description="open positions after the trade")
    base_usage_after: int = Field(description="positions on this base asset and side after the trade")
    base_limit: int = Field(description="the most positions allowed per base asset and side")
    verdict: Literal["allowed", "denied"] = Field(description="the RiskActor's verdict now")
    reason: str | None = Field(default=None, description="why the RiskActor would deny (null when allowed)")
    reason_code: str | None = None


class OpenBody(BaseModel):
    """Body of ``POST /positions/open``: the signal a person clicked (E-01: the only way to place orders)."""

    model_config = _FROZEN

    signal_id: str = Field(min_length=1, max_length=64)


class CloseBody(BaseModel):
    """Body of ``POST /positions/{id}/close`` (E-06)."""

    model_config = _FROZEN

    reason: CloseReason


class PositionSummary(BaseModel):
    """A position as clients see it: in lists, in placement answers and in ``position`` SSE events."""

    model_config = _READ

    id: Text
    signal_id: Text | None = None
    symbol: str
    side: Annotated[Side, BeforeValidator(_as_text)]
    status: Text = Field(
        description="open | partial_accepted | closing | closed | failed_underfill | error (E-03, E-06)"
    )
    requested_size: Decimal = Field(validation_alias=AliasChoices("requested_size", "requested_size_base"))
    executed_size: Decimal = Field(validation_alias=AliasChoices("executed_size", "executed_size_base"))
    fill_ratio: Decimal
    avg_entry_price: Decimal | None = None
    avg_exit_price: Decimal | None = None
    sl: Decimal | None = None
    tp1: Decimal | None = None
    tp2: Decimal | None = None
    tp3: Decimal | None = None
    pnl_usd: Decimal | None = None
    fees_usd: Decimal = Decimal(0)
    funding_usd: Decimal = Decimal(0)
    slippage_entry_bps: Decimal | None = Field(default=None, description="entry fill vs asked, bps (E-05)")
    slippage_exit_bps: Decimal | None = Field(default=None, description="exit fill vs asked, bps (E-05)")
    be_moved: bool = False
    opened_at: dt.datetime
    closed_at: dt.datetime | None = None
    close_reason: str | None = None
    message: str | None = Field(default=None, description="a plain sentence about the last change")


class PositionQuery(BaseModel):
    """Filter of ``GET /positions``: ``open`` (opening, open, partial_accepted, closing) or ``closed``."""

    model_config = _FROZEN

    status: Literal["open", "closed"] | None = None
    limit: int = Field(default=100, ge=1, le=1000)


class PositionPage(BaseModel):
    """Body of ``GET /positions``: newest first."""

    model_config = _FROZEN

    items: list[PositionSummary]


class OrderItem(BaseModel):
    """One order of a position (entry, top-up, TP, SL, exits)."""

    model_config = _READ

    id: Text
    client_order_id: str = Field(description="the orderLinkId sent to the exchange")
    exchange_order_id: str | None
    side: str
    order_type: str
    time_in_force: str
    reduce_only: bool
    purpose: str
    price: Decimal | None
    qty: Decimal
    filled_qty: Decimal
    avg_fill_price: Decimal | None
    status: str
    created_at: dt.datetime


class ExecutionItem(BaseModel):
    """One fill (E-04), unique by the exchange's ``exec_id``."""

    model_config = _READ

    exec_id: str
    order_id: Text | None
    side: str
    price: Decimal
    qty: Decimal
    fee: Decimal
    fee_currency: str
    is_maker: bool
    exec_time: dt.datetime


class SlippageItem(BaseModel):
    """One ``slippage_log`` row (E-05): requested vs filled price, signed by side, in basis points."""

    model_config = _READ

    recorded_at: dt.datetime
    leg: str
    order_id: Text | None
    requested_price: Decimal
    avg_fill_price: Decimal
    qty: Decimal
    slippage_bps: Decimal
    modelled_bps: Decimal | None


class PositionDetail(BaseModel):
    """Body of ``GET /positions/{id}``: the position with its orders, fills and slippage, oldest first."""

    model_config = _FROZEN

    position: PositionSummary
    orders: list[OrderItem]
    fills: list[ExecutionItem]
    slippage: list[SlippageItem]


class OrderOutcome(BaseModel):
    """The entry order's outcome as the trader sees it (E-02)."""

    model_config = _FROZEN

    status: Literal["filled", "partial", "underfill", "expired", "rejected"]
    fill_ratio: Decimal
    avg_price: Decimal | None


class PlacementResult(BaseModel):
    """Body of ``POST /positions/open`` (200): the order's outcome, the position and a plain sentence.

    A rejection by the exchange (E-07) is a 200 with ``order.status = rejected`` and the reason in
    ``message``: the click was handled, the exchange said no.
    """

    model_config = _FROZEN

    position_id: str | None
    order: OrderOutcome
    position: PositionSummary | None
    message: str = Field(description="plain words for the trader, e.g. why an order was rejected")
    reason_code: str | None = None


class CloseResult(BaseModel):
    """Body of ``POST /positions/{id}/close`` (200): the close's outcome, PnL in USD when closed."""

    model_config = _FROZEN

    position_id: str
    status: Literal["closed", "closing", "error"]
    position: PositionSummary | None
    pnl_usd: Decimal | None
    fees_usd: Decimal | None
    funding_usd: Decimal | None
    message: str


class ForwardMetricsView(BaseModel):
    """The forward phase's metrics so far (S-07): simulated trades, never orders."""

    model_config = _FROZEN

    trades: int
    wins: int
    win_rate: Decimal | None
    profit_factor: Decimal | None
    net_expectancy_r: Decimal | None
    max_drawdown_pct: Decimal
    modelled_slippage_bps: Decimal | None
    actual_slippage_bps: Decimal | None


class ForwardBody(BaseModel):
    """Body of ``GET /admin/forward``: the forward-validation phase's progress ("X/30 days") and metrics."""

    model_config = _FROZEN

    phase_id: str | None = Field(description="the newest phase (null: none has run)")
    status: str = Field(description="none | running | passed | failed | aborted")
    started_at: dt.datetime | None
    days: int = Field(ge=0, description="whole calendar days run")
    min_days: int = Field(ge=1)
    progress: str = Field(description='"X/30 days", X capped at the minimum')
    metrics: ForwardMetricsView | None
    reasons: list[str] = Field(description="the thresholds missed so far (empty once passed)")
