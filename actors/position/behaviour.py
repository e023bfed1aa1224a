"""``PositionBehaviour``: the PositionActor's state machine, free of pykka (see ``actors.position.actor``).

``handle`` dispatches with one ``match`` over ``PositionMessage`` in sections: commands, exchange events,
decisions, risk verdicts, replies from the trio side, timers. Every I/O is a work-queue job whose result
comes back as ``StepDone(flow, step, result | error)``; ``flow`` names what it belongs to (a signal id while
a click is validated, a position id afterwards, ``"rebuild"``).

The position itself is a fold (``strategy_core.execution.Ledger``): order updates and executions change it
in any order and any number of times with the same result; a fill is applied only after its row is stored.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, cast

from actors.config import TradingInputs
from actors.errors import SymbolUnavailableError, WorkRejectedError
from actors.host import unexpected
from actors.messages import MessageSink
from actors.monitor.messages import MoveStopToEntry, PositionMarked, ReduceOnlyCloseRequested
from actors.risk.messages import (
    CheckOrder,
    OrderAllowed,
    OrderDenied,
    PositionClosed,
    PositionOpened,
    ReleaseReservation,
)
from actors.timers import MessageTimers
from exchange import BybitApiError, OrderOutcomeUnknownError, RetCode
from exchange.bybit import (
    AmendRequest,
    ClosedPnl,
    ExecutionReport,
    OrderAck,
    OrderRequest,
    OrderUpdate,
    PositionUpdate,
    WalletUpdate,
)
from storage import (
    ExecutionBook,
    ExecutionRecord,
    OrderRecord,
    PositionRecord,
    RejectionRecord,
    SlippageRecord,
    StoredSignal,
)
from strategy_core.config import InstrumentRules
from strategy_core.execution import (
    EXEC_TYPE_FUNDING,
    EntrySizing,
    ExecFill,
    Ledger,
    OrderPurpose,
    OrderState,
    OrderStatus,
    PositionStatus,
    SizingRefusal,
    advance_position,
    classify_fill,
    exchange_side,
    modelled_slippage_pct,
    order_link_id,
    order_status_from_exchange,
    position_id_for,
    size_entry,
    slippage_bps,
    split_take_profits,
)
from strategy_core.exposure import OpenPosition
from strategy_core.models import Side
from strategy_core.numeric import round_down_to_step, round_nearest_to_step
from supervision import ReplyFuture
from supervision.clock import Clock

from .config import ExecutionConfig
from .deps import PositionDeps
from .messages import (
    CloseOutcome,
    ClosePosition,
    FillWaitElapsed,
    GetPositions,
    PlacementOutcome,
    PlacementStatus,
    PlaceOrderFromSignal,
    PollFills,
    PositionChanged,
    PositionView,
    PrivateStreamResumed,
    RetryRebuild,
    RiskCheckDue,
    StepDone,
)
from .reconcile import RepairsMixin
from .repairs import AdoptExchangeClose, CancelOrphanOrders, RepairStepDone, Revalidate
from .words import rejection_words

__all__ = ["PositionBehaviour", "PositionMessage"]

PositionMessage = (
    PlaceOrderFromSignal
    | ClosePosition
    | GetPositions
    | OrderUpdate
    | ExecutionReport
    | PositionUpdate
    | WalletUpdate
    | PrivateStreamResumed
    | MoveStopToEntry
    | ReduceOnlyCloseRequested
    | OrderAllowed
    | OrderDenied
    | StepDone
    | FillWaitElapsed
    | PollFills
    | RetryRebuild
    | RiskCheckDue
    | Revalidate
    | AdoptExchangeClose
    | CancelOrphanOrders
    | RepairStepDone
)
"""Every message the PositionActor handles: commands, exchange events, decisions, replies, timers, repairs."""

_LIVE = (PositionStatus.OPEN, PositionStatus.PARTIAL_ACCEPTED)
_ENTRY_PURPOSES = (OrderPurpose.ENTRY, OrderPurpose.TOPUP)
_CLOSE_PURPOSES = (OrderPurpose.EXIT, OrderPurpose.MANUAL_CLOSE, OrderPurpose.FUNDING_EXIT)


def _ms(at: dt.datetime) -> int:
    return int(at.timestamp() * 1000)


def _at(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


@dataclass
class _Placement:
    """A click being validated: the signal, its sizing and everyone waiting for the answer."""

    signal: StoredSignal
    sizing: EntrySizing
    rules: InstrumentRules
    link: str
    requested_by: str
    replies: list[ReplyFuture[PlacementOutcome]]
    asked_at: float = 0.0


@dataclass
class _Position:
    """One position of this symbol: its stored record, its ledger and its flows."""

    record: PositionRecord
    ledger: Ledger
    rules: InstrumentRules | None
    signal_entry: Decimal | None = None
    modelled_bps: Decimal | None = None  # the slippage model for the signal's market context (E-05)
    replies: list[ReplyFuture[PlacementOutcome]] = field(default_factory=list)
    close_replies: list[ReplyFuture[CloseOutcome]] = field(default_factory=list)
    purposes: dict[str, OrderPurpose] = field(default_factory=dict)
    attempts: dict[OrderPurpose, int] = field(default_factory=dict)
    entry_settled: bool = False
    in_flight: set[str] = field(default_factory=set)
    protecting: bool = False
    closing_reason: str | None = None
    close_in_flight: bool = False
    finalizing: bool = False
    answer: PlacementOutcome | None = None
    placement: PlacementStatus | None = None  # how the entry settled (E-03), once it has

    @property
    def side(self) -> Side:
        return Side(self.record.side)

    @property
    def status(self) -> PositionStatus:
        return PositionStatus(self.record.status)

    def links(self, *purposes: OrderPurpose) -> list[str]:
        return [link for link, p in self.purposes.items() if p in purposes]

    def orders(self, *purposes: OrderPurpose) -> list[OrderState]:
        return [self.ledger.orders[link] for link in self.links(*purposes) if link in self.ledger.orders]


class PositionBehaviour(RepairsMixin):
    """The PositionActor's state machine (see the module docstring)."""

    def __init__(
        self,
        *,
        symbol: str,
        config: ExecutionConfig,
        inputs: TradingInputs,
        deps: PositionDeps,
        clock: Clock,
        self_ref: MessageSink,
        log: Any,
    ) -> None:
        self.symbol = symbol
        self.config = config
        self.inputs = inputs
        self.deps = deps
        self.clock = clock
        self.market: Clock = deps.market_clock or clock
        self.self_ref = self_ref
        self.log = log
        self.ready = False
        self._buffer: list[
            PlaceOrderFromSignal | ClosePosition | MoveStopToEntry | ReduceOnlyCloseRequested
        ] = []
        self._placing: dict[str, _Placement | list[ReplyFuture[PlacementOutcome]]] = {}
        self._positions: dict[str, _Position] = {}
        self._by_signal: dict[str, str] = {}
        self._by_link: dict[str, str] = {}
        self._lookups: list[ReplyFuture[CloseOutcome]] = []
        self._writes: deque[tuple[str, Callable[[], Awaitable[object]], Callable[[], None] | None]] = deque()
        self._writing = False
        self._after_write: Callable[[], None] | None = None
        self._timers = MessageTimers(clock, self_ref, log)

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        """Rebuild from PostgreSQL (then from the exchange) before accepting commands."""
        self._submit_rebuild(1)

    def stop(self) -> None:
        """Cancel timers; waiting clicks are answered by the gateway's timeout (a restart rebuilds)."""
        self._timers.close()

    def _submit_rebuild(self, attempt: int) -> None:
        store, symbol = self.deps.store, self.symbol

        async def load() -> ExecutionBook:
            return await store.load_book(symbol)

        self._job("rebuild", f"book:{attempt}", load)

    # -- messages --------------------------------------------------------------------------------------

    def handle(self, message: PositionMessage) -> tuple[PositionView, ...] | None:  # noqa: PLR0912 - a case per type
        """Dispatch one message; ``GetPositions`` answers with the views.

        Raises:
            TypeError: ``message`` is not a ``PositionMessage``.
        """
        match message:
            # -- commands
            case (
                PlaceOrderFromSignal() | ClosePosition() | MoveStopToEntry() | ReduceOnlyCloseRequested()
            ) if not self.ready:
                self._buffer.append(message)
            case PlaceOrderFromSignal():
                self._place(message)
            case ClosePosition():
                self._close_command(message)
            case GetPositions():
                return tuple(self._view(p) for p in self._positions.values())
            # -- exchange events (private stream, or REST polls told as the same types)
            case OrderUpdate():
                self._on_order(message)
            case ExecutionReport():
                self._store_fills([message])
            case PositionUpdate():
                self._on_exchange_position(message)
            case WalletUpdate():
                pass
            case PrivateStreamResumed():
                for position in list(self._positions.values()):
                    self._poll(position)
            # -- decisions (monitor)
            case MoveStopToEntry():
                self._move_stop(message)
            case ReduceOnlyCloseRequested():
                self._start_close_by_id(message.position_id, "funding", None)
            # -- risk verdicts
            case OrderAllowed():
                self._on_allowed(message.order_id)
            case OrderDenied():
                self._on_denied(message)
            # -- replies from the trio side
            case StepDone():
                self._on_step(message)
            # -- timers
            case FillWaitElapsed() | PollFills():
                # One live timer per kind: every position still waiting for its entry is polled.
                for position in list(self._positions.values()):
                    if not position.entry_settled or position.status is PositionStatus.CLOSING:
                        self._poll(position)
            case RetryRebuild():
                self._submit_rebuild(message.attempt)
            case RiskCheckDue():
                self._risk_check_due()
            # -- repairs (reconciler, C-02: actors.position.reconcile)
            case Revalidate() | AdoptExchangeClose() | CancelOrphanOrders() | RepairStepDone():
                self._repair(message)
            case _:
                raise unexpected("PositionMessage", message)
        return None

    # -- jobs ------------------------------------------------------------------------------------------

    def _job(self, flow: str, step: str, fn: Callable[[], Awaitable[object]]) -> None:
        async def job() -> StepDone:
            return StepDone(flow=flow, step=step, result=await fn())

        def failed(exc: Exception) -> StepDone:
            return StepDone(flow=flow, step=step, error=exc)

        try:
            self.deps.work.submit(job, self.self_ref, failed)
        except WorkRejectedError as exc:
            self.self_ref.tell(failed(exc))

    def _write(
        self, what: str, fn: Callable[[], Awaitable[object]], then: Callable[[], None] | None = None
    ) -> None:
        """Queue a write; writes run one at a time in the order made, so a row never goes back in time.

        ``then`` runs once the write is done (committed, or failed and logged): what acknowledges it.
        """
        self._writes.append((what, fn, then))
        if not self._writing:
            self._next_write()

    def _next_write(self) -> None:
        if not self._writes:
            self._writing = False
            return
        self._writing = True
        what, fn, then = self._writes.popleft()
        self._after_write = then
        self._job("write", what, fn)

    def _on_step(self, done: StepDone) -> None:  # noqa: PLR0912 - one branch per step kind
        kind = done.step.split(":", 1)[0]
        if done.flow == "write":
            if done.error is not None:
                self.log.warning("position write failed", what=done.step, error=repr(done.error))
            then, self._after_write = self._after_write, None
            if then is not None:
                then()
            self._next_write()
            return
        if done.flow == "rebuild":
            self._on_rebuild_step(done, kind)
            return
        if kind == "signal":
            self._on_signal_loaded(done)
            return
        if kind == "lookup":
            self._on_close_lookup(done)
            return
        position = self._positions.get(done.flow)
        if kind == "fills":
            self._on_fills_stored(done)
        elif position is None:
            self.log.info("step of an unknown flow ignored", flow=done.flow, step=done.step)
        elif kind == "intent":
            self._on_intent_stored(position, done)
        elif kind in {"entry", "send"}:
            self._on_entry_sent(position, done)
        elif kind == "poll":
            self._on_polled(position, done)
        elif kind == "protect":
            self._on_protected(position, done)
        elif kind == "close":
            self._on_close_sent(position, done)
        elif kind == "amend":
            self._on_amended(position, done)
        elif kind == "final":
            self._on_final(position, done)

    # -- rebuild ---------------------------------------------------------------------------------------

    def _on_rebuild_step(self, done: StepDone, kind: str) -> None:
        if done.error is not None:
            attempt = int(done.step.split(":", 1)[1]) if ":" in done.step else 1
            self.log.warning("position rebuild failed", step=done.step, error=repr(done.error))
            if attempt >= self.config.max_rebuild_attempts:
                raise RuntimeError(f"expected the position rebuild to succeed, got {done.error!r}")
            self._timers.tell_later(min(0.1 * 2**attempt, 5.0), RetryRebuild(attempt + 1))
            return
        if kind == "book":
            assert isinstance(done.result, ExecutionBook)
            self._restore(done.result)
            self.ready = True
            for position in self._positions.values():
                self._poll(position)  # the exchange's truth since the last stored fill
            buffered, self._buffer = self._buffer, []
            for message in buffered:
                self.handle(message)

    def _restore(self, book: ExecutionBook) -> None:
        rules = self.inputs.instruments.get(self.symbol)  # None: protective orders wait for the rules
        for record in book.positions:
            position = _Position(record=record, ledger=Ledger(side=Side(record.side)), rules=rules)
            self._register(position)
        for order in book.orders:
            owner = self._positions.get(order.position_id or "")
            if owner is None:
                continue
            purpose = OrderPurpose(order.purpose)
            self._track(
                owner,
                OrderState(
                    order_link_id=order.client_order_id,
                    purpose=purpose,
                    qty=order.qty,
                    status=OrderStatus(order.status),
                    exchange_order_id=order.exchange_order_id,
                    cum_qty=order.filled_qty,
                    avg_price=order.avg_fill_price,
                    price=order.price,
                    trigger_price=order.trigger_price,
                ),
                order.attempt,
            )
        for e in book.executions:
            holder = self._positions.get(e.position_id or "")
            if holder is not None:
                holder.ledger = holder.ledger.apply_fill(_fill_of(e))
        for position in self._positions.values():
            if position.status is not PositionStatus.OPENING:
                position.entry_settled = True

    # -- placement (E-02) ------------------------------------------------------------------------------

    def _place(self, command: PlaceOrderFromSignal) -> None:
        sid = command.signal_id.lower()
        pid = self._by_signal.get(sid)
        if pid is not None:
            self._answer_when_settled(self._positions[pid], command.reply)
            return
        waiting = self._placing.get(sid)
        if waiting is not None:
            (waiting.replies if isinstance(waiting, _Placement) else waiting).append(command.reply)
            return
        self._placing[sid] = [command.reply]
        store = self.deps.store

        async def load() -> tuple[StoredSignal | None, PositionRecord | None]:
            signal = await store.load_signal(sid)
            existing = await store.get_position(position_id_for(sid)) if signal is not None else None
            return signal, existing

        self._job(sid, f"signal:{command.requested_by}", load)

    def _on_signal_loaded(self, done: StepDone) -> None:  # noqa: PLR0911 - one return per refusal
        sid = done.flow
        waiting = self._placing.get(sid)
        if not isinstance(waiting, list):
            return
        if done.error is not None:
            self.log.warning("signal read failed", signal_id=sid, error=repr(done.error))
            self._refuse(sid, "storage_unavailable", "The signal could not be read; nothing was sent.")
            return
        signal, existing = cast("tuple[StoredSignal | None, PositionRecord | None]", done.result)
        if signal is None:
            self._refuse(sid, "unknown_signal", "There is no such signal.")
            return
        if existing is not None:
            del self._placing[sid]
            outcome = self._outcome_of_record(existing)
            for reply in waiting:
                reply.set(outcome)
            return
        if signal.symbol != self.symbol:
            self._refuse(sid, "wrong_symbol", f"The signal is for {signal.symbol}, not {self.symbol}.")
            return
        if signal.status != "new":
            self._refuse(
                sid, "signal_not_new", f"The signal is {signal.status}; only a new signal can be placed."
            )
            return
        age = (self.market.now() - signal.created_at).total_seconds()
        if age > self.config.order_grace_seconds:
            self.deps.risk.tell(ReleaseReservation(signal_id=str(signal.id)))
            self._refuse(
                sid,
                "signal_expired",
                f"The signal is {int(age)} s old; signals can be placed within "
                f"{self.config.order_grace_seconds} s.",
            )
            return
        try:
            rules = self.inputs.order_rules(self.symbol)
        except SymbolUnavailableError as exc:
            self._refuse(
                sid,
                "instrument_unavailable",
                f"{self.symbol} cannot take orders now: {exc.reason} (no tick or size step is guessed).",
            )
            return
        min_notional = (self.deps.min_notional_usd or {}).get(self.symbol, Decimal(0))
        sizing = size_entry(
            Side(signal.side),
            signal.entry,
            signal.sl,
            self.inputs.risk_per_trade_usd,
            rules,
            min_notional,
            self.config.entry_slippage_ticks,
        )
        if isinstance(sizing, SizingRefusal):
            self._refuse(sid, sizing.reason_code, sizing.message)
            return
        link = order_link_id(sid, OrderPurpose.ENTRY, 0)
        requested_by = done.step.split(":", 1)[1]
        self._placing[sid] = _Placement(
            signal, sizing, rules, link, requested_by, waiting, self.clock.monotonic()
        )
        self._timers.tell_later(self.config.risk_timeout_s, RiskCheckDue())
        self.deps.risk.tell(
            CheckOrder(
                order_id=link,
                symbol=self.symbol,
                side=Side(signal.side),
                risk_usd=sizing.risk_usd,
                risk_r=sizing.risk_r,
                reply_to=self.self_ref,
                signal_id=str(signal.id),
            )
        )

    def _placement_of(self, link: str) -> _Placement | None:
        for placing in self._placing.values():
            if isinstance(placing, _Placement) and placing.link == link:
                return placing
        return None

    def _risk_check_due(self) -> None:
        """Refuse clicks the RiskActor left unanswered (fail closed); look again for the younger ones."""
        now, timeout = self.clock.monotonic(), self.config.risk_timeout_s
        waiting = [p for p in self._placing.values() if isinstance(p, _Placement)]
        for placing in waiting:
            if now - placing.asked_at >= timeout:
                self._refuse(
                    str(placing.signal.id),
                    "risk_unavailable",
                    "The risk check did not answer in time; nothing was sent (try again).",
                )
        if any(isinstance(p, _Placement) for p in self._placing.values()):
            self._timers.tell_later(timeout / 2, RiskCheckDue())

    def _on_denied(self, denied: OrderDenied) -> None:
        placing = self._placement_of(denied.order_id)
        if placing is None:
            return
        sid = str(placing.signal.id)
        self._refuse(
            sid, f"risk_denied:{denied.reason_code}", f"The risk check refused the trade: {denied.reason}."
        )

    def _on_allowed(self, link: str) -> None:
        placing = self._placement_of(link)
        if placing is None:
            return
        signal, sizing = placing.signal, placing.sizing
        sid = str(signal.id)
        side = Side(signal.side)
        pid = position_id_for(sid)
        record = PositionRecord(
            id=pid,
            signal_id=sid,
            symbol=self.symbol,
            side=side.value,
            status=PositionStatus.OPENING.value,
            requested_size_base=sizing.qty,
            sl=signal.sl,
            tp1=signal.tp1,
            tp2=signal.tp2,
            tp3=signal.tp3,
            risk_usd=sizing.risk_usd,
            risk_r=sizing.risk_r,
            opened_at=self.market.now(),
        )
        intent = OrderRecord(
            client_order_id=link,
            position_id=pid,
            signal_id=sid,
            symbol=self.symbol,
            side=exchange_side(side, opening=True),
            order_type="Limit",
            time_in_force="IOC",
            reduce_only=False,
            purpose=OrderPurpose.ENTRY.value,
            qty=sizing.qty,
            price=sizing.price,
        )
        position = _Position(
            record=record,
            ledger=Ledger(side=side),
            rules=placing.rules,
            signal_entry=signal.entry,
            modelled_bps=self._modelled_bps(signal),
        )
        position.replies.extend(placing.replies)
        del self._placing[sid]
        self._register(position)
        self._track(position, OrderState(link, OrderPurpose.ENTRY, sizing.qty, price=sizing.price), 0)
        store = self.deps.store

        requested_by = placing.requested_by

        async def commit() -> PositionRecord:
            return await store.open_position(record, intent, requested_by)

        self._job(pid, "intent", commit)

    def _on_intent_stored(self, position: _Position, done: StepDone) -> None:
        if done.error is not None:
            self._fail(position, "storage_unavailable", "The order could not be recorded; nothing was sent.")
            return
        stored = done.result
        assert isinstance(stored, PositionRecord)
        if stored.status != PositionStatus.OPENING.value or stored.executed_size_base > 0:
            position.record = stored  # an earlier click's position: never a second order
            position.entry_settled = True
            self._reply_placement(position)
            return
        self._publish(position)  # opening: the intent is committed
        order = position.ledger.orders[position.links(OrderPurpose.ENTRY)[0]]
        self._send(position, order, "entry")

    def _send(self, position: _Position, order: OrderState, step: str) -> None:
        """Send an order whose intent is committed (create; unknown outcome settled by ``orderLinkId``)."""
        request = self._request(position, order)
        exchange = self.deps.exchange
        position.in_flight.add(order.order_link_id)

        async def create() -> OrderAck:
            return await exchange.create_order(request)

        self._job(position.record.id, f"{step}:{order.order_link_id}", create)

    def _request(self, position: _Position, order: OrderState) -> OrderRequest:
        side = position.side
        if order.purpose in _ENTRY_PURPOSES:
            xside = exchange_side(side, opening=True)
        else:
            xside = exchange_side(side, opening=False)
        if order.purpose is OrderPurpose.SL:
            return OrderRequest(
                symbol=self.symbol,
                side=xside,
                order_type="Market",
                qty=order.qty,
                order_link_id=order.order_link_id,
                reduce_only=True,
                close_on_trigger=True,
                trigger_price=order.trigger_price,
                trigger_direction=2 if side is Side.LONG else 1,
                trigger_by="LastPrice",
            )
        if order.purpose is OrderPurpose.TP:
            return OrderRequest(
                symbol=self.symbol,
                side=xside,
                order_type="Limit",
                qty=order.qty,
                price=order.price,
                time_in_force="GTC",
                order_link_id=order.order_link_id,
                reduce_only=True,
            )
        if order.price is None:
            return OrderRequest(
                symbol=self.symbol,
                side=xside,
                order_type="Market",
                qty=order.qty,
                time_in_force="IOC",
                order_link_id=order.order_link_id,
                reduce_only=order.purpose in _CLOSE_PURPOSES,
            )
        return OrderRequest(
            symbol=self.symbol,
            side=xside,
            order_type="Limit",
            qty=order.qty,
            price=order.price,
            time_in_force="IOC",
            order_link_id=order.order_link_id,
            reduce_only=order.purpose in _CLOSE_PURPOSES,
        )

    def _on_entry_sent(self, position: _Position, done: StepDone) -> None:
        link = done.step.split(":", 1)[1]
        position.in_flight.discard(link)
        error = done.error
        if error is None:
            ack = done.result
            assert isinstance(ack, OrderAck)
            self._ack(position, link, ack)
            if position.status is PositionStatus.OPENING and position.signal_entry is not None:
                sid = position.record.signal_id or ""
                store = self.deps.store
                self._write("signal_placed", lambda: store.set_signal_status(sid, "placed"))
            self._timers.tell_later(self.config.fill_wait_seconds, FillWaitElapsed(order_link_id=link))
            self._check_entry(position)
            return
        if isinstance(error, BybitApiError):
            self._rejected(position, link, error)
            only_entry = position.links(*_ENTRY_PURPOSES) == [link]
            if only_entry and not position.ledger.entry_qty:
                code, words = rejection_words(error)
                self.deps.risk.tell(ReleaseReservation(signal_id=position.record.signal_id or ""))
                self._fail(position, code, words, status="rejected")
                return
            self._check_entry(position)
            return
        if isinstance(error, OrderOutcomeUnknownError):
            # Never sent again: the outcome is looked up again by orderLinkId (a poll).
            self.log.warning("entry outcome unknown; looking it up", order_link_id=link)
            self._poll(position)
            return
        self.log.warning("entry send failed", order_link_id=link, error=repr(error))
        self._poll(position)

    def _ack(self, position: _Position, link: str, ack: OrderAck) -> None:
        known = position.ledger.orders.get(link)
        status = (
            OrderStatus.UNTRIGGERED if known and known.purpose is OrderPurpose.SL else OrderStatus.SUBMITTED
        )
        position.ledger = position.ledger.apply_order_update(link, status, exchange_order_id=ack.order_id)
        self._store_order(position, link)

    def _rejected(self, position: _Position, link: str, error: BybitApiError) -> None:
        code, _ = rejection_words(error)
        position.ledger = position.ledger.apply_order_update(link, OrderStatus.REJECTED)
        self._store_order(position, link)
        order = position.ledger.orders.get(link)
        rejection = RejectionRecord(
            client_order_id=link,
            position_id=position.record.id,
            signal_id=position.record.signal_id,
            symbol=self.symbol,
            ret_code=error.ret_code if error.ret_code != 0 else -1,
            ret_msg=str(error),
            error_kind=code,
            request={} if order is None else self._request(position, order).to_body(),
        )
        store = self.deps.store
        self._write("rejection", lambda: store.record_rejection(rejection))

    # -- exchange events -------------------------------------------------------------------------------

    def _on_order(self, update: OrderUpdate) -> None:
        position = self._position_of_link(update.order_link_id)
        if position is None:
            return
        try:
            status = order_status_from_exchange(update.status)
        except ValueError:
            self.log.warning("unknown order status", status=update.status)
            return
        position.ledger = position.ledger.apply_order_update(
            update.order_link_id,
            status,
            cum_qty=update.cum_exec_qty,
            avg_price=update.avg_price,
            exchange_order_id=update.order_id or None,
            trigger_price=update.trigger_price,
        )
        self._store_order(position, update.order_link_id)
        self._progress(position)

    def _store_fills(self, reports: Sequence[ExecutionReport]) -> None:
        records: list[ExecutionRecord] = []
        for report in reports:
            if report.symbol != self.symbol:
                continue
            position = self._position_of_execution(report)
            if position is None:
                continue
            if report.exec_id in position.ledger.fills:
                continue
            records.append(_record_of(report, position.record.id))
        if not records:
            return
        store = self.deps.store
        batch = tuple(records)

        async def insert() -> tuple[ExecutionRecord, ...]:
            await store.record_executions(batch)
            return batch  # stored (new or already there): now they may be acknowledged

        self._job("fills", "fills", insert)

    def _on_fills_stored(self, done: StepDone) -> None:
        if done.error is not None:
            self.log.warning("fills not stored; the next poll brings them again", error=repr(done.error))
            return
        touched: dict[str, _Position] = {}
        for record in cast("tuple[ExecutionRecord, ...]", done.result):
            position = self._positions.get(record.position_id or "")
            if position is None:
                continue
            position.ledger = position.ledger.apply_fill(_fill_of(record))
            touched[position.record.id] = position
            self._log_slippage(position, record)
        for position in touched.values():
            self._progress(position)

    def _on_exchange_position(self, update: PositionUpdate) -> None:
        if update.symbol != self.symbol or self.deps.monitor is None or update.mark_price is None:
            return
        for position in self._positions.values():
            if position.status in _LIVE and position.ledger.avg_entry is not None:
                self.deps.monitor.tell(
                    PositionMarked(
                        position=self._open_position(position),
                        mark=update.mark_price,
                        tp1_hit=self._tp1_hit(position),
                    )
                )

    def _tp1_hit(self, position: _Position) -> bool:
        tps = position.orders(OrderPurpose.TP)
        return bool(tps) and tps[0].cum_qty > 0

    # -- polling (WS fallback, rebuild, reconnect) ------------------------------------------------------

    def _poll(self, position: _Position) -> None:
        exchange, symbol = self.deps.exchange, self.symbol
        links = [
            link
            for link in position.purposes
            if link in position.ledger.orders and not position.ledger.orders[link].status.terminal
        ]
        since = _ms(position.record.opened_at) - 60_000

        async def poll() -> tuple[list[OrderUpdate], list[ExecutionReport]]:
            orders: list[OrderUpdate] = []
            for link in links:
                found = await exchange.get_order(symbol, order_link_id=link)
                if found is not None:
                    orders.append(found)
            fills: list[ExecutionReport] = []
            cursor: str | None = None
            for _ in range(20):
                page = await exchange.get_executions(
                    symbol=symbol, start_time=since, cursor=cursor, limit=100
                )
                fills.extend(page.items)
                if not page.next_cursor or not page.items:
                    break
                cursor = page.next_cursor
            return orders, fills

        self._job(position.record.id, "poll", poll)

    def _on_polled(self, position: _Position, done: StepDone) -> None:
        if done.error is not None:
            self.log.warning("poll failed", position_id=position.record.id, error=repr(done.error))
            if not position.entry_settled and position.status is PositionStatus.OPENING:
                self._timers.tell_later(
                    self.config.poll_interval_s,
                    PollFills(order_link_id=position.links(OrderPurpose.ENTRY)[0]),
                )
            return
        orders, fills = cast("tuple[list[OrderUpdate], list[ExecutionReport]]", done.result)
        mine = [f for f in fills if self._position_of_execution(f) is position]
        self._store_fills(mine)
        for order in orders:
            self._on_order(order)
        entry_links = position.links(*_ENTRY_PURPOSES)
        seen = {o.order_link_id for o in orders}
        unknown = [
            link
            for link in entry_links
            if position.ledger.orders[link].status is OrderStatus.NEW
            and link not in seen
            and link not in position.in_flight
        ]
        # A protective order whose intent was committed but never reached the exchange (a crash between the
        # two): sent now under the same orderLinkId, which the exchange refuses to duplicate.
        for pending in position.orders(OrderPurpose.SL, OrderPurpose.TP):
            link = pending.order_link_id
            lost = pending.status is OrderStatus.NEW and link not in seen and link not in position.in_flight
            if lost and position.status in _LIVE:
                self._send(position, pending, "send")
        if unknown and position.status is PositionStatus.OPENING:
            # The intent never reached the exchange (or its answer is lost for good): never sent again.
            for link in unknown:
                position.ledger = position.ledger.apply_order_update(link, OrderStatus.EXPIRED)
                self._store_order(position, link)
        if not position.entry_settled and position.status is PositionStatus.OPENING:
            self._timers.tell_later(
                self.config.poll_interval_s, PollFills(order_link_id=entry_links[0] if entry_links else "")
            )
        self._progress(position)

    # -- progress: entry settled → protect; flat → final -----------------------------------------------

    def _progress(self, position: _Position) -> None:
        if not position.entry_settled:
            self._check_entry(position)
            return
        self._sync_record(position)
        if position.status in _LIVE and not position.protecting and not position.links(OrderPurpose.SL):
            self._protect(position)
        if position.status in (*_LIVE, PositionStatus.FAILED_UNDERFILL, PositionStatus.CLOSING):
            self._check_close(position)

    def _entry_done(self, position: _Position) -> bool:
        orders = position.orders(*_ENTRY_PURPOSES)
        return bool(orders) and all(
            o.status.terminal and position.ledger.filled_of(o.order_link_id) >= o.cum_qty for o in orders
        )

    def _check_entry(self, position: _Position) -> None:
        if position.entry_settled or not self._entry_done(position):
            return
        ledger, record = position.ledger, position.record
        filled = ledger.entry_qty
        requested = record.requested_size_base
        verdict = classify_fill(
            filled,
            requested,
            min_fill_ratio=self.config.min_fill_ratio_to_open,
            filled_ratio=self.config.filled_ratio,
            policy=self.config.partial_fill_policy,
        )
        topups = len(position.links(OrderPurpose.TOPUP))
        if verdict == "partial_retry" and topups < self.config.max_retries_on_partial and position.rules:
            remaining = round_down_to_step(requested - filled, position.rules.qty_step)
            if remaining >= position.rules.min_qty:
                self._top_up(position, remaining, topups + 1)
                return
        if verdict == "partial_retry":
            verdict = "partial_accept"
        position.entry_settled = True
        placements: dict[str, PlacementStatus] = {
            "filled": "filled",
            "partial_accept": "partial",
            "underfill": "underfill",
        }
        position.placement = placements[verdict]
        if filled == 0:
            position.placement = "expired"
            status = PositionStatus.FAILED_UNDERFILL
        else:
            status = {
                "filled": PositionStatus.OPEN,
                "partial_accept": PositionStatus.PARTIAL_ACCEPTED,
                "underfill": PositionStatus.FAILED_UNDERFILL,
            }[verdict]
        self._move(position, status)
        self._sync_record(position)
        if status is PositionStatus.FAILED_UNDERFILL:
            self.deps.risk.tell(ReleaseReservation(signal_id=record.signal_id or ""))
            if filled > 0:
                position.closing_reason = "underfill"
                self._move(position, PositionStatus.CLOSING)
                self._send_close(position)
            else:
                self._finish_without_fill(position)
        else:
            self.deps.risk.tell(
                PositionOpened(position=self._open_position(position), signal_id=position.record.signal_id)
            )
            if self.deps.monitor is not None and ledger.avg_entry is not None:
                self.deps.monitor.tell(
                    PositionMarked(position=self._open_position(position), mark=ledger.avg_entry)
                )
        self._save(position, then=lambda: self._reply_placement(position))  # answered once stored
        if position.close_replies and position.status in _LIVE:
            position.closing_reason = "manual"
            self._move(position, PositionStatus.CLOSING)
            self._save(position)
            self._send_close(position)
        self._progress(position)

    def _top_up(self, position: _Position, qty: Decimal, attempt: int) -> None:
        sid = position.record.signal_id or position.record.id
        link = order_link_id(sid, OrderPurpose.TOPUP, attempt)
        order = OrderState(link, OrderPurpose.TOPUP, qty)
        self._track(position, order, attempt)
        self._intent_then_send(position, order, "entry", attempt)

    def _intent_then_send(self, position: _Position, order: OrderState, step: str, attempt: int) -> None:
        intent = self._order_record(position, order, attempt)
        request = self._request(position, order)
        store, exchange = self.deps.store, self.deps.exchange

        position.in_flight.add(order.order_link_id)

        async def commit_and_send() -> OrderAck:
            await store.record_intent(intent)
            return await exchange.create_order(request)

        self._job(position.record.id, f"{step}:{order.order_link_id}", commit_and_send)

    def _order_record(self, position: _Position, order: OrderState, attempt: int) -> OrderRecord:
        request = self._request(position, order)
        return OrderRecord(
            client_order_id=order.order_link_id,
            position_id=position.record.id,
            signal_id=position.record.signal_id,
            symbol=self.symbol,
            side=request.side,
            order_type=request.order_type,
            time_in_force=request.time_in_force,
            reduce_only=request.reduce_only,
            purpose=order.purpose.value,
            qty=order.qty,
            price=order.price,
            trigger_price=order.trigger_price,
            attempt=attempt,
        )

    def _protect(self, position: _Position) -> None:
        """Place the reduce-only stop and TP1..TP3 sized from the actual fill (each intent first)."""
        rules, record = position.rules, position.record
        if rules is None or record.sl is None:
            return
        filled = round_down_to_step(position.ledger.open_qty, rules.qty_step)
        if filled < rules.min_qty:
            return
        position.protecting = True
        sid = record.signal_id or record.id
        orders: list[OrderState] = [
            OrderState(
                order_link_id(sid, OrderPurpose.SL, 0),
                OrderPurpose.SL,
                filled,
                trigger_price=round_nearest_to_step(record.sl, rules.tick_size),
            )
        ]
        targets = (record.tp1, record.tp2, record.tp3)
        sizes = split_take_profits(filled, self.config.tp_split, rules.qty_step)
        for index, (target, size) in enumerate(zip(targets, sizes, strict=True), start=1):
            if target is None or size < rules.min_qty:
                continue
            orders.append(
                OrderState(
                    order_link_id(sid, OrderPurpose.TP, index),
                    OrderPurpose.TP,
                    size,
                    price=round_nearest_to_step(target, rules.tick_size),
                )
            )
        for index, order in enumerate(orders):
            self._track(position, order, index)
            position.in_flight.add(order.order_link_id)
        intents = [self._order_record(position, o, position.attempts.get(o.purpose, 0)) for o in orders]
        requests = [self._request(position, o) for o in orders]
        store, exchange = self.deps.store, self.deps.exchange

        async def place() -> list[tuple[str, OrderAck | BybitApiError]]:
            out: list[tuple[str, OrderAck | BybitApiError]] = []
            for intent, request in zip(intents, requests, strict=True):
                await store.record_intent(intent)
                try:
                    out.append((request.order_link_id, await exchange.create_order(request)))
                except BybitApiError as exc:
                    out.append((request.order_link_id, exc))
            return out

        self._job(record.id, "protect", place)

    def _on_protected(self, position: _Position, done: StepDone) -> None:
        position.protecting = False
        position.in_flight -= set(position.links(OrderPurpose.SL, OrderPurpose.TP))
        if done.error is not None:
            self.log.error("protective orders failed", position_id=position.record.id, error=repr(done.error))
            self._poll(position)
            return
        for link, outcome in cast("list[tuple[str, OrderAck | BybitApiError]]", done.result):
            if isinstance(outcome, OrderAck):
                self._ack(position, link, outcome)
            else:
                self._rejected(position, link, outcome)
        self._publish(position)

    # -- break-even (R-05) -----------------------------------------------------------------------------

    def _move_stop(self, decision: MoveStopToEntry) -> None:
        position = self._positions.get(decision.position_id)
        if position is None or position.status not in _LIVE or position.rules is None:
            return
        stops = [o for o in position.orders(OrderPurpose.SL) if not o.status.terminal]
        if not stops:
            return
        new_sl = round_nearest_to_step(decision.new_sl, position.rules.tick_size)
        request = AmendRequest(symbol=self.symbol, order_link_id=stops[0].order_link_id, trigger_price=new_sl)
        exchange = self.deps.exchange

        async def amend() -> Decimal:
            try:
                await exchange.amend_order(request)
            except BybitApiError as exc:
                if exc.code is not RetCode.NOT_MODIFIED:
                    raise
            return new_sl

        self._job(position.record.id, f"amend:{stops[0].order_link_id}", amend)

    def _on_amended(self, position: _Position, done: StepDone) -> None:
        link = done.step.split(":", 1)[1]
        if done.error is not None:
            self.log.warning(
                "stop not moved to entry", position_id=position.record.id, error=repr(done.error)
            )
            if isinstance(done.error, BybitApiError):
                self._rejected_amend(position, link, done.error)
            return
        new_sl = done.result
        assert isinstance(new_sl, Decimal)
        position.ledger = position.ledger.apply_order_update(
            link, position.ledger.orders[link].status, trigger_price=new_sl
        )
        position.record = replace(position.record, sl=new_sl, be_moved=True)
        self._store_order(position, link)
        self._save(position)

    def _rejected_amend(self, position: _Position, link: str, error: BybitApiError) -> None:
        code, _ = rejection_words(error)
        rejection = RejectionRecord(
            client_order_id=link,
            position_id=position.record.id,
            signal_id=position.record.signal_id,
            symbol=self.symbol,
            ret_code=error.ret_code or -1,
            ret_msg=str(error),
            error_kind=code,
            request={"amend": "trigger_price"},
        )
        store = self.deps.store
        self._write("rejection", lambda: store.record_rejection(rejection))

    # -- close (E-06, R-06) ----------------------------------------------------------------------------

    def _close_command(self, command: ClosePosition) -> None:
        if command.position_id in self._positions:
            self._start_close_by_id(command.position_id, command.reason, command.reply)
            return
        store, reply = self.deps.store, command.reply
        self._lookups.append(reply)

        async def lookup() -> tuple[ReplyFuture[CloseOutcome], str, PositionRecord | None]:
            return reply, command.position_id, await store.get_position(command.position_id)

        self._job("lookup", "lookup", lookup)

    def _on_close_lookup(self, done: StepDone) -> None:
        if done.error is not None:
            for reply in self._lookups:
                reply.set_exception(done.error)
            self._lookups.clear()
            return
        reply, position_id, record = cast(
            "tuple[ReplyFuture[CloseOutcome], str, PositionRecord | None]", done.result
        )
        if reply in self._lookups:
            self._lookups.remove(reply)
        if (
            record is not None
            and record.status == PositionStatus.CLOSED.value
            and record.symbol == self.symbol
        ):
            reply.set(
                CloseOutcome(
                    position_id=position_id,
                    status="already_closed",
                    position=_view_of(record),
                    pnl_usd=record.pnl_usd,
                    fees_usd=record.fees_usd,
                    funding_usd=record.funding_usd,
                    message="The position is already closed.",
                    reason_code="already_closed",
                )
            )
            return
        reply.set(
            CloseOutcome(
                position_id=position_id,
                status="unknown_position",
                position=None,
                pnl_usd=None,
                fees_usd=None,
                funding_usd=None,
                message=f"There is no open position {position_id} on {self.symbol}.",
                reason_code="unknown_position",
            )
        )

    def _start_close_by_id(
        self, position_id: str, reason: str, reply: ReplyFuture[CloseOutcome] | None
    ) -> None:
        position = self._positions.get(position_id)
        if position is None:
            return
        if position.status is PositionStatus.CLOSED:
            if reply is not None:
                reply.set(self._close_outcome(position, "already_closed", "The position is already closed."))
            return
        if reply is not None:
            position.close_replies.append(reply)
        if position.status is PositionStatus.CLOSING or position.closing_reason is not None:
            return
        if position.status is PositionStatus.OPENING:
            return  # answered once the entry settles and the close proceeds
        position.closing_reason = reason
        self._move(position, PositionStatus.CLOSING)
        self._save(position)
        self._send_close(position)

    def _send_close(self, position: _Position) -> None:
        """Cancel the protective orders, then close what is open with a reduce-only IOC market order."""
        if position.close_in_flight:
            return
        rules = position.rules
        open_qty = position.ledger.open_qty
        if rules is not None:
            open_qty = round_down_to_step(open_qty, rules.qty_step)
        live = [
            o.order_link_id
            for o in position.orders(OrderPurpose.SL, OrderPurpose.TP)
            if not o.status.terminal
        ]
        purpose = (
            OrderPurpose.FUNDING_EXIT if position.closing_reason == "funding" else OrderPurpose.MANUAL_CLOSE
        )
        if position.closing_reason in {"underfill", "tp", "sl"}:
            purpose = OrderPurpose.EXIT
        attempt = len(position.links(*_CLOSE_PURPOSES))
        order: OrderState | None = None
        if open_qty > 0:
            sid = position.record.signal_id or position.record.id
            order = OrderState(order_link_id(sid, purpose, attempt), purpose, open_qty)
            self._track(position, order, attempt)
        intent = None if order is None else self._order_record(position, order, attempt)
        request = None if order is None else self._request(position, order)
        store, exchange, symbol = self.deps.store, self.deps.exchange, self.symbol
        position.close_in_flight = True

        async def close() -> OrderAck | None:
            for link in live:
                try:
                    await exchange.cancel_order(symbol, order_link_id=link)
                except BybitApiError as exc:
                    if exc.code not in {RetCode.ORDER_NOT_EXISTS, RetCode.ORDER_ALREADY_FINISHED}:
                        raise
            if intent is None or request is None:
                return None
            await store.record_intent(intent)
            return await exchange.create_order(request)

        self._job(position.record.id, f"close:{'' if order is None else order.order_link_id}", close)

    def _on_close_sent(self, position: _Position, done: StepDone) -> None:
        position.close_in_flight = False
        link = done.step.split(":", 1)[1]
        if done.error is not None:
            if isinstance(done.error, BybitApiError) and link:
                self._rejected(position, link, done.error)
            self.log.warning("close order failed", position_id=position.record.id, error=repr(done.error))
        elif isinstance(done.result, OrderAck) and link:
            self._ack(position, link, done.result)
        self._poll(position)

    def _check_close(self, position: _Position) -> None:
        if position.finalizing or position.status is PositionStatus.CLOSED:
            return
        if not self._entry_done(position):
            return
        ledger = position.ledger
        if ledger.entry_qty > 0 and ledger.open_qty <= 0:
            if position.closing_reason is None:
                stops = position.orders(OrderPurpose.SL)
                position.closing_reason = "sl" if stops and stops[0].cum_qty > 0 else "tp"
            self._finalize(position)
            return
        if position.status is not PositionStatus.CLOSING or position.close_in_flight:
            return
        closes = position.orders(*_CLOSE_PURPOSES)
        settled = all(o.status.terminal and ledger.filled_of(o.order_link_id) >= o.cum_qty for o in closes)
        if settled and len(closes) < self.config.close_attempts:
            self._send_close(position)

    def _finish_without_fill(self, position: _Position) -> None:
        now = self.market.now()
        position.record = replace(
            position.record,
            status=PositionStatus.CLOSED.value,
            closed_at=now,
            close_reason="underfill",
            pnl_usd=Decimal(0),
        )
        position.finalizing = True

    def _finalize(self, position: _Position) -> None:
        """Read the exchange's closed-PnL and funding for this position, then close it (E-06)."""
        position.finalizing = True
        exchange, symbol = self.deps.exchange, self.symbol
        exit_ids = {
            o.exchange_order_id
            for o in position.orders(OrderPurpose.SL, OrderPurpose.TP, *_CLOSE_PURPOSES)
            if o.exchange_order_id
        }
        opened = _ms(position.record.opened_at)
        since = opened - 60_000
        pid, store = position.record.id, self.deps.store

        async def final() -> tuple[list[ClosedPnl], list[ExecutionRecord]]:
            rows = await exchange.get_closed_pnl(symbol, start_time=since, limit=100)
            page = await exchange.get_executions(
                symbol=symbol, start_time=opened, exec_type=EXEC_TYPE_FUNDING
            )
            # One-way mode: every funding settlement on the symbol while this position was open is its own.
            funding = [_record_of(f, pid) for f in page.items if f.exec_type == EXEC_TYPE_FUNDING]
            await store.record_executions(funding)  # committed before the close acknowledges them
            return [r for r in rows if r.order_id in exit_ids], funding

        self._job(position.record.id, "final", final)

    def _on_final(self, position: _Position, done: StepDone) -> None:
        if done.error is not None:
            self.log.warning("closed-pnl read failed; retrying", position_id=position.record.id)
            position.finalizing = False
            self._timers.tell_later(self.config.poll_interval_s, PollFills(order_link_id=""))
            self._finalize(position)
            return
        rows, funding = cast("tuple[list[ClosedPnl], list[ExecutionRecord]]", done.result)
        for f in funding:
            position.ledger = position.ledger.apply_fill(_fill_of(f))
        pnl = sum((r.closed_pnl for r in rows), Decimal(0))
        now = self.market.now()
        ledger = position.ledger
        position.record = replace(
            position.record,
            status=advance_position(position.status, PositionStatus.CLOSED).value,
            closed_at=now,
            close_reason=position.closing_reason,
            avg_exit_price=ledger.avg_exit,
            pnl_usd=pnl,
            fees_usd=ledger.fees,
            funding_usd=ledger.funding,
        )
        self._sync_record(position)
        record = position.record
        store = self.deps.store
        details: dict[str, object] = {
            "symbol": self.symbol,
            "reason": record.close_reason,
            "pnl_usd": str(pnl),
            "fees_usd": str(record.fees_usd),
            "funding_usd": str(record.funding_usd),
        }

        def acknowledge() -> None:
            self.deps.risk.tell(PositionClosed(position_id=record.id, closed_at=now))
            if self.deps.monitor is not None:
                self.deps.monitor.tell(PositionClosed(position_id=record.id, closed_at=now))
            outcome = self._close_outcome(position, "closed", self._closed_sentence(position))
            for reply in position.close_replies:
                reply.set(outcome)
            position.close_replies.clear()
            self._publish(position)

        self._write(
            "close", lambda: store.close_position(record, actor="position", details=details), then=acknowledge
        )

    def _closed_sentence(self, position: _Position) -> str:
        record = position.record
        return (
            f"Closed {record.symbol} {record.side}: PnL {record.pnl_usd} USDT after fees "
            f"{record.fees_usd} USDT, funding {record.funding_usd} USDT."
        )

    # -- records, views, answers -----------------------------------------------------------------------

    def _register(self, position: _Position) -> None:
        self._positions[position.record.id] = position
        if position.record.signal_id is not None:
            self._by_signal[position.record.signal_id.lower()] = position.record.id

    def _track(self, position: _Position, order: OrderState, attempt: int) -> None:
        position.ledger = position.ledger.with_order(order)
        position.purposes[order.order_link_id] = order.purpose
        position.attempts[order.purpose] = max(position.attempts.get(order.purpose, 0), attempt)
        self._by_link[order.order_link_id] = position.record.id

    def _position_of_link(self, link: str) -> _Position | None:
        pid = self._by_link.get(link)
        return None if pid is None else self._positions.get(pid)

    def _position_of_execution(self, report: ExecutionReport) -> _Position | None:
        if report.order_link_id:
            return self._position_of_link(report.order_link_id)
        if report.exec_type != EXEC_TYPE_FUNDING:
            return None
        # Funding has no order: the position of this symbol that was open at the settlement.
        at = _at(report.exec_time)
        for position in self._positions.values():
            record = position.record
            if record.opened_at <= at and (record.closed_at is None or at <= record.closed_at):
                return position
        return None

    def _move(self, position: _Position, status: PositionStatus) -> None:
        position.record = replace(position.record, status=advance_position(position.status, status).value)

    def _sync_record(self, position: _Position) -> None:
        ledger, record = position.ledger, position.record
        executed = ledger.entry_qty
        ratio = (
            Decimal(0)
            if record.requested_size_base <= 0
            else min(executed / record.requested_size_base, Decimal(1))
        )
        entry_bps = None
        if position.signal_entry is not None and ledger.avg_entry is not None:
            entry_bps = slippage_bps(position.side, "entry", position.signal_entry, ledger.avg_entry)
        position.record = replace(
            record,
            executed_size_base=executed,
            fill_ratio=ratio,
            avg_entry_price=ledger.avg_entry,
            avg_exit_price=ledger.avg_exit,
            fees_usd=ledger.fees,
            funding_usd=ledger.funding,
            slippage_entry_bps=entry_bps if entry_bps is not None else record.slippage_entry_bps,
        )

    def _save(self, position: _Position, then: Callable[[], None] | None = None) -> None:
        record = position.record
        store = self.deps.store
        self._write("position", lambda: store.save_position(record), then=then)
        self._publish(position)

    def _store_order(self, position: _Position, link: str) -> None:
        order = position.ledger.orders.get(link)
        if order is None:
            return
        store = self.deps.store

        async def write() -> None:
            await store.update_order(
                link,
                order.status.value,
                exchange_order_id=order.exchange_order_id,
                filled_qty=order.cum_qty,
                avg_fill_price=order.avg_price,
                trigger_price=order.trigger_price,
            )

        self._write("order", write)

    def _modelled_bps(self, signal: StoredSignal) -> Decimal | None:
        """Return the slippage model (E-05) for the signal's market context in bps, None without context.

        A signal stored before the context existed carries neither field: no model. An unknown ATR
        percentile counts as not elevated; an unknown depth counts as thin (``modelled_slippage_pct``).
        """
        if signal.atr_above_p80 is None and signal.book_depth_usd is None:
            return None
        pct = modelled_slippage_pct(
            self.config.slippage_base_pct,
            atr_above_p80=bool(signal.atr_above_p80),
            depth_usd=signal.book_depth_usd,
        )
        return pct * 100

    def _log_slippage(self, position: _Position, record: ExecutionRecord) -> None:
        if record.exec_type == EXEC_TYPE_FUNDING:
            return
        purpose = position.purposes.get(record.order_link_id)
        order = position.ledger.orders.get(record.order_link_id)
        if purpose is None or order is None:
            return
        requested: Decimal | None
        if purpose in _ENTRY_PURPOSES:
            requested, leg = position.signal_entry or order.price, "entry"
        elif purpose is OrderPurpose.SL:
            requested, leg = order.trigger_price, "exit"
        elif purpose is OrderPurpose.TP:
            requested, leg = order.price, "exit"
        else:
            requested, leg = None, "exit"
        if requested is None or requested <= 0:
            return
        row = SlippageRecord(
            symbol=self.symbol,
            side=position.record.side,
            leg=leg,
            position_id=position.record.id,
            client_order_id=record.order_link_id,
            requested_price=requested,
            avg_fill_price=record.price,
            qty=record.qty,
            slippage_bps=slippage_bps(position.side, leg, requested, record.price),  # type: ignore[arg-type]
            modelled_bps=position.modelled_bps,
        )
        store = self.deps.store
        self._write("slippage", lambda: store.record_slippage([row]))

    def _open_position(self, position: _Position) -> OpenPosition:
        ledger, record = position.ledger, position.record
        entry = ledger.avg_entry or Decimal(1)
        qty = ledger.open_qty if ledger.open_qty > 0 else record.requested_size_base
        risk_usd = qty * abs(entry - record.sl) if record.sl is not None else record.risk_usd
        r_unit = self.inputs.risk_per_trade_usd
        return OpenPosition(
            position_id=record.id,
            symbol=self.symbol,
            side=position.side,
            qty=qty,
            entry=entry,
            risk_usd=risk_usd,
            risk_r=risk_usd / r_unit,
        )

    def _view(self, position: _Position) -> PositionView:
        return _view_of(position.record)

    def _publish(self, position: _Position) -> None:
        if self.deps.publisher is not None:
            self.deps.publisher.publish(PositionChanged(position=self._view(position), at=self.market.now()))

    def _refuse(self, sid: str, code: str, message: str) -> None:
        waiting = self._placing.pop(sid, None)
        replies = waiting.replies if isinstance(waiting, _Placement) else (waiting or [])
        outcome = PlacementOutcome(
            position_id=None,
            order_status="rejected",
            fill_ratio=Decimal(0),
            avg_price=None,
            position=None,
            message=message,
            reason_code=code,
        )
        for reply in replies:
            reply.set(outcome)

    def _fail(
        self, position: _Position, code: str, message: str, *, status: PlacementStatus = "rejected"
    ) -> None:
        position.entry_settled = True
        position.record = replace(
            position.record,
            status=advance_position(position.status, PositionStatus.CLOSED).value,
            closed_at=self.market.now(),
            close_reason=None,
            pnl_usd=Decimal(0),
            error_message=message,
        )
        self._save(position)
        position.answer = PlacementOutcome(
            position_id=position.record.id,
            order_status=status,
            fill_ratio=Decimal(0),
            avg_price=None,
            position=self._view(position),
            message=message,
            reason_code=code,
        )
        for reply in position.replies:
            reply.set(position.answer)
        position.replies.clear()

    def _answer_when_settled(self, position: _Position, reply: ReplyFuture[PlacementOutcome]) -> None:
        if position.entry_settled:
            reply.set(position.answer or self._outcome_of_record(position.record, position))
        else:
            position.replies.append(reply)

    def _reply_placement(self, position: _Position) -> None:
        outcome = self._outcome_of_record(position.record, position)
        position.answer = outcome
        for reply in position.replies:
            reply.set(outcome)
        position.replies.clear()

    def _outcome_of_record(
        self, record: PositionRecord, position: _Position | None = None
    ) -> PlacementOutcome:
        view = self._view(position) if position is not None else _view_of(record)
        status: PlacementStatus
        filled_ratio = record.fill_ratio
        settled = position.placement if position is not None else None
        if settled == "underfill":
            record = replace(record, status=PositionStatus.FAILED_UNDERFILL.value)
        if record.error_message is not None and record.executed_size_base == 0:
            status, message = "rejected", record.error_message
        elif record.status == PositionStatus.FAILED_UNDERFILL.value or (
            record.close_reason == "underfill" and record.executed_size_base > 0
        ):
            status = "underfill"
            message = (
                f"Only {filled_ratio:.0%} of the order filled, below the minimum of "
                f"{self.config.min_fill_ratio_to_open:.0%}; the rest was cancelled and what filled is closed."
            )
        elif record.executed_size_base == 0:
            status = "expired"
            message = "Nothing filled at the signal's price; the order expired and no position was opened."
        elif record.status == PositionStatus.PARTIAL_ACCEPTED.value:
            status = "partial"
            message = (
                f"{filled_ratio:.0%} of the order filled; the position is kept at that size and protected."
            )
        else:
            status = "filled"
            message = (
                f"Filled {record.executed_size_base} {record.symbol} at {record.avg_entry_price}; protected."
            )
        return PlacementOutcome(
            position_id=record.id,
            order_status=status,
            fill_ratio=filled_ratio,
            avg_price=record.avg_entry_price,
            position=view,
            message=message,
            reason_code=None if status in {"filled", "partial"} else status,
        )

    def _close_outcome(self, position: _Position, status: str, message: str) -> CloseOutcome:
        record = position.record
        return CloseOutcome(
            position_id=record.id,
            status=status,  # type: ignore[arg-type]
            position=self._view(position),
            pnl_usd=record.pnl_usd,
            fees_usd=record.fees_usd,
            funding_usd=record.funding_usd,
            message=message,
            reason_code=status if status in {"already_closed", "unknown_position"} else None,
        )


