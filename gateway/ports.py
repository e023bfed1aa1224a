"""The narrow seams between the gateway and the rest of the system (STYLE §3, §12).

The gateway is thin ASGI: it never reaches into actors or repositories, it talks to these Protocols.

* ``EngineView`` — what the engine lets the gateway see and do: the supervision tree, per-symbol feed
  liveness (an actor ``ask`` with a timeout), the engine's market clock (``MarketTime``), fault injection and
  the engine's readiness checks. Adapters
  translate ``ActorUnavailable``/``AskTimeout`` into ``EngineUnavailableError``/``EngineTimeoutError``
  (``gateway.errors``).
  It also carries the trader's commands: the pre-trade preview, placing a signal, closing a position
  (E-01..E-06).
* ``SignalReader`` — read side of the ``signals`` table (PostgreSQL).
* ``PositionReader`` — read side of positions with their orders, fills and slippage (PostgreSQL).
* ``ForwardReader`` — the forward-validation phase's progress and metrics (S-07).
* ``StreamCommands`` — the two Redis Stream commands the SSE event log needs (trio-native, redis-py names).
* ``ReadinessProbe`` — an async check that returns when ready and raises with a reason otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from gateway.models import (
    CloseReason,
    CloseResult,
    FaultRequest,
    ForwardBody,
    PlacementResult,
    PositionDetail,
    PositionQuery,
    PositionSummary,
    SignalQuery,
    SignalView,
    TradePreviewView,
)
from gateway.models_admin import CalibrationRunPage

__all__ = [
    "EngineView",
    "FeedStatus",
    "ForwardReader",
    "MarketTime",
    "PositionReader",
    "ReadinessProbe",
    "SignalReader",
    "StreamCommands",
]

ReadinessProbe = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """What a feed actor answers about its market data: when the last event arrived (aware UTC).

    ``last_event_at`` is read on the supervision tree's clock, i.e. *wall* time (not market time):
    staleness is judged against wall now.
    """

    symbol: str
    last_event_at: dt.datetime | None
    mark_price: Decimal | None = None
    next_funding_time: dt.datetime | None = None  # market time, from the ticker


@dataclass(frozen=True, slots=True)
class MarketTime:
    """The engine's market clock read at one instant, with the wall clock read beside it.

    Market time is the time of signals' ``created_at`` and bar times: the simulator's accelerated exchange
    time in simulation, wall time in paper/live (see "Market time vs wall time" in docs/architecture.md).

    Attributes:
        market_time: market now (aware UTC).
        wall_time: wall now (aware UTC), read together with ``market_time``.
        speed: market seconds per wall second (60 in the default simulation, 1 in paper/live).
    """

    market_time: dt.datetime
    wall_time: dt.datetime
    speed: float


class EngineView(Protocol):
    """The engine as the gateway sees it; every method is called from the trio thread and never blocks it."""

    def symbols(self) -> Sequence[str]:
        """Return the traded symbols, in display order."""

    async def supervision_tree(self) -> Mapping[str, Any]:
        """Return the live supervision tree (keys path, kind, status, restarts, …, children)."""

    async def feed_status(self, symbol: str, timeout_s: float) -> FeedStatus:
        """Ask the feed actor of ``symbol`` for its status.

        Raises:
            UnknownActorPathError: ``symbol`` has no feed actor.
            EngineUnavailableError: the feed actor is dead or restarting.
            EngineTimeoutError: no answer within ``timeout_s`` seconds.
        """

    def market_time(self) -> MarketTime:
        """Return market now, wall now and the market speed (a clock read: never blocks)."""

    async def inject_fault(self, request: FaultRequest) -> None:
        """Arm or fire the fault described by ``request`` at ``request.path``.

        Raises:
            UnknownActorPathError: no actor lives at ``request.path``.
            FaultRejectedError: the engine refused the fault (bad options for that actor).
        """

    async def readiness(self) -> Mapping[str, str | None]:
        """Return the engine's readiness checks (e.g. exchange sessions): name → None or the reason."""

    async def preview(self, signal: SignalView, timeout_s: float) -> TradePreviewView:
        """Return what a click on ``signal`` would place and the RiskActor's verdict, reserving nothing.

        Raises:
            EngineUnavailableError: the RiskActor is not running.
            EngineTimeoutError: no answer within ``timeout_s`` seconds.
        """

    async def open_position(self, signal: SignalView, requested_by: str, timeout_s: float) -> PlacementResult:
        """Place ``signal`` (a person clicked it; E-01) and return the entry order's outcome (E-02).

        Raises:
            UnknownSignalError: the engine does not know the signal.
            SignalNotOpenError: the signal is not ``new`` or past its grace period.
            RiskDeniedError: the RiskActor refused (its reason is the message).
            InstrumentUnavailableError: the symbol's instrument rules are not loaded.
            EngineUnavailableError: the position actor is not running.
            EngineTimeoutError: no outcome within ``timeout_s``; the order's fate shows in ``GET /positions``.
        """

    async def close_position(
        self, position: PositionSummary, reason: CloseReason, requested_by: str, timeout_s: float
    ) -> CloseResult:
        """Close ``position`` reduce-only for ``reason`` (E-06) and return the outcome.

        Raises:
            UnknownPositionError: the engine does not know the position.
            PositionClosedError: it is closed already.
            EngineUnavailableError: the position actor is not running.
            EngineTimeoutError: no outcome within ``timeout_s``.
        """


class ForwardReader(Protocol):
    """The forward-validation phase's progress and metrics (S-07), read from storage."""

    async def forward_status(self) -> ForwardBody:
        """Return the newest phase's progress ("X/30 days") and its metrics so far."""

    async def calibration_runs(self, limit: int) -> CalibrationRunPage:
        """Return the newest ``limit`` calibration runs (S-05) and the version in force."""


class SignalReader(Protocol):
    """Read access to stored signals (PostgreSQL), newest first."""

    async def list_signals(self, query: SignalQuery) -> Sequence[SignalView]:
        """Return the page of signals matching ``query``."""

    async def get_signal(self, signal_id: str) -> SignalView | None:
        """Return the signal with ``signal_id`` or None."""


class PositionReader(Protocol):
    """Read access to stored positions (PostgreSQL), newest first."""

    async def list_positions(self, query: PositionQuery) -> Sequence[PositionSummary]:
        """Return the positions matching ``query``."""

    async def get_position(self, position_id: str) -> PositionDetail | None:
        """Return the position with ``position_id`` with its orders, fills and slippage, or None."""


class StreamCommands(Protocol):
    """The Redis Stream commands behind the SSE event log (a trio-native client with redis-py signatures)."""

    async def xadd(
        self,
        name: str,
        fields: Mapping[str, str],
        *,
        maxlen: int | None = None,
        approximate: bool = True,
        id: str = "*",
    ) -> str | bytes:
        """Append ``fields`` to stream ``name`` under ``id`` (``*``: the server's); return the entry id.

        An explicit ``id`` not above the stream's last one is refused with an error saying "equal or smaller".
        """

    async def xrange(
        self, name: str, min: str = "-", max: str = "+", count: int | None = None
    ) -> Sequence[tuple[str | bytes, Mapping[Any, Any]]]:
        """Return entries of stream ``name`` with ids in [min, max] (``(`` prefix: exclusive)."""
