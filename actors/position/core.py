"""``PositionCore``: the state the PositionActor's flows share, and their common moves.

The work queue (every I/O is a job whose result returns as ``StepDone``), the one-at-a-time write chain, the
position registry, publishing, refusals and answers. Each flow (placement, fills, protection, closing,
rebuild) is a mixin over this core in its own module; a step one flow takes from another is declared here
once and defined in its flow's module.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from actors.config import TradingInputs
from actors.errors import WorkRejectedError
from actors.messages import MessageSink
from actors.timers import MessageTimers
from exchange import BybitApiError
from exchange.bybit import ExecutionReport, OrderAck, OrderRequest
from storage import OrderRecord, PositionRecord, StoredSignal
from strategy_core.execution import (
    EXEC_TYPE_FUNDING,
    OrderState,
    PositionStatus,
    advance_position,
    modelled_slippage_pct,
    slippage_bps,
)
from strategy_core.exposure import OpenPosition
from supervision import ReplyFuture
from supervision.clock import Clock

from .config import ExecutionConfig
from .deps import PositionDeps
from .messages import CloseOutcome, PlacementOutcome, PlacementStatus, PositionChanged, PositionView, StepDone
from .state import BufferedCommand, PendingClick, PositionFlow, from_epoch_ms, view_of

__all__ = ["PositionCore"]


class PositionCore:
    """The shared state and moves of the PositionActor's flows (see the module docstring)."""

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
        self._buffer: list[BufferedCommand] = []
        self._placing: dict[str, PendingClick | list[ReplyFuture[PlacementOutcome]]] = {}
        self._positions: dict[str, PositionFlow] = {}
        self._by_signal: dict[str, str] = {}
        self._by_link: dict[str, str] = {}
        self._lookups: list[ReplyFuture[CloseOutcome]] = []
        self._writes: deque[tuple[str, Callable[[], Awaitable[object]], Callable[[], None] | None]] = deque()
        self._writing = False
        self._after_write: Callable[[], None] | None = None
        self._timers = MessageTimers(clock, self_ref, log)

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

    def _register(self, position: PositionFlow) -> None:
        self._positions[position.record.id] = position
        if position.record.signal_id is not None:
            self._by_signal[position.record.signal_id.lower()] = position.record.id

    def _track(self, position: PositionFlow, order: OrderState, attempt: int) -> None:
        position.ledger = position.ledger.with_order(order)
        position.purposes[order.order_link_id] = order.purpose
        position.attempts[order.purpose] = max(position.attempts.get(order.purpose, 0), attempt)
        self._by_link[order.order_link_id] = position.record.id

    def _position_of_link(self, link: str) -> PositionFlow | None:
        pid = self._by_link.get(link)
        return None if pid is None else self._positions.get(pid)

    def _position_of_execution(self, report: ExecutionReport) -> PositionFlow | None:
        if report.order_link_id:
            return self._position_of_link(report.order_link_id)
        if report.exec_type != EXEC_TYPE_FUNDING:
            return None
        # Funding has no order: the position of this symbol that was open at the settlement.
        at = from_epoch_ms(report.exec_time)
        for position in self._positions.values():
            record = position.record
            if record.opened_at <= at and (record.closed_at is None or at <= record.closed_at):
                return position
        return None

    def _move(self, position: PositionFlow, status: PositionStatus) -> None:
        position.record = replace(position.record, status=advance_position(position.status, status).value)

    def _sync_record(self, position: PositionFlow) -> None:
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

    def _save(self, position: PositionFlow, then: Callable[[], None] | None = None) -> None:
        record = position.record
        store = self.deps.store
        self._write("position", lambda: store.save_position(record), then=then)
        self._publish(position)

    def _store_order(self, position: PositionFlow, link: str) -> None:
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

    def _open_position(self, position: PositionFlow) -> OpenPosition:
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

    def _view(self, position: PositionFlow) -> PositionView:
        return view_of(position.record)

    def _publish(self, position: PositionFlow) -> None:
        if self.deps.publisher is not None:
            self.deps.publisher.publish(PositionChanged(position=self._view(position), at=self.market.now()))

    def _refuse(self, sid: str, code: str, message: str) -> None:
        waiting = self._placing.pop(sid, None)
        replies = waiting.replies if isinstance(waiting, PendingClick) else (waiting or [])
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
        self, position: PositionFlow, code: str, message: str, *, status: PlacementStatus = "rejected"
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

    def _answer_when_settled(self, position: PositionFlow, reply: ReplyFuture[PlacementOutcome]) -> None:
        if position.entry_settled:
            reply.set(position.answer or self._outcome_of_record(position.record, position))
        else:
            position.replies.append(reply)

    def _reply_placement(self, position: PositionFlow) -> None:
        outcome = self._outcome_of_record(position.record, position)
        position.answer = outcome
        for reply in position.replies:
            reply.set(outcome)
        position.replies.clear()

    def _outcome_of_record(
        self, record: PositionRecord, position: PositionFlow | None = None
    ) -> PlacementOutcome:
        view = self._view(position) if position is not None else view_of(record)
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

    def _close_outcome(self, position: PositionFlow, status: str, message: str) -> CloseOutcome:
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

    # -- steps one flow takes from another (each defined once, in its flow's module) ------------------

    def _ack(self, position: PositionFlow, link: str, ack: OrderAck) -> None:
        raise NotImplementedError  # PlacementFlow

    def _check_close(self, position: PositionFlow) -> None:
        raise NotImplementedError  # ClosingFlow

    def _check_entry(self, position: PositionFlow) -> None:
        raise NotImplementedError  # PlacementFlow

    def _entry_done(self, position: PositionFlow) -> bool:
        raise NotImplementedError  # PlacementFlow

    def _finish_without_fill(self, position: PositionFlow) -> None:
        raise NotImplementedError  # ClosingFlow

    def _order_record(self, position: PositionFlow, order: OrderState, attempt: int) -> OrderRecord:
        raise NotImplementedError  # PlacementFlow

    def _poll(self, position: PositionFlow) -> None:
        raise NotImplementedError  # FillsFlow

    def _progress(self, position: PositionFlow) -> None:
        raise NotImplementedError  # FillsFlow

    def _protect(self, position: PositionFlow) -> None:
        raise NotImplementedError  # ProtectionFlow

    def _restore_stop(self, position: PositionFlow) -> None:
        raise NotImplementedError  # ProtectionFlow

    def _rejected(self, position: PositionFlow, link: str, error: BybitApiError) -> None:
        raise NotImplementedError  # PlacementFlow

    def _request(self, position: PositionFlow, order: OrderState) -> OrderRequest:
        raise NotImplementedError  # PlacementFlow

    def _send(self, position: PositionFlow, order: OrderState, step: str) -> None:
        raise NotImplementedError  # PlacementFlow

    def _send_close(self, position: PositionFlow) -> None:
        raise NotImplementedError  # ClosingFlow

    def handle(self, message: BufferedCommand) -> tuple[PositionView, ...] | None:
        raise NotImplementedError  # PositionBehaviour: the one dispatch (a rebuild replays what it held)
