"""``PlacementFlow``: a click becomes exactly one entry order (E-02, E-03, E-07).

The signal is read and checked, the RiskActor decides (fail closed), the intent is committed before the
REST call, an unknown outcome is settled by ``orderLinkId``; partial fills are accepted, topped up or
unwound.
"""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from actors.errors import SymbolUnavailableError
from actors.monitor.messages import PositionMarked
from actors.risk.messages import CheckOrder, OrderDenied, PositionOpened, ReleaseReservation
from exchange import BybitApiError, OrderOutcomeUnknownError
from exchange.bybit import OrderAck, OrderRequest
from storage import OrderRecord, PositionRecord, RejectionRecord, StoredSignal
from strategy_core.execution import (
    Ledger,
    OrderPurpose,
    OrderState,
    OrderStatus,
    PositionStatus,
    SizingRefusal,
    classify_fill,
    exchange_side,
    order_link_id,
    position_id_for,
    size_entry,
)
from strategy_core.models import Side
from strategy_core.numeric import round_down_to_step

from .core import PositionCore
from .messages import FillWaitElapsed, PlacementStatus, PlaceOrderFromSignal, RiskCheckDue, StepDone
from .state import CLOSE_PURPOSES, ENTRY_PURPOSES, LIVE, IntentSent, PendingClick, PositionFlow
from .words import rejection_words

__all__ = ["PlacementFlow"]


