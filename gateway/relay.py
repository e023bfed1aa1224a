"""The outbox relay: UI events go from the PostgreSQL outbox to the Redis Stream and the SSE clients (G-03).

Every event for the UI is first a row of the outbox, committed with the state change it announces
(``storage.outbox``). ``OutboxRelay.run`` (a trio task owned by ``gateway.serve``) reads unrelayed rows in id
order, renders each into its SSE event (``render``), appends it to the Redis Stream under the id
``<outbox id>-0`` (``RedisEventLog.append_at``), fans it out to the live clients, and marks the rows relayed.

Failure semantics:

* Redis or PostgreSQL down: the relay retries with a doubling backoff (``gateway.outbox.backoff_*``); rows
  wait in the outbox, so an outage delays events and loses none. Errors are counted (``relay_errors``).
* Stopped between the append and the mark (crash, outage): the next attempt appends the same id; Redis
  refuses it and ``append_at`` finds the entry, so it is neither stored nor fanned out twice.
* Ids are the outbox's, so ``Last-Event-ID`` replay (``gateway.sse``) spans gateway restarts.

Retention: rows relayed more than ``retention_days`` ago are deleted every ``purge_every_s``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
import trio
from pydantic import BaseModel, ValidationError

from gateway.config import OutboxRelayConfig
from gateway.events import RedisEventLog, StreamEvent, outbox_event_id
from gateway.hub import SignalHub
from gateway.models import PositionSummary, SignalView
from gateway.models_alerts import AlertView
from gateway.models_metrics import MetricsView
from gateway.reconciliation import ReconciliationEventView

__all__ = ["OutboxRelay", "OutboxStore", "RelayStats", "render"]

log = structlog.get_logger(__name__)

# The SSE data of these topics is their view (the payload is the stored row); others pass through as JSON.
_VIEWS: dict[str, type[BaseModel]] = {
    "signal": SignalView,
    "position": PositionSummary,
    "reconciliation": ReconciliationEventView,
    "be": AlertView,
    "metrics": MetricsView,
}


class OutboxRowLike(Protocol):
    """One outbox row as the relay reads it (``storage.OutboxRow``)."""

    @property
    def id(self) -> int: ...
    @property
    def topic(self) -> str: ...
    @property
    def payload(self) -> Any: ...


class OutboxBacklogLike(Protocol):
    """The outbox's unrelayed rows (``storage.OutboxBacklog``)."""

    @property
    def rows(self) -> int: ...
    @property
    def oldest_at(self) -> dt.datetime | None: ...


class OutboxStore(Protocol):
    """The outbox as the relay uses it (``storage.OutboxRepository``); runs in the trio thread."""

    async def pending(self, limit: int) -> Sequence[OutboxRowLike]:
        """Return up to ``limit`` unrelayed rows in id order."""

    async def mark_relayed(self, ids: Sequence[int]) -> int:
        """Mark rows relayed."""

    async def purge(self, older_than: dt.timedelta) -> int:
        """Delete rows relayed longer ago than ``older_than``."""

    async def backlog(self) -> OutboxBacklogLike:
        """Return the unrelayed rows' count and oldest creation time."""

    async def wait_written(self, timeout_s: float) -> bool:
        """Wait until this process commits rows, at most ``timeout_s``."""


def render(topic: str, payload: Any, outbox_id: int) -> StreamEvent:
    """Return the SSE event of an outbox row: its topic as the event name, its view as the data.

    A payload its view refuses is logged and sent as it is: one bad row never stops the relay.
    """
    view = _VIEWS.get(topic)
    data: str | None = None
    if view is not None:
        try:
            data = view.model_validate(payload).model_dump_json()
        except ValidationError as exc:
            log.error(  # noqa: TRY400 - the refusal's text is logged; a traceback says nothing more
                "outbox payload refused by its view", topic=topic, id=outbox_id, error=str(exc)[:300]
            )
    if data is None:
        data = json.dumps(payload, separators=(",", ":"), default=str)
    return StreamEvent(id=outbox_event_id(outbox_id), event=topic, data=data)


@dataclass(slots=True)
class RelayStats:
    """Counters and gauges of the relay (``gateway.metrics`` exposes them, G-06)."""

    relayed: int = 0
    duplicates: int = 0
    errors: int = 0
    purged: int = 0
    backlog_rows: int = 0
    lag_s: float = 0.0


class OutboxRelay:
    """Moves outbox rows to the Redis Stream and the live SSE clients; see the module docstring."""

    def __init__(
        self,
        store: OutboxStore,
        events: RedisEventLog,
        config: OutboxRelayConfig,
        *,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._store = store
        self._events = events
        self._config = config
        self._now = now
        self.stats = RelayStats()

    async def relay_once(self, hub: SignalHub, on_event: Callable[[], None] | None = None) -> int:
        """Relay one batch of rows; return how many rows it took (0: the outbox is drained).

        Raises:
            EventLogError: Redis refused or could not be reached (the rows before it are marked relayed).
            StorageError: PostgreSQL could not be read or written.
        """
        rows = await self._store.pending(self._config.batch)
        done: list[int] = []
        try:
            for row in rows:
                event = render(row.topic, row.payload, row.id)
                if await self._events.append_at(event):
                    if on_event is not None:
                        on_event()
                    hub.publish(event)
                    self.stats.relayed += 1
                else:
                    self.stats.duplicates += 1
                done.append(row.id)
        finally:
            if done:
                with trio.CancelScope(shield=True):
                    await self._store.mark_relayed(done)
        return len(rows)

    async def _measure(self) -> None:
        backlog = await self._store.backlog()
        self.stats.backlog_rows = backlog.rows
        oldest = backlog.oldest_at
        self.stats.lag_s = 0.0 if oldest is None else max(0.0, (self._now() - oldest).total_seconds())

    async def _purge(self) -> None:
        purged = await self._store.purge(dt.timedelta(days=self._config.retention_days))
        self.stats.purged += purged
        if purged:
            log.info("relayed outbox rows purged", rows=purged, retention_days=self._config.retention_days)

    async def run(
        self,
        hub: SignalHub,
        *,
        on_event: Callable[[], None] | None = None,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Relay until cancelled: drain, wait for a commit or ``poll_s``; back off while a server is down.

        ``on_event`` runs in the trio thread after an event is on the stream and before it is fanned out (the
        gateway invalidates its read cache there, so a client that saw the event reads the new state).
        """
        config = self._config
        backoff = config.backoff_min_s
        next_purge = trio.current_time()
        task_status.started()
        while True:
            try:
                while await self.relay_once(hub, on_event) >= config.batch:
                    pass
                await self._measure()
                if trio.current_time() >= next_purge:
                    await self._purge()
                    next_purge = trio.current_time() + config.purge_every_s
            except Exception as exc:  # boundary of a long-running service: every failure is retried
                self.stats.errors += 1
                log.warning(
                    "outbox relay failed, retrying",
                    error=f"{type(exc).__name__}: {exc}"[:300],
                    retry_in_s=backoff,
                )
                await trio.sleep(backoff)
                backoff = min(backoff * 2, config.backoff_max_s)
                continue
            backoff = config.backoff_min_s
            await self._store.wait_written(config.poll_s)
