"""``ProtectionFlow``: SL and TP1..TP3 on the exchange, sized from the fill, and break-even (R-05)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import cast

from actors.monitor.messages import MoveStopToEntry
from exchange import BybitApiError, RetCode
from exchange.bybit import AmendRequest, OrderAck
from storage import RejectionRecord
from strategy_core.execution import OrderPurpose, OrderState, order_link_id, split_take_profits
from strategy_core.numeric import round_down_to_step, round_nearest_to_step

from .core import PositionCore
from .messages import StepDone
from .state import LIVE, PositionFlow
from .words import rejection_words

__all__ = ["ProtectionFlow"]


class ProtectionFlow(PositionCore):
    """A flow of the PositionActor (see the module docstring); state and common moves in ``PositionCore``."""

    def _protect(self, position: PositionFlow) -> None:
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

    def _restore_stop(self, position: PositionFlow) -> None:
        """Place the stop again when it was cancelled on the venue by someone else (C-02: a warning repaired).

        A live position always has a working stop: ours are cancelled only while closing, so a stop that
        ended unfilled on a live position was cancelled outside the system (or rejected). A new attempt is
        placed at the stored stop price for the open size, up to ``max_stop_replacements`` times.
        """
        rules, record = position.rules, position.record
        stops = position.orders(OrderPurpose.SL)
        if rules is None or record.sl is None or position.protecting or not stops:
            return
        if any(not o.status.terminal or o.cum_qty > 0 for o in stops):
            return  # a stop works (or one filled: the position is closing through it)
        if len(stops) > self.config.max_stop_replacements:
            return
        size = round_down_to_step(position.ledger.open_qty, rules.qty_step)
        if size < rules.min_qty:
            return
        attempt = len(stops)
        sid = record.signal_id or record.id
        stop = OrderState(
            order_link_id(sid, OrderPurpose.SL, attempt),
            OrderPurpose.SL,
            size,
            trigger_price=round_nearest_to_step(record.sl, rules.tick_size),
        )
        self.log.warning("stop missing on the venue", position_id=record.id, placing=stop.order_link_id)
        self._track(position, stop, attempt)
        position.protecting = True
        intent = self._order_record(position, stop, attempt)
        request = self._request(position, stop)
        store, exchange = self.deps.store, self.deps.exchange

        async def place() -> list[tuple[str, OrderAck | BybitApiError]]:
            await store.record_intent(intent)
            try:
                return [(request.order_link_id, await exchange.create_order(request))]
            except BybitApiError as exc:
                return [(request.order_link_id, exc)]

        self._job(record.id, "protect", place)

    def _on_protected(self, position: PositionFlow, done: StepDone) -> None:
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

    def _move_stop(self, decision: MoveStopToEntry) -> None:
        position = self._positions.get(decision.position_id)
        if position is None or position.status not in LIVE or position.rules is None:
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

    def _on_amended(self, position: PositionFlow, done: StepDone) -> None:
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

    def _rejected_amend(self, position: PositionFlow, link: str, error: BybitApiError) -> None:
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