class PlacementFlow(PositionCore):
    """A flow of the PositionActor (see the module docstring); state and common moves in ``PositionCore``."""

    def _place(self, command: PlaceOrderFromSignal) -> None:
        sid = command.signal_id.lower()
        pid = self._by_signal.get(sid)
        if pid is not None:
            self._answer_when_settled(self._positions[pid], command.reply)
            return
        waiting = self._placing.get(sid)
        if waiting is not None:
            (waiting.replies if isinstance(waiting, PendingClick) else waiting).append(command.reply)
            return
        self._placing[sid] = [command.reply]
        store = self.deps.store

        async def load() -> tuple[StoredSignal | None, PositionRecord | None]:
            return await store.load_click(sid, position_id_for(sid))

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
        self._placing[sid] = PendingClick(
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

    def _placement_of(self, link: str) -> PendingClick | None:
        for placing in self._placing.values():
            if isinstance(placing, PendingClick) and placing.link == link:
                return placing
        return None

    def _risk_check_due(self) -> None:
        """Refuse clicks the RiskActor left unanswered (fail closed); look again for the younger ones."""
        now, timeout = self.clock.monotonic(), self.config.risk_timeout_s
        waiting = [p for p in self._placing.values() if isinstance(p, PendingClick)]
        for placing in waiting:
            if now - placing.asked_at >= timeout:
                self._refuse(
                    str(placing.signal.id),
                    "risk_unavailable",
                    "The risk check did not answer in time; nothing was sent (try again).",
                )
        if any(isinstance(p, PendingClick) for p in self._placing.values()):
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
        position = PositionFlow(
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
        store, exchange = self.deps.store, self.deps.exchange
        requested_by = placing.requested_by
        request = self._request(position, position.ledger.orders[link])
        position.in_flight.add(link)

        # One job on the click's path: the intent is committed, then, only when this click inserted it, the
        # entry is sent (DESIGN §9: the commit precedes the REST call; an earlier position is never re-sent).
        async def commit_then_send() -> IntentSent:
            stored = await store.open_position(record, intent, requested_by)
            if stored != record:
                return IntentSent(stored=stored, sent=False)
            try:
                return IntentSent(stored=stored, sent=True, ack=await exchange.create_order(request))
            except Exception as exc:  # a step result: the actor decides on the send's failure
                return IntentSent(stored=stored, sent=True, error=exc)

        self._job(pid, f"intent:{link}", commit_then_send)

    def _on_intent_stored(self, position: PositionFlow, done: StepDone) -> None:
        if done.error is not None:
            position.in_flight.clear()
            self._fail(position, "storage_unavailable", "The order could not be recorded; nothing was sent.")
            return
        outcome = done.result
        assert isinstance(outcome, IntentSent)
        if not outcome.sent:
            position.in_flight.clear()
            position.record = outcome.stored  # an earlier click's position: never a second order
            position.entry_settled = True
            self._reply_placement(position)
            return
        self._publish(position)  # opening: the intent is committed (and the entry sent)
        link = done.step.split(":", 1)[1]
        self._on_entry_sent(
            position, StepDone(flow=done.flow, step=f"entry:{link}", result=outcome.ack, error=outcome.error)
        )

    def _send(self, position: PositionFlow, order: OrderState, step: str) -> None:
        """Send an order whose intent is committed (create; unknown outcome settled by ``orderLinkId``)."""
        request = self._request(position, order)
        exchange = self.deps.exchange
        position.in_flight.add(order.order_link_id)

        async def create() -> OrderAck:
            return await exchange.create_order(request)

        self._job(position.record.id, f"{step}:{order.order_link_id}", create)

    def _request(self, position: PositionFlow, order: OrderState) -> OrderRequest:
        side = position.side
        xside = exchange_side(side, opening=order.purpose in ENTRY_PURPOSES)
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
        return OrderRequest(  # an entry, top-up or close: IOC, at a limit price or at market
            symbol=self.symbol,
            side=xside,
            order_type="Market" if order.price is None else "Limit",
            qty=order.qty,
            price=order.price,
            time_in_force="IOC",
            order_link_id=order.order_link_id,
            reduce_only=order.purpose in CLOSE_PURPOSES,
        )

    def _on_entry_sent(self, position: PositionFlow, done: StepDone) -> None:
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
            only_entry = position.links(*ENTRY_PURPOSES) == [link]
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

    def _ack(self, position: PositionFlow, link: str, ack: OrderAck) -> None:
        known = position.ledger.orders.get(link)
        status = (
            OrderStatus.UNTRIGGERED if known and known.purpose is OrderPurpose.SL else OrderStatus.SUBMITTED
        )
        position.ledger = position.ledger.apply_order_update(link, status, exchange_order_id=ack.order_id)
        self._store_order(position, link)

    def _rejected(self, position: PositionFlow, link: str, error: BybitApiError) -> None:
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

    def _entry_done(self, position: PositionFlow) -> bool:
        orders = position.orders(*ENTRY_PURPOSES)
        return bool(orders) and all(
            o.status.terminal and position.ledger.filled_of(o.order_link_id) >= o.cum_qty for o in orders
        )

    def _announce_open(self, position: PositionFlow) -> None:
        """Tell the RiskActor (and the monitor, with the entry as the first mark) that a position is open."""
        self.deps.risk.tell(
            PositionOpened(position=self._open_position(position), signal_id=position.record.signal_id)
        )
        if self.deps.metrics is not None:
            self.deps.metrics.opened(self.symbol, position.record.side)
        avg_entry = position.ledger.avg_entry
        if self.deps.monitor is not None and avg_entry is not None:
            self.deps.monitor.tell(PositionMarked(position=self._open_position(position), mark=avg_entry))

    def _check_entry(self, position: PositionFlow) -> None:
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
            self._announce_open(position)
        self._save(position, then=lambda: self._reply_placement(position))  # answered once stored
        if position.close_replies and position.status in LIVE:
            position.closing_reason = "manual"
            self._move(position, PositionStatus.CLOSING)
            self._save(position)
            self._send_close(position)
        self._progress(position)

    def _top_up(self, position: PositionFlow, qty: Decimal, attempt: int) -> None:
        sid = position.record.signal_id or position.record.id
        link = order_link_id(sid, OrderPurpose.TOPUP, attempt)
        order = OrderState(link, OrderPurpose.TOPUP, qty)
        self._track(position, order, attempt)
        self._intent_then_send(position, order, "entry", attempt)

    def _intent_then_send(self, position: PositionFlow, order: OrderState, step: str, attempt: int) -> None:
        intent = self._order_record(position, order, attempt)
        request = self._request(position, order)
        store, exchange = self.deps.store, self.deps.exchange

        position.in_flight.add(order.order_link_id)

        async def commit_and_send() -> OrderAck:
            await store.record_intent(intent)
            return await exchange.create_order(request)

        self._job(position.record.id, f"{step}:{order.order_link_id}", commit_and_send)

    def _order_record(self, position: PositionFlow, order: OrderState, attempt: int) -> OrderRecord:
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
