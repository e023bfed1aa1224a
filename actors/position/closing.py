"""``ClosingFlow``: a reduce-only close, the exchange's closed-PnL, fees and funding, risk released (E-06,
R-06)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import cast

from actors.risk.messages import PositionClosed
from exchange import BybitApiError, RetCode
from exchange.bybit import ClosedPnl, OrderAck
from storage import ExecutionRecord, PositionRecord
from strategy_core.execution import (
    EXEC_TYPE_FUNDING,
    OrderPurpose,
    OrderState,
    PositionStatus,
    advance_position,
    order_link_id,
)
from strategy_core.numeric import round_down_to_step
from supervision import ReplyFuture

from .core import PositionCore
from .deps import ExchangePort
from .messages import CloseOutcome, ClosePosition, PollFills, StepDone
from .state import CLOSE_PURPOSES, PositionFlow, epoch_ms, fill_of, record_of, view_of

__all__ = ["ClosingFlow"]


class ClosingFlow(PositionCore):
    """A flow of the PositionActor (see the module docstring); state and common moves in ``PositionCore``."""

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
                    position=view_of(record),
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

    def _send_close(self, position: PositionFlow) -> None:
        """Cancel the protective orders, then close what is open with a reduce-only IOC market order."""
        if position.close_in_flight:
            return
        rules = position.rules
        open_qty = position.ledger.open_qty
        if rules is not None:
            open_qty = round_down_to_step(open_qty, rules.qty_step)
        live = _live_protection(position)
        purpose = (
            OrderPurpose.FUNDING_EXIT if position.closing_reason == "funding" else OrderPurpose.MANUAL_CLOSE
        )
        if position.closing_reason in {"underfill", "tp", "sl"}:
            purpose = OrderPurpose.EXIT
        attempt = len(position.links(*CLOSE_PURPOSES))
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
            await _cancel(exchange, symbol, live)
            if intent is None or request is None:
                return None
            await store.record_intent(intent)
            return await exchange.create_order(request)

        self._job(position.record.id, f"close:{'' if order is None else order.order_link_id}", close)

    def _on_close_sent(self, position: PositionFlow, done: StepDone) -> None:
        position.close_in_flight = False
        link = done.step.split(":", 1)[1]
        if done.error is not None:
            if isinstance(done.error, BybitApiError) and link:
                self._rejected(position, link, done.error)
            self.log.warning("close order failed", position_id=position.record.id, error=repr(done.error))
        elif isinstance(done.result, OrderAck) and link:
            self._ack(position, link, done.result)
        self._poll(position)

    def _check_close(self, position: PositionFlow) -> None:
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
        closes = position.orders(*CLOSE_PURPOSES)
        settled = all(o.status.terminal and ledger.filled_of(o.order_link_id) >= o.cum_qty for o in closes)
        if settled and len(closes) < self.config.close_attempts:
            self._send_close(position)

    def _finish_without_fill(self, position: PositionFlow) -> None:
        now = self.market.now()
        position.record = replace(
            position.record,
            status=PositionStatus.CLOSED.value,
            closed_at=now,
            close_reason="underfill",
            pnl_usd=Decimal(0),
        )
        position.finalizing = True

    def _finalize(self, position: PositionFlow) -> None:
        """Read the exchange's closed-PnL and funding for this position, then close it (E-06)."""
        position.finalizing = True
        exchange, symbol = self.deps.exchange, self.symbol
        exit_ids = {
            o.exchange_order_id
            for o in position.orders(OrderPurpose.SL, OrderPurpose.TP, *CLOSE_PURPOSES)
            if o.exchange_order_id
        }
        opened = epoch_ms(position.record.opened_at)
        since = opened - 60_000
        pid, store = position.record.id, self.deps.store
        # A flat position keeps no protective order: a stop or take-profit left on the venue would act on the
        # symbol's next position (one-way mode). The TPs closed it → the SL goes; the SL closed it → the TPs.
        leftover = _live_protection(position)

        async def final() -> tuple[list[ClosedPnl], list[ExecutionRecord]]:
            await _cancel(exchange, symbol, leftover)
            rows = await exchange.get_closed_pnl(symbol, start_time=since, limit=100)
            page = await exchange.get_executions(
                symbol=symbol, start_time=opened, exec_type=EXEC_TYPE_FUNDING
            )
            # One-way mode: every funding settlement on the symbol while this position was open is its own.
            funding = [record_of(f, pid) for f in page.items if f.exec_type == EXEC_TYPE_FUNDING]
            await store.record_executions(funding)  # committed before the close acknowledges them
            return [r for r in rows if r.order_id in exit_ids], funding

        self._job(position.record.id, "final", final)

    def _on_final(self, position: PositionFlow, done: StepDone) -> None:
        if done.error is not None:
            self.log.warning("closed-pnl read failed; retrying", position_id=position.record.id)
            position.finalizing = False
            self._timers.tell_later(self.config.poll_interval_s, PollFills(order_link_id=""))
            self._finalize(position)
            return
        rows, funding = cast("tuple[list[ClosedPnl], list[ExecutionRecord]]", done.result)
        for f in funding:
            position.ledger = position.ledger.apply_fill(fill_of(f))
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
            if self.deps.metrics is not None:
                self.deps.metrics.closed(self.symbol, record.close_reason, pnl)
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

    def _closed_sentence(self, position: PositionFlow) -> str:
        record = position.record
        return (
            f"Closed {record.symbol} {record.side}: PnL {record.pnl_usd} USDT after fees "
            f"{record.fees_usd} USDT, funding {record.funding_usd} USDT."
        )


def _live_protection(position: PositionFlow) -> list[str]:
    """Return the links of the position's SL and TPs that are still working on the venue."""
    working = position.orders(OrderPurpose.SL, OrderPurpose.TP)
    return [o.order_link_id for o in working if not o.status.terminal]


async def _cancel(exchange: ExchangePort, symbol: str, links: list[str]) -> None:
    """Cancel ``links`` on the venue; an order already gone (filled, cancelled, unknown) is no error."""
    for link in links:
        try:
            await exchange.cancel_order(symbol, order_link_id=link)
        except BybitApiError as exc:
            if exc.code not in {RetCode.ORDER_NOT_EXISTS, RetCode.ORDER_ALREADY_FINISHED}:
                raise
