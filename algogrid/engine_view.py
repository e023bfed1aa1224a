"""``SupervisionEngineView``: the one ``gateway.EngineView`` over a running supervision tree (DESIGN §3, §4).

``algogrid run`` builds it from the running engine (``Engine.view``); the gateway tests build it over a small
real tree. Every method runs in the trio thread and never blocks it: the snapshot only takes the nodes' short
locks, asks go through ``TrioBridge`` (a future callback wakes trio), faults only arm flags or enqueue.

This module is the one boundary where supervision errors become the gateway's (``gateway.errors`` gives each
its HTTP answer):

==================================  ==============================================  ======
supervision error                   gateway error                                   status
==================================  ==============================================  ======
``AskTimeout``                      ``EngineTimeoutError`` ("did not answer …")     503
``ActorUnavailable``                ``EngineUnavailableError``                      503
other ``SupervisionError`` (crash)  ``EngineUnavailableError`` ("failed to answer")  503
``UnknownPath``, path from client   ``UnknownActorPathError``                       404
``UnknownPath``, a traded symbol    ``EngineUnavailableError`` ("not running")      503
==================================  ==============================================  ======

A symbol that is not traded here is a 404 (``UnknownActorPathError``) before any ask. A traded symbol whose
feed actor is gone (a temporary child that crashed) is a resource that exists with its actor down: 503.

Orders (E-01, E-02, E-06). ``open_position`` and ``close_position`` tell the symbol's PositionActor
(``root/symbols/<SYM>/position``) a command carrying a fresh ``ReplyFuture`` and await it with
``TrioBridge.wait`` for ``GatewayConfig.order_timeout_s`` (the fill wait plus REST time). ``open_position`` is
the one sender of ``PlaceOrderFromSignal`` in the product (a test holds it to that): nothing places an order
without a person's click. The actor's refusals become gateway errors here:

==========================================  ==============================  ======
position actor answer                       gateway error                   status
==========================================  ==============================  ======
``reason_code`` unknown_signal              ``UnknownSignalError``          404
``reason_code`` signal_not_new / _expired   ``SignalNotOpenError``          409
``reason_code`` risk_denied[:<code>]        ``RiskDeniedError``             409
``reason_code`` instrument_unavailable      ``InstrumentUnavailableError``  503
``CloseOutcome.status`` unknown_position    ``UnknownPositionError``        404
``CloseOutcome.status`` already_closed      ``PositionClosedError``         409
no answer within ``order_timeout_s``        ``EngineTimeoutError``          503
==========================================  ==============================  ======

Any other outcome — filled, partial, underfill, expired, or rejected by the exchange with a plain sentence
(E-07) — is the click's answer (200). ``requested_by`` is the id of the authenticated user who clicked
(the gateway's access matrix lets only traders and admins call these routes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

import actors
from actors import DEFAULT_INSTRUMENT, RISK, GetFeedStatus, SymbolUnavailableError, feed_path, position_path
from actors.position import CloseOutcome, ClosePosition, PlacementOutcome, PlaceOrderFromSignal
from actors.risk import PreviewTrade
from exchange import bybit
from gateway import (
    CloseReason,
    CloseResult,
    EngineTimeoutError,
    EngineUnavailableError,
    FaultRejectedError,
    FaultRequest,
    FeedStatus,
    GatewayError,
    InstrumentUnavailableError,
    MarketTime,
    OrderOutcome,
    PlacementResult,
    PositionClosedError,
    PositionSummary,
    RiskDeniedError,
    SignalNotOpenError,
    SignalView,
    TradePreviewView,
    UnknownActorPathError,
    UnknownPositionError,
    UnknownSignalError,
)
from strategy_core import InstrumentRules, Side
from supervision import (
    ActorUnavailable,
    AskTimeout,
    Clock,
    RealClock,
    ReplyFuture,
    SupervisionError,
    SupervisionTree,
    TrioBridge,
    UnknownPath,
)

T = TypeVar("T")

__all__ = ["EngineCheck", "SupervisionEngineView", "fault_message_types"]

EngineCheck = Callable[[], str | None]
"""A synchronous readiness check of the engine: None when ready, else the reason (must not block)."""


def fault_message_types() -> dict[str, type[Any]]:
    """Return the message types a ``crash_on_next`` fault may name (exported by ``actors`` and ``bybit``)."""
    names = [*actors.__all__, *bybit.__all__]
    found = {n: getattr(actors, n, None) or getattr(bybit, n, None) for n in names}
    return {n: t for n, t in found.items() if isinstance(t, type)}


@runtime_checkable
class _Accelerated(Protocol):
    """A clock that runs faster than wall time (``algogrid.market_clock.SimMarketClock``)."""

    @property
    def speed(self) -> float:
        """Return market seconds per wall second."""
        ...


class SupervisionEngineView:
    """``gateway.EngineView`` over a running ``SupervisionTree``.

    Args:
        tree: the running supervision tree.
        bridge: the trio bridge of this trio run.
        symbols: the traded symbols in display order, or a callable returning them (symbols added at run
            time).
        checks: extra engine readiness checks by name (e.g. ``exchange_public``); ``supervision`` (the
            root has not failed) is always included.
        message_types: names accepted by ``crash_on_next`` faults (default ``fault_message_types()``).
        market_clock: the engine's market clock; its ``speed``, when it has one, is reported with it
            (default: wall time at speed 1, as in paper/live).
        wall_clock: the supervision tree's clock, the time base of feed ``last_event_at`` (default
            ``RealClock``, as the tree's).
        instruments: the instrument rules of a symbol, sent with each preview (the engine's
            ``TradingInputs.instrument``; default the default grid ``actors.config.DEFAULT_INSTRUMENT``).
    """

    def __init__(
        self,
        tree: SupervisionTree,
        bridge: TrioBridge,
        symbols: Sequence[str] | Callable[[], Sequence[str]],
        *,
        checks: Mapping[str, EngineCheck] | None = None,
        message_types: Mapping[str, type[Any]] | None = None,
        market_clock: Clock | None = None,
        wall_clock: Clock | None = None,
        instruments: Callable[[str], InstrumentRules] | None = None,
    ) -> None:
        self._tree = tree
        self._wall = wall_clock or RealClock()
        self._market = market_clock or self._wall
        self._bridge = bridge
        self._symbols = symbols
        self._checks = dict(checks or {})
        self._message_types = dict(message_types) if message_types is not None else fault_message_types()
        self._instruments = instruments or (lambda _symbol: DEFAULT_INSTRUMENT)

    def symbols(self) -> Sequence[str]:
        """Return the traded symbols, in display order."""
        return list(self._symbols() if callable(self._symbols) else self._symbols)

    async def supervision_tree(self) -> Mapping[str, Any]:
        """Return the live tree snapshot (path, kind, status, restarts, last failure, …, children)."""
        return self._tree.snapshot()

    async def feed_status(self, symbol: str, timeout_s: float) -> FeedStatus:
        """Ask ``root/symbols/<symbol>/feed`` with ``GetFeedStatus``.

        Raises:
            UnknownActorPathError: ``symbol`` is not traded here.
            EngineUnavailableError: the feed actor is not running (crashed, removed) or failed while
                answering.
            EngineTimeoutError: no answer within ``timeout_s`` seconds (``GatewayConfig.ask_timeout_s``).
        """
        if symbol not in self.symbols():
            raise UnknownActorPathError(f"expected a traded symbol, got {symbol!r}")
        path = feed_path(symbol)
        subject = f"the feed of {symbol}"
        try:
            report = await self._bridge.ask(self._tree.ref(path), GetFeedStatus(), timeout=timeout_s)
        except UnknownPath as exc:
            raise EngineUnavailableError(f"{subject} is not running (no actor at {path})") from exc
        except ActorUnavailable as exc:
            raise EngineUnavailableError(f"{subject} is not available: {exc}") from exc
        except AskTimeout as exc:
            raise EngineTimeoutError(f"{subject} did not answer within {timeout_s:g} s") from exc
        except SupervisionError as exc:  # e.g. an injected crash while answering
            raise EngineUnavailableError(f"{subject} failed to answer: {exc}") from exc
        return FeedStatus(
            symbol=symbol,
            last_event_at=report.last_event_at,
            mark_price=report.mark_price,
            next_funding_time=report.next_funding_time,
        )

    def market_time(self) -> MarketTime:
        """Return market now, wall now (read together) and the market clock's speed (1 without one)."""
        market = self._market
        speed = float(market.speed) if isinstance(market, _Accelerated) else 1.0
        return MarketTime(market_time=market.now(), wall_time=self._wall.now(), speed=speed)

    async def inject_fault(self, request: FaultRequest) -> None:
        """Fire or arm the fault of ``request`` at ``request.path`` through ``tree.faults``.

        Raises:
            UnknownActorPathError: no actor is registered at ``request.path``.
            FaultRejectedError: an unknown ``message_type`` for ``crash_on_next``, or the actor refused.
        """
        try:
            self._tree.ref(request.path)
        except UnknownPath as exc:
            raise UnknownActorPathError(f"expected an actor at {request.path}, got none") from exc
        faults = self._tree.faults
        try:
            if request.kind == "crash":
                faults.crash_now(request.path)
            elif request.kind == "crash_on_next":
                faults.crash_on_next(request.path, self._message_type(request.message_type))
            elif request.kind == "fail_on_start":
                faults.fail_on_start(request.path, request.times)
            else:
                faults.delay_next(request.path, request.delay_s)
        except UnknownPath as exc:  # removed between the check and the fault
            raise UnknownActorPathError(f"expected an actor at {request.path}, got none") from exc
        except (ActorUnavailable, ValueError) as exc:
            raise FaultRejectedError(f"the fault at {request.path} was refused: {exc}") from exc

    def _message_type(self, name: str | None) -> type[Any] | None:
        if name is None:
            return None
        found = self._message_types.get(name)
        if found is None:
            raise FaultRejectedError(f"expected a known message type, got {name!r}")
        return found

    async def readiness(self) -> Mapping[str, str | None]:
        """Return ``supervision`` (None unless the root failed) and the extra checks."""
        failure = self._tree.failure
        results: dict[str, str | None] = {
            "supervision": None if failure is None else f"root failed: {failure.type}: {failure.message}"
        }
        for name, check in self._checks.items():
            results[name] = check()
        return results

    # ---------------------------------------------------------------------------------------------- orders

    async def preview(self, signal: SignalView, timeout_s: float) -> TradePreviewView:
        """Ask the RiskActor (``root/risk``) what a click on ``signal`` would place; reserves nothing.

        Raises:
            EngineUnavailableError: the RiskActor is not running or failed while answering.
            EngineTimeoutError: no answer within ``timeout_s`` seconds.
        """
        try:
            instrument = self._instruments(signal.symbol)
        except SymbolUnavailableError as exc:
            raise EngineUnavailableError(f"{signal.symbol} takes no orders: {exc}") from exc
        message = PreviewTrade(
            symbol=signal.symbol,
            side=Side(signal.side),
            entry=signal.entry,
            sl=signal.sl,
            instrument=instrument,
            signal_id=signal.id,
        )
        preview = await self._ask(RISK, message, timeout_s, "the risk actor")
        return TradePreviewView(
            signal_id=signal.id,
            symbol=preview.symbol,
            side=signal.side,
            quantity=preview.qty,
            price=preview.price,
            notional_usd=preview.notional_usd,
            fee_estimate_usd=preview.fee_estimate_usd,
            risk_usd=preview.risk_usd,
            risk_r=preview.risk_r,
            heat_after_usd=preview.total_risk_usd_after,
            heat_after_r=preview.total_risk_r_after,
            positions_after=preview.positions_after,
            base_usage_after=preview.base_usage_after,
            base_limit=preview.base_limit,
            verdict=preview.verdict,
            reason=preview.reason,
            reason_code=preview.reason_code,
        )

    async def open_position(self, signal: SignalView, requested_by: str, timeout_s: float) -> PlacementResult:
        """Tell the PositionActor of ``signal.symbol`` to place ``signal`` (E-02); await its outcome.

        The one product path that sends ``PlaceOrderFromSignal`` (E-01: only a person's click places).

        Raises:
            UnknownSignalError, SignalNotOpenError, RiskDeniedError, InstrumentUnavailableError: the actor
                refused before any order (see the module table).
            EngineUnavailableError: the PositionActor is not running.
            EngineTimeoutError: no outcome within ``timeout_s``; the order's fate shows in ``GET /positions``.
        """
        future: ReplyFuture[PlacementOutcome] = ReplyFuture()
        command = PlaceOrderFromSignal(signal_id=signal.id, requested_by=requested_by, reply=future)
        outcome = await self._command(signal.symbol, command, future, timeout_s, "placing the order")
        _raise_refusal(outcome.reason_code, outcome.message)
        return PlacementResult(
            position_id=outcome.position_id,
            order=OrderOutcome(
                status=outcome.order_status, fill_ratio=outcome.fill_ratio, avg_price=outcome.avg_price
            ),
            position=_summary(outcome.position),
            message=outcome.message,
            reason_code=outcome.reason_code,
        )

    async def close_position(
        self, position: PositionSummary, reason: CloseReason, requested_by: str, timeout_s: float
    ) -> CloseResult:
        """Tell the PositionActor of ``position.symbol`` to close it reduce-only (E-06); await the outcome.

        Raises:
            UnknownPositionError: the actor does not know the position (404).
            PositionClosedError: the position is closed already (409).
            EngineUnavailableError: the PositionActor is not running.
            EngineTimeoutError: no outcome within ``timeout_s``; the close's fate shows in ``GET /positions``.
        """
        future: ReplyFuture[CloseOutcome] = ReplyFuture()
        command = ClosePosition(
            position_id=position.id, reason=reason, requested_by=requested_by, reply=future
        )
        outcome = await self._command(position.symbol, command, future, timeout_s, "closing the position")
        if outcome.status == "unknown_position":
            raise UnknownPositionError(outcome.message)
        if outcome.status == "already_closed":
            raise PositionClosedError(outcome.message)
        return CloseResult(
            position_id=outcome.position_id,
            status=outcome.status,
            position=_summary(outcome.position),
            pnl_usd=outcome.pnl_usd,
            fees_usd=outcome.fees_usd,
            funding_usd=outcome.funding_usd,
            message=outcome.message,
        )

    async def _ask(self, path: str, message: Any, timeout_s: float, subject: str) -> Any:
        try:
            return await self._bridge.ask(self._tree.ref(path), message, timeout=timeout_s)
        except UnknownPath as exc:
            raise EngineUnavailableError(f"{subject} is not running (no actor at {path})") from exc
        except ActorUnavailable as exc:
            raise EngineUnavailableError(f"{subject} is not available: {exc}") from exc
        except AskTimeout as exc:
            raise EngineTimeoutError(f"{subject} did not answer within {timeout_s:g} s") from exc
        except SupervisionError as exc:
            raise EngineUnavailableError(f"{subject} failed to answer: {exc}") from exc

    async def _command(
        self, symbol: str, command: object, future: ReplyFuture[T], timeout_s: float, doing: str
    ) -> T:
        if symbol not in self.symbols():
            raise InstrumentUnavailableError(f"{symbol} is not traded here")
        path = position_path(symbol)
        subject = f"the position actor of {symbol}"
        try:
            self._tree.ref(path).tell(command)
            result: T = await self._bridge.wait(future, timeout=timeout_s, what=subject)
        except UnknownPath as exc:
            raise EngineUnavailableError(f"{subject} is not running (no actor at {path})") from exc
        except ActorUnavailable as exc:
            raise EngineUnavailableError(f"{subject} is not available: {exc}") from exc
        except AskTimeout as exc:
            raise EngineTimeoutError(
                f"{subject} did not finish {doing} within {timeout_s:g} s; "
                "its outcome will show in GET /positions"
            ) from exc
        except SupervisionError as exc:
            raise EngineUnavailableError(f"{subject} failed while {doing}: {exc}") from exc
        return result


_REFUSALS: dict[str, type[GatewayError]] = {
    "unknown_signal": UnknownSignalError,
    "signal_not_new": SignalNotOpenError,
    "signal_expired": SignalNotOpenError,
    "risk_denied": RiskDeniedError,
    "instrument_unavailable": InstrumentUnavailableError,
}


def _raise_refusal(reason_code: str | None, message: str) -> None:
    """Raise the gateway error of a refusal before any order (``risk_denied:<code>`` → risk_denied)."""
    if reason_code is None:
        return
    error = _REFUSALS.get(reason_code.split(":", 1)[0])
    if error is not None:
        raise error(message)


def _summary(position: object | None) -> PositionSummary | None:
    return None if position is None else PositionSummary.model_validate(position, from_attributes=True)
