"""Wiring of the ReconcilerActor (``root/reconciler``, C-01..C-04) for the composition root.

``reconciler_child`` returns its child spec: the reads and fenced writes on ``storage.reconciliation``, the
Redis lock with fencing tokens (``storage.RedisLock``, name ``reconciler.lock_name``), the engine's REST
client, the PositionActors' views asked through the ``TrioBridge`` (``BridgeViews``), the RiskActor and each
symbol's PositionActor by path, alerts, metrics on the engine's registry and the gateway's publisher.
``FirstPass`` lets the engine wait for the start-up pass before it reports ready (DESIGN §9: storage →
reconciliation pass → clicks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import structlog
import trio

from actors import RECONCILER, RECONCILER_NAME, RISK, LazySink, RefResolver, position_path
from actors.messages import MessageSink
from actors.ports import WorkQueue
from actors.position import GetPositions, PositionView
from actors.reconciler import (
    FindingsAcknowledged,
    GetReconciliationStatus,
    ReconcileExchangePort,
    ReconcilerActor,
    ReconcilerConfig,
    ReconcilerDeps,
    ReconcilerMetrics,
    ReconciliationPublisher,
    RunPass,
    is_own_link,
)
from actors.risk import AlertSink
from gateway import (
    EngineTimeoutError,
    EngineUnavailableError,
    FindingBody,
    PassBody,
    ReconciliationStatusBody,
)
from storage import PassRecord, RedisLock
from supervision import ActorUnavailable, AskTimeout, ChildSpec, Clock, TrioBridge, UnknownPath

__all__ = [
    "BridgeViews",
    "FirstPass",
    "ForeignActivityTap",
    "ReconciliationAccess",
    "reconciler_child",
    "reconciler_children",
]

log = structlog.get_logger(__name__)


class ForeignActivityTap:
    """The private session's sink in front of the ``PrivateRouter``: routes every event unchanged, and asks
    the reconciler for a pass at once when the account trades or orders outside the system (an execution or
    order whose ``orderLinkId`` is not ours), so another client's change is judged within a pass, not within
    an interval."""

    def __init__(self, sink: Any, reconciler: Callable[[], MessageSink]) -> None:
        self._sink, self._reconciler = sink, reconciler

    def publish(self, event: Any) -> None:
        """Route ``event``; on outside activity tell ``RunPass("foreign_activity")`` (never raises)."""
        self._sink.publish(event)
        link = getattr(event, "order_link_id", None)
        if link is None or getattr(event, "exec_type", "Trade") != "Trade" or is_own_link(link):
            return
        try:
            self._reconciler().tell(RunPass("foreign_activity"))
        except Exception as exc:  # boundary: the stream's reader must never fail on the reconciler's state
            log.warning("reconciler unavailable for outside activity", error=repr(exc))


class BridgeViews:
    """``PositionViewsPort``: ask a symbol's PositionActor for its views from the trio side (bounded)."""

    def __init__(self, resolve: Callable[[str], Any], bridge: TrioBridge, timeout_s: float) -> None:
        self._resolve, self._bridge, self._timeout_s = resolve, bridge, timeout_s

    async def views(self, symbol: str) -> tuple[PositionView, ...] | None:
        """Return the views, or None when the actor is unknown, restarting or slower than the timeout."""
        try:
            views: tuple[PositionView, ...] = await self._bridge.ask(
                self._resolve(position_path(symbol)), GetPositions(), timeout=self._timeout_s
            )
        except (ActorUnavailable, UnknownPath, AskTimeout):
            return None
        return views


class FirstPass:
    """Set once the first pass is recorded (``on_recorded`` runs in the trio thread, inside the job)."""

    def __init__(self) -> None:
        self.event = trio.Event()
        self.first: PassRecord | None = None

    def __call__(self, record: PassRecord) -> None:
        """Note ``record``; the first one sets ``event``."""
        if self.first is None:
            self.first = record
            self.event.set()


