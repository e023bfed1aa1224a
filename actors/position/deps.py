"""What the PositionActor is given besides its config: ports only (E-02..E-07).

* ``ExecutionStorePort`` — the writes and reads its jobs run on the trio side
  (``storage.ExecutionRepository`` satisfies it);
* ``ExchangePort`` — the REST methods it uses (``exchange.bybit.BybitRestClient`` satisfies it);
* ``PositionPublisher`` — the gateway's non-blocking sink for ``PositionChanged`` (SSE channel ``positions``);
* ``PositionDeps`` — those, the work queue, the RiskActor and the MonitorActor as message sinks, the market
  clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from actors.messages import MessageSink
from actors.ports import WorkQueue
from actors.position.metrics import ExecutionMetrics
from exchange.bybit import AmendRequest, ClosedPnl, OrderAck, OrderRequest, OrderUpdate, PositionUpdate
from exchange.bybit.rest import ExecutionPage
from storage import (
    ExecutionBook,
    ExecutionRecord,
    OrderRecord,
    PositionRecord,
    RejectionRecord,
    SlippageRecord,
    StoredSignal,
)
from supervision.clock import Clock

__all__ = ["ExchangePort", "ExecutionStorePort", "PositionDeps", "PositionPublisher"]


class ExecutionStorePort(Protocol):
    """The store operations of the PositionActor's jobs (``storage.ExecutionRepository``)."""

    async def load_click(
        self, signal_id: str, position_id: str
    ) -> tuple[StoredSignal | None, PositionRecord | None]:
        """Return the clicked signal and the position it already opened (``None`` when unknown / none)."""
        ...

    async def load_book(self, symbol: str) -> ExecutionBook:
        """Return the symbol's unfinished positions, their orders and fills."""
        ...

    async def get_position(self, position_id: str) -> PositionRecord | None:
        """Return one position (``None`` when unknown)."""
        ...

    async def open_position(
        self, position: PositionRecord, intent: OrderRecord, actor: str = "system"
    ) -> PositionRecord:
        """Insert the position, its entry intent and the click's audit row (or return the existing one)."""
        ...

    async def record_intent(self, order: OrderRecord) -> bool:
        """Commit an order's intent before it is sent."""
        ...

    async def update_order(
        self,
        client_order_id: str,
        status: str,
        *,
        exchange_order_id: str | None = None,
        filled_qty: Decimal | None = None,
        avg_fill_price: Decimal | None = None,
        trigger_price: Decimal | None = None,
    ) -> None:
        """Store an order's new state."""
        ...

    async def record_executions(
        self, executions: Sequence[ExecutionRecord], slippage: Mapping[str, SlippageRecord] | None = None
    ) -> list[str]:
        """Insert executions once by exec id, each new one with its slippage row; return the new ids."""
        ...

    async def save_position(self, position: PositionRecord) -> None:
        """Write the position under a row lock."""
        ...

    async def close_position(
        self, position: PositionRecord, *, actor: str, details: Mapping[str, object]
    ) -> None:
        """Write the closed position and its audit row."""
        ...

    async def set_signal_status(self, signal_id: str, status: str) -> None:
        """Mark the signal placed or expired."""
        ...

    async def record_rejection(self, rejection: RejectionRecord) -> None:
        """Append an exchange rejection."""
        ...



class ExchangePort(Protocol):
    """The REST methods the PositionActor's jobs call (``exchange.bybit.BybitRestClient``)."""

    async def create_order(self, request: OrderRequest) -> OrderAck:
        """Place an order; an unknown outcome is settled by ``orderLinkId``."""
        ...

    async def amend_order(self, request: AmendRequest) -> OrderAck:
        """Amend an open order."""
        ...

    async def cancel_order(
        self, symbol: str, *, order_id: str | None = None, order_link_id: str | None = None
    ) -> OrderAck:
        """Cancel one order."""
        ...

    async def get_order(
        self, symbol: str, *, order_id: str | None = None, order_link_id: str | None = None
    ) -> OrderUpdate | None:
        """Return one order (open or finished) or ``None``."""
        ...

    async def get_open_orders(
        self,
        symbol: str | None = None,
        *,
        order_id: str | None = None,
        order_link_id: str | None = None,
        settle_coin: str | None = None,
    ) -> list[OrderUpdate]:
        """Return open orders."""
        ...

    async def get_executions(
        self,
        *,
        symbol: str | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int = 100,
        cursor: str | None = None,
        order_id: str | None = None,
        order_link_id: str | None = None,
        exec_type: str | None = None,
    ) -> ExecutionPage:
        """Return one page of executions."""
        ...

    async def get_positions(
        self, symbol: str | None = None, settle_coin: str = "USDT"
    ) -> list[PositionUpdate]:
        """Return exchange positions."""
        ...

    async def get_closed_pnl(
        self,
        symbol: str | None = None,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int = 50,
    ) -> list[ClosedPnl]:
        """Return closed-PnL rows."""
        ...


class PositionPublisher(Protocol):
    """The gateway's sink for ``PositionChanged``: ``publish`` runs in an actor thread and must not block."""

    def publish(self, event: object) -> None:
        """Hand ``event`` to the publication path without waiting."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionDeps:
    """The PositionActor's collaborators; its tunables are ``ExecutionConfig`` (``Settings.execution``).

    ``risk`` receives ``CheckOrder`` (and answers to the actor), ``PositionOpened``, ``PositionClosed``,
    ``ReleaseReservation``; ``monitor`` receives ``PositionMarked`` / ``PositionClosed`` when given.
    ``min_notional_usd`` maps a symbol to the exchange's minimum order value (absent: 0).
    """

    work: WorkQueue
    store: ExecutionStorePort
    exchange: ExchangePort
    risk: MessageSink
    publisher: PositionPublisher | None = None
    monitor: MessageSink | None = None
    market_clock: Clock | None = None
    min_notional_usd: Mapping[str, Decimal] | None = None
    metrics: ExecutionMetrics | None = None
