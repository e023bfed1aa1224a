"""The PositionActor's side of reconciliation: the repairs the ReconcilerActor asks for (C-02, C-03, P-03).

``RepairFlow`` is one of ``PositionBehaviour``'s flows over ``PositionCore``; its ``_repair`` is the one
``match`` arm the behaviour gives to ``actors.position.repairs``'s messages. It reuses the other flows
instead of duplicating them: re-validation is the private-stream resume's REST poll (``_poll``), an
adopted close ends through the ordinary ``_progress`` → ``_finalize`` path (closed PnL from the
exchange, ``PositionClosed`` to the risk and monitor actors, the audit row).

Adopting a close (the exchange is flat, the position is open here): the other client's closing fills on the
symbol since the position opened are stored as this position's executions (at most its open size; one-way
mode has one position per symbol), and each of their orders is tracked as an external exit so that the
final closed-PnL read counts it. The close reason is ``reconciliation``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal
from typing import cast

from actors.errors import WorkRejectedError
from exchange import BybitApiError, RetCode
from exchange.bybit import ExecutionReport, OrderRequest
from storage import ExecutionRecord
from strategy_core.execution import (
    EXEC_TYPE_FUNDING,
    OrderPurpose,
    OrderState,
    OrderStatus,
    PositionStatus,
    exchange_side,
)

from .core import PositionCore
from .repairs import (
    AdoptExchangeClose,
    CancelOrphanOrders,
    FlattenSymbol,
    RepairMessage,
    RepairStepDone,
    Revalidate,
)
from .state import fill_of, record_of

__all__ = ["RepairFlow"]

_ADOPTABLE = (PositionStatus.OPEN, PositionStatus.PARTIAL_ACCEPTED, PositionStatus.CLOSING)
_EXTERNAL = "external:"


class RepairFlow(PositionCore):
    """The handlers of ``RepairMessage`` (see the module docstring); shared state in ``PositionCore``."""

    # -- dispatch

    def _repair(self, message: RepairMessage) -> None:
        match message:
            case Revalidate():
                self.log.info("revalidating on the reconciler's request", reason=message.reason)
                for position in list(self._positions.values()):
                    self._poll(position)
            case AdoptExchangeClose():
                self._adopt(message)
            case CancelOrphanOrders():
                self._cancel_orphans(message)
            case FlattenSymbol():
                self._flatten(message)
            case RepairStepDone(step="adopt"):
                self._on_adopted(message)
            case RepairStepDone():
                if message.error is not None:
                    self.log.warning("repair failed", step=message.step, error=repr(message.error))

    def _repair_job(self, step: str, position_id: str, fn: Callable[[], Awaitable[object]]) -> None:
        async def job() -> RepairStepDone:
            return RepairStepDone(step=step, position_id=position_id, result=await fn())

        def failed(exc: Exception) -> RepairStepDone:
            return RepairStepDone(step=step, position_id=position_id, error=exc)

        try:
            self.deps.work.submit(job, self.self_ref, failed)
        except WorkRejectedError as exc:
            self.self_ref.tell(failed(exc))

    # -- adopt a close made outside the system

    def _adopt(self, message: AdoptExchangeClose) -> None:
        position = self._positions.get(message.position_id)
        if position is None or position.status not in _ADOPTABLE or position.finalizing:
            self.log.info("nothing to adopt", position_id=message.position_id)
            return
        exchange, store, symbol, pid = self.deps.exchange, self.deps.store, self.symbol, position.record.id
        since = int(position.record.opened_at.timestamp() * 1000) - 60_000
        closing = exchange_side(position.side, opening=False)
        ours = set(position.purposes) | {f.exec_id for f in position.ledger.fills.values()}
        open_qty = position.ledger.open_qty

        async def adopt() -> tuple[ExecutionRecord, ...]:
            reports: list[ExecutionReport] = []
            cursor: str | None = None
            for _ in range(20):
                page = await exchange.get_executions(
                    symbol=symbol, start_time=since, cursor=cursor, limit=100
                )
                reports.extend(page.items)
                if not page.next_cursor or not page.items:
                    break
                cursor = page.next_cursor
            taken: list[ExecutionRecord] = []
            left = open_qty
            for r in sorted(reports, key=lambda r: (r.exec_time, r.exec_id)):
                foreign = r.order_link_id not in ours and r.exec_id not in ours
                if left <= 0 or not foreign or r.exec_type == EXEC_TYPE_FUNDING or r.side != closing:
                    continue
                qty = min(r.exec_qty, left)
                left -= qty
                taken.append(_external_record(r, pid, qty))
            await store.record_executions(taken)  # committed before the position acknowledges them
            return tuple(taken)

        self.log.warning("adopting a close made outside the system", position_id=pid, reason=message.reason)
        self._repair_job("adopt", pid, adopt)

    def _on_adopted(self, done: RepairStepDone) -> None:
        position = self._positions.get(done.position_id)
        if position is None:
            return
        if done.error is not None:
            self.log.warning("adoption failed; the next pass asks again", error=repr(done.error))
            return
        records = cast("tuple[ExecutionRecord, ...]", done.result)
        for record in records:
            link = f"{_EXTERNAL}{record.exchange_order_id}"
            if link not in position.purposes:
                self._track(
                    position,
                    OrderState(
                        link,
                        OrderPurpose.EXIT,
                        Decimal(0),
                        status=OrderStatus.FILLED,
                        exchange_order_id=record.exchange_order_id,
                    ),
                    0,
                )
            position.ledger = position.ledger.apply_fill(fill_of(record))
        if position.ledger.open_qty > 0:
            self.log.warning(
                "adopted fills do not flatten the position",
                position_id=position.record.id,
                open_qty=str(position.ledger.open_qty),
            )
            return
        position.closing_reason = "reconciliation"
        self._progress(position)

    # -- liquidation on a critical finding (C-03, ``reconciler.liquidate_on_critical``)

    def _flatten(self, message: FlattenSymbol) -> None:
        exchange, symbol = self.deps.exchange, self.symbol
        link = _flatten_link(int(self.clock.now().timestamp() * 1000))

        async def flatten() -> list[str]:
            closed: list[str] = []
            for held in await exchange.get_positions(symbol):
                if held.symbol != symbol or held.size <= 0:
                    continue
                await exchange.create_order(
                    OrderRequest(
                        symbol=symbol,
                        side="Sell" if held.side == "Buy" else "Buy",
                        order_type="Market",
                        qty=held.size,
                        time_in_force="IOC",
                        order_link_id=link,
                        reduce_only=True,
                    )
                )
                closed.append(f"{held.side} {held.size}")
            return closed

        self.log.error("flattening on a critical finding", reason=message.reason, order_link_id=link)
        self._repair_job("flatten", "", flatten)

    # -- orphan orders of ours

    def _cancel_orphans(self, message: CancelOrphanOrders) -> None:
        exchange, symbol, links = self.deps.exchange, self.symbol, message.order_link_ids
        owned = [link for link in links if any(link in p.purposes for p in self._positions.values())]
        wanted = [link for link in links if link not in owned]
        if not wanted:
            return

        async def cancel() -> list[str]:
            done: list[str] = []
            for link in wanted:
                try:
                    await exchange.cancel_order(symbol, order_link_id=link)
                except BybitApiError as exc:
                    if exc.code not in {RetCode.ORDER_NOT_EXISTS, RetCode.ORDER_ALREADY_FINISHED}:
                        raise
                done.append(link)
            return done

        self.log.warning("cancelling orphan orders", order_link_ids=wanted, reason=message.reason)
        self._repair_job("cancel", "", cancel)


def _flatten_link(at_ms: int) -> str:
    """Return the ``orderLinkId`` of a flatten order (one per critical finding's instant)."""
    return f"flat-{at_ms}"


def _external_record(report: ExecutionReport, position_id: str, qty: Decimal) -> ExecutionRecord:
    """Return ``qty`` of another client's fill as this position's execution (its fee in proportion)."""
    whole = record_of(report, position_id)
    share = qty / report.exec_qty if report.exec_qty else Decimal(1)
    return replace(whole, qty=qty, fee=whole.fee * share)
