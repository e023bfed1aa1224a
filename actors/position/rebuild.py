"""``RebuildFlow``: a (re)started PositionActor rebuilds from PostgreSQL, then from the exchange."""

from __future__ import annotations

from storage import ExecutionBook
from strategy_core.execution import Ledger, OrderPurpose, OrderState, OrderStatus, PositionStatus
from strategy_core.models import Side

from .core import PositionCore
from .messages import RetryRebuild, StepDone
from .state import PositionFlow, fill_of

__all__ = ["RebuildFlow"]


class RebuildFlow(PositionCore):
    """A flow of the PositionActor (see the module docstring); state and common moves in ``PositionCore``."""

    def _submit_rebuild(self, attempt: int) -> None:
        store, symbol = self.deps.store, self.symbol

        async def load() -> ExecutionBook:
            return await store.load_book(symbol)

        self._job("rebuild", f"book:{attempt}", load)

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
        signals = {str(s.id): s for s in book.signals}
        for record in book.positions:
            signal = signals.get(record.signal_id or "")
            position = PositionFlow(
                record=record,
                ledger=Ledger(side=Side(record.side)),
                rules=rules,
                # the signal's entry and market context survive a restart: slippage is logged as before
                signal_entry=None if signal is None else signal.entry,
                modelled_bps=None if signal is None else self._modelled_bps(signal),
            )
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
                holder.ledger = holder.ledger.apply_fill(fill_of(e))
        for position in self._positions.values():
            if position.status is not PositionStatus.OPENING:
                position.entry_settled = True