def _fill_of(record: ExecutionRecord) -> ExecFill:
    return ExecFill(
        exec_id=record.exec_id,
        order_link_id=record.order_link_id,
        side="Buy" if record.side == "Buy" else "Sell",
        price=record.price,
        qty=record.qty,
        fee=record.fee,
        exec_type=record.exec_type,
    )


def _record_of(report: ExecutionReport, position_id: str) -> ExecutionRecord:
    return ExecutionRecord(
        exec_id=report.exec_id,
        order_link_id=report.order_link_id,
        exchange_order_id=report.order_id or None,
        position_id=position_id,
        symbol=report.symbol,
        side=report.side,
        price=report.exec_price,
        qty=report.exec_qty,
        fee=report.exec_fee or Decimal(0),
        exec_type=report.exec_type,
        is_maker=report.is_maker,
        exec_time=_at(report.exec_time),
    )


def _view_of(r: PositionRecord) -> PositionView:
    return PositionView(
        id=r.id,
        signal_id=r.signal_id,
        symbol=r.symbol,
        side=Side(r.side),
        status=PositionStatus(r.status),
        requested_size=r.requested_size_base,
        executed_size=r.executed_size_base,
        fill_ratio=r.fill_ratio,
        avg_entry_price=r.avg_entry_price,
        avg_exit_price=r.avg_exit_price,
        sl=r.sl,
        tp1=r.tp1,
        tp2=r.tp2,
        tp3=r.tp3,
        pnl_usd=r.pnl_usd,
        fees_usd=r.fees_usd,
        funding_usd=r.funding_usd,
        be_moved=r.be_moved,
        opened_at=r.opened_at,
        closed_at=r.closed_at,
        close_reason=r.close_reason,
        message=r.error_message,
    )
