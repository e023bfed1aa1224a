"""``FillsFlow``: order updates and executions, stored once and folded into the position (E-04, E-05).

A fill is committed (with its slippage row) before it is applied; the exchange is polled when the private
stream is silent or was down.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import cast

from actors.monitor.messages import PositionMarked
from exchange.bybit import ExecutionReport, OrderUpdate, PositionUpdate
from storage import ExecutionRecord, SlippageRecord
from strategy_core.execution import (
    EXEC_TYPE_FUNDING,
    OrderPurpose,
    OrderStatus,
    PositionStatus,
    order_status_from_exchange,
    slippage_bps,
)

from .core import PositionCore
from .messages import PollFills, StepDone
from .state import ENTRY_PURPOSES, LIVE, PositionFlow, epoch_ms, fill_of, record_of

__all__ = ["FillsFlow"]


class FillsFlow(PositionCore):
    """A flow of the PositionActor (see the module docstring); state and common moves in ``PositionCore``."""

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
        slippage: dict[str, SlippageRecord] = {}
        for report in reports:
            if report.symbol != self.symbol:
                continue
            position = self._position_of_execution(report)
            if position is None:
                continue
            if report.exec_id in position.ledger.fills:
                continue
            record = record_of(report, position.record.id)
            records.append(record)
            row = self._slippage_of(position, record)
            if row is not None:
                slippage[record.exec_id] = row
        if not records:
            return
        store = self.deps.store
        batch = tuple(records)

        async def insert() -> tuple[ExecutionRecord, ...]:
            await store.record_executions(batch, slippage)  # each new fill with its slippage row (E-05)
            return batch  # stored (new or already there): now they may be acknowledged

        self._job("fills", "fills", insert)

    def _on_fills_stored(self, done: StepDone) -> None:
        if done.error is not None:
            self.log.warning("fills not stored; the next poll brings them again", error=repr(done.error))
            return
        touched: dict[str, PositionFlow] = {}
        for record in cast("tuple[ExecutionRecord, ...]", done.result):
            position = self._positions.get(record.position_id or "")
            if position is None:
                continue
            if record.exec_id not in position.ledger.fills:
                self._count_fill(position, record)
            position.ledger = position.ledger.apply_fill(fill_of(record))
            touched[position.record.id] = position
        for position in touched.values():
            self._progress(position)

    def _count_fill(self, position: PositionFlow, record: ExecutionRecord) -> None:
        metrics = self.deps.metrics
        row = self._slippage_of(position, record) if metrics is not None else None
        if metrics is not None and row is not None:
            metrics.filled(row.leg, row.slippage_bps, row.modelled_bps)

    def _on_exchange_position(self, update: PositionUpdate) -> None:
        if update.symbol != self.symbol or self.deps.monitor is None or update.mark_price is None:
            return
        for position in self._positions.values():
            if position.status in LIVE and position.ledger.avg_entry is not None:
                self.deps.monitor.tell(
                    PositionMarked(
                        position=self._open_position(position),
                        mark=update.mark_price,
                        tp1_hit=self._tp1_hit(position),
                    )
                )

    def _tp1_hit(self, position: PositionFlow) -> bool:
        tps = position.orders(OrderPurpose.TP)
        return bool(tps) and tps[0].cum_qty > 0

    def _poll(self, position: PositionFlow) -> None:
        exchange, symbol = self.deps.exchange, self.symbol
        links = [
            link
            for link in position.purposes
            if link in position.ledger.orders and not position.ledger.orders[link].status.terminal
        ]
        since = epoch_ms(position.record.opened_at) - 60_000

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

    def _on_polled(self, position: PositionFlow, done: StepDone) -> None:
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
        entry_links = position.links(*ENTRY_PURPOSES)
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
            if lost and position.status in LIVE:
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

    def _progress(self, position: PositionFlow) -> None:
        if not position.entry_settled:
            self._check_entry(position)
            return
        self._sync_record(position)
        if position.status in LIVE and not position.protecting:
            if position.links(OrderPurpose.SL):
                self._restore_stop(position)
            else:
                self._protect(position)
        if position.status in (*LIVE, PositionStatus.FAILED_UNDERFILL, PositionStatus.CLOSING):
            self._check_close(position)

    def _slippage_of(self, position: PositionFlow, record: ExecutionRecord) -> SlippageRecord | None:
        """Return a fill's slippage row (E-05): vs the signal's entry, the TP's price, the SL's trigger."""
        if record.exec_type == EXEC_TYPE_FUNDING:
            return None
        purpose = position.purposes.get(record.order_link_id)
        order = position.ledger.orders.get(record.order_link_id)
        if purpose is None or order is None:
            return None
        requested: Decimal | None
        if purpose in ENTRY_PURPOSES:
            requested, leg = position.signal_entry or order.price, "entry"
        elif purpose is OrderPurpose.SL:
            requested, leg = order.trigger_price, "exit"
        elif purpose is OrderPurpose.TP:
            requested, leg = order.price, "exit"
        else:
            requested, leg = None, "exit"
        if requested is None or requested <= 0:
            return None
        return SlippageRecord(
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