class ReconciliationAccess:
    """The gateway's ``ReconciliationPort`` over the running tree and storage (G-01, C-02)."""

    def __init__(
        self, resolve: Callable[[str], Any], bridge: TrioBridge, storage: Any, config: ReconcilerConfig
    ) -> None:
        self._resolve, self._bridge, self._storage = resolve, bridge, storage
        self._lock = RedisLock(storage.redis, config.lock_name, config.lock_ttl_s)

    async def status(self, timeout_s: float) -> ReconciliationStatusBody:
        """Ask ``root/reconciler`` for its status and read the lock's holder.

        Raises:
            EngineUnavailableError: the reconciler is not running.
            EngineTimeoutError: no answer within ``timeout_s``.
        """
        try:
            status = await self._bridge.ask(
                self._resolve(RECONCILER), GetReconciliationStatus(), timeout=timeout_s
            )
        except (ActorUnavailable, UnknownPath) as exc:
            raise EngineUnavailableError(f"the reconciler is not running: {exc}") from exc
        except AskTimeout as exc:
            raise EngineTimeoutError(f"the reconciler did not answer within {timeout_s:g} s") from exc
        return ReconciliationStatusBody(
            passes=[PassBody.model_validate(p, from_attributes=True) for p in status.passes],
            open_findings=[_finding(f) for f in status.open_findings],
            hold=status.hold,
            running=status.running,
            lock_holder=await self._lock.holder(),
            owner=status.owner,
            skipped=status.skipped,
            refused=status.refused,
            failed=status.failed,
            interval_s=status.interval_s,
        )

    async def acknowledge(self, ids: list[int] | None, by: str) -> list[int]:
        """Store and audit the acknowledgement, then tell the reconciler (it re-reads its open findings)."""
        done: list[int] = await self._storage.reconciliation.acknowledge(ids, by=by)
        try:
            self._resolve(RECONCILER).tell(FindingsAcknowledged(ids=tuple(done), by=by))
        except (ActorUnavailable, UnknownPath):
            log.warning("reconciler unavailable; it reloads the acknowledgement on its next start")
        return done


def _finding(finding: Any) -> FindingBody:
    fields = {name: getattr(finding, name) for name in FindingBody.model_fields}
    return FindingBody.model_validate({**fields, "details": dict(finding.details)})


class _PositionSinks:
    def __init__(self, resolve: RefResolver) -> None:
        self._resolve = resolve

    def __call__(self, symbol: str) -> MessageSink:
        return self._resolve(position_path(symbol))


def reconciler_child(
    config: ReconcilerConfig,
    storage: Any,
    *,
    work: WorkQueue,
    exchange: ReconcileExchangePort,
    resolve: RefResolver,
    bridge: TrioBridge,
    symbols: Callable[[], Sequence[str]],
    metrics: ReconcilerMetrics | None,
    alerts: AlertSink | None = None,
    publisher: ReconciliationPublisher | None = None,
    market_clock: Clock | None = None,
    on_recorded: Callable[[PassRecord], None] | None = None,
    lock_owner: str | None = None,
) -> ChildSpec:
    """Return the ``reconciler`` child spec of the root supervisor (start it after ``symbols``)."""
    deps = ReconcilerDeps(
        work=work,
        store=storage.reconciliation,
        exchange=exchange,
        lock=RedisLock(storage.redis, config.lock_name, config.lock_ttl_s, owner=lock_owner),
        views=BridgeViews(resolve, bridge, config.actor_timeout_s),
        symbols=symbols,
        risk=LazySink(resolve, RISK),
        positions=_PositionSinks(resolve),
        alerts=alerts,
        metrics=metrics,
        publisher=publisher,
        market_clock=market_clock,
        on_recorded=on_recorded,
    )
    return ChildSpec(RECONCILER_NAME, lambda: ReconcilerActor.start(config, deps), kind="reconciler")


def reconciler_children(config: ReconcilerConfig, storage: Any, **kwargs: Any) -> tuple[ChildSpec, ...]:
    """Return ``(reconciler_child(...),)`` when ``config.enabled``, else no child."""
    return (reconciler_child(config, storage, **kwargs),) if config.enabled else ()
