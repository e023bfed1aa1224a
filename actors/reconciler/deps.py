"""What the ReconcilerActor is given besides its config: ports only (C-01..C-04).

* ``ReconcileStorePort`` — its reads and fenced writes (``storage.ReconciliationRepository``);
* ``ReconcileExchangePort`` — the REST reads (``exchange.bybit.BybitRestClient``);
* ``LeasePort`` — the distributed lock with fencing tokens (``storage.RedisLock``);
* ``PositionViewsPort`` — the PositionActors' state, asked from the trio side with a timeout (the engine
  asks through its ``TrioBridge``);
* sinks: the RiskActor, each symbol's PositionActor, the alert dispatcher, the SSE publisher.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from actors.messages import MessageSink
from actors.ports import WorkQueue
from actors.position import PositionView
from actors.risk import AlertSink
from exchange.bybit import OrderUpdate, PositionUpdate
from exchange.bybit.rest import ExecutionPage
from storage import ExecutionBook, FindingRecord, Lease, PassRecord, StoredFinding
from supervision.clock import Clock

from .metrics import ReconcilerMetrics

__all__ = [
    "LeasePort",
    "PositionViewsPort",
    "ReconcileExchangePort",
    "ReconcileStorePort",
    "ReconcilerDeps",
    "ReconciliationPublisher",
]


class ReconcileStorePort(Protocol):
    """The reconciler's storage operations (``storage.ReconciliationRepository``)."""

    async def load_held(self, symbols: Sequence[str]) -> dict[str, ExecutionBook]:
        """Return each symbol's unfinished positions with orders and fills."""
        ...

    async def known_order_links(self, links: Sequence[str]) -> set[str]:
        """Return which links are stored orders."""
        ...

    async def known_exec_ids(self, exec_ids: Sequence[str]) -> set[str]:
        """Return which exec ids are stored."""
        ...

    async def fence(self) -> int:
        """Return the newest lock token that wrote."""
        ...

    async def open_findings(self) -> list[StoredFinding]:
        """Return the open findings."""
        ...

    async def record_pass(
        self,
        record: PassRecord,
        new: Sequence[FindingRecord],
        resolved: Sequence[str] = (),
        *,
        announce: object | None = None,
    ) -> None:
        """Write a pass under its fencing token with its UI event ``announce`` in the same transaction
        (outbox topic ``reconciliation``, G-03); raises ``FencedWriteRejectedError``."""
        ...


class ReconcileExchangePort(Protocol):
    """The exchange reads of a pass (``exchange.bybit.BybitRestClient``)."""

    async def get_positions(
        self, symbol: str | None = None, settle_coin: str = "USDT"
    ) -> list[PositionUpdate]:
        """Return open positions."""
        ...

    async def get_open_orders(
        self,
        symbol: str | None = None,
        *,
        order_id: str | None = None,
        order_link_id: str | None = None,
        settle_coin: str | None = None,
    ) -> list[OrderUpdate]:
        """Return open orders (conditional ones included)."""
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


class LeasePort(Protocol):
    """The distributed lock (``storage.RedisLock``): one pass at a time across instances (C-04)."""

    owner: str

    async def try_acquire(self) -> Lease | None:
        """Take the lock if free."""
        ...

    async def release(self, lease: Lease) -> bool:
        """Release the lease."""
        ...

    async def holder(self) -> str | None:
        """Return the current holder's value (``owner:token``), or None."""
        ...

    async def advance(self, lease: Lease, past: int) -> Lease:
        """Re-issue the current lease with a token greater than ``past``."""
        ...


class PositionViewsPort(Protocol):
    """The PositionActors' state, read from the trio side."""

    async def views(self, symbol: str) -> tuple[PositionView, ...] | None:
        """Return ``symbol``'s PositionActor's views, or None when it did not answer in time."""
        ...


class ReconciliationPublisher(Protocol):
    """The gateway's non-blocking sink of ``ReconciliationEvent``s, told after a pass is recorded.

    The SSE event ``reconciliation`` itself is the outbox row ``record_pass`` commits with the pass (G-03);
    the gateway's feed only counts it (``storage.Topic.with_state``).
    """

    def publish(self, event: object) -> None:
        """Hand ``event`` over without waiting."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconcilerDeps:
    """The reconciler's collaborators; its tunables are ``ReconcilerConfig`` (``Settings.reconciler``).

    ``symbols`` returns the tracked symbols at each pass; ``positions`` the sink of a symbol's
    PositionActor; ``on_recorded`` runs in the trio thread after each recorded pass (the engine's start-up
    waits on it); ``market_clock`` stamps passes and findings (the actor's clock when None).
    """

    work: WorkQueue
    store: ReconcileStorePort
    exchange: ReconcileExchangePort
    lock: LeasePort
    views: PositionViewsPort
    symbols: Callable[[], Sequence[str]]
    risk: MessageSink
    positions: Callable[[str], MessageSink]
    alerts: AlertSink | None = None
    metrics: ReconcilerMetrics | None = None
    publisher: ReconciliationPublisher | None = None
    market_clock: Clock | None = None
    on_recorded: Callable[[PassRecord], None] | None = None
    settle_coin: str = "USDT"
