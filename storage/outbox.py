"""The UI event outbox (G-03, DESIGN §5): an event is committed with the state change it announces.

A repository that changes state the UI must hear about (a stored signal, a position row, the kill switch, a
recorded reconciliation pass) writes the announcing ``outbox`` row **in the same transaction** with
:meth:`OutboxRepository.add`; both commit or neither does (:meth:`Topic.with_state` lists those topics).
Events that announce no state change of their own (a break-even alert, a metrics snapshot) go through
:meth:`OutboxRepository.append`, their own transaction.

Ordering: every ``add`` first takes one transaction-level advisory lock, so outbox ids are drawn and committed
one transaction at a time: a committed row never has a smaller id than a row committed before it. The relay
(``gateway.OutboxRelay``) therefore reads unrelayed rows in id order and uses the id as the Redis Stream entry
id (``<id>-0``), which makes a retried relay idempotent and SSE's ``Last-Event-ID`` stable across restarts.
The lock is held from the outbox insert to the commit only: write the outbox row last in a transaction.

Where the change is one statement (opening a position, the kill switch), the outbox insert joins it as one
more data-modifying CTE that takes the same lock (``OUTBOX_LOCK_KEY``): still one round trip.

Wake-up: a transaction opened with :meth:`OutboxRepository.transaction` (and ``append``) wakes the relay
after its commit, as the one-statement writers do with :meth:`OutboxRepository.wake`; the relay also polls,
for rows written by another process.

The payload is the JSON form of the changed record (:func:`event_payload`: ``Decimal`` and times as strings);
the relay renders it into the SSE event's data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import trio

from storage.database import Connection, Database

__all__ = [
    "OUTBOX_LOCK_KEY",
    "OutboxBacklog",
    "OutboxRepository",
    "OutboxRow",
    "Topic",
    "announcing",
    "event_json",
    "event_payload",
]

# pg_advisory_xact_lock key of the outbox ("outb" in ASCII): serialises outbox ids with commits. The lock
# is taken in the FROM clause of the insert: before the row's id (its default) is drawn, in one statement.
OUTBOX_LOCK_KEY = 0x6F757462

_ADD = (
    "INSERT INTO outbox (topic, payload) "
    "SELECT $1, p::jsonb FROM (SELECT pg_advisory_xact_lock($3)) AS lock, "
    "unnest($2::text[]) WITH ORDINALITY AS u (p, n) ORDER BY n RETURNING id"
)
_PENDING = (
    "SELECT id, topic, payload, created_at FROM outbox WHERE relayed_at IS NULL ORDER BY id LIMIT $1"
)
_MARK = "UPDATE outbox SET relayed_at = now() WHERE id = ANY($1::bigint[]) AND relayed_at IS NULL"
_PURGE = "DELETE FROM outbox WHERE relayed_at IS NOT NULL AND relayed_at < now() - $1::interval"
_BACKLOG = "SELECT count(*) AS n, min(created_at) AS oldest FROM outbox WHERE relayed_at IS NULL"


class Topic(enum.StrEnum):
    """What an outbox row announces; the value is the SSE event name (G-03 channels)."""

    SIGNAL = "signal"
    POSITION = "position"
    BE = "be"
    KILL_SWITCH = "kill_switch"
    RECONCILIATION = "reconciliation"
    METRICS = "metrics"

    @classmethod
    def with_state(cls) -> frozenset[Topic]:
        """Return the topics whose row is written by the transaction of the change it announces.

        The gateway's feed only counts events of these topics (``SignalFeed(announced=...)``); it appends the
        others (``be``, ``metrics``) to the outbox in their own transaction.
        """
        return frozenset({cls.SIGNAL, cls.POSITION, cls.KILL_SWITCH, cls.RECONCILIATION})


def event_payload(value: object) -> Any:
    """Return the JSON form of ``value`` (a dataclass, pydantic model, mapping, sequence or scalar).

    ``Decimal`` becomes its exact string, times ISO 8601, UUIDs and enums their string value.
    """
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    elif callable(getattr(value, "model_dump", None)):
        value = value.model_dump()  # type: ignore[attr-defined]  # a pydantic model, checked just above
    if isinstance(value, Mapping):
        return {str(k): event_payload(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [event_payload(v) for v in value]
    raise TypeError(f"expected a JSON-able event value, got {type(value).__name__}")


def event_json(value: object) -> str:
    """Return ``event_payload(value)`` as compact JSON text."""
    return json.dumps(event_payload(value), separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One announced event waiting for (or past) the relay."""

    id: int
    topic: str
    payload: Any
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class OutboxBacklog:
    """Rows not relayed yet and the creation time of the oldest (None when there is none)."""

    rows: int
    oldest_at: dt.datetime | None


@asynccontextmanager
async def announcing(db: Database, outbox: OutboxRepository | None) -> AsyncIterator[Connection]:
    """Yield a transaction of ``db`` for a change and its announcement: with ``outbox``, one that wakes the
    relay after its commit (:meth:`OutboxRepository.transaction`); without, a plain one."""
    if outbox is None:
        async with db.transaction() as tx:
            yield tx
    else:
        async with outbox.transaction() as tx:
            yield tx


class OutboxRepository:
    """Explicit SQL over ``outbox``; see the module docstring."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._written = trio.Event()
        self._unseen = False  # a commit the relay has not been told of (set by wake, taken by wait_written)

    async def add(self, conn: Connection, topic: str, payload: object) -> int:
        """Write one event inside the caller's transaction ``conn`` (one statement); return its id.

        Call it last in the transaction (the id lock is held until the commit), and open the transaction with
        :meth:`transaction` so the relay is woken after the commit.
        """
        [event_id] = await self.add_many(conn, topic, [payload])
        return event_id

    async def add_many(self, conn: Connection, topic: str, payloads: Sequence[object]) -> list[int]:
        """Write events of one ``topic`` inside ``conn`` in one statement; return their ids in order."""
        if not payloads:
            return []
        rows = await conn.fetch(_ADD, topic, [event_json(p) for p in payloads], OUTBOX_LOCK_KEY)
        return [int(r["id"]) for r in rows]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """Yield a transaction of the pool (as ``Database.transaction``); wake the relay after its commit."""
        async with self._db.transaction() as tx:
            yield tx
        self.wake()

    async def append(self, topic: str, payload: object) -> int:
        """Write an event that announces no state change of its own, in its own transaction; return its id."""
        async with self.transaction() as tx:
            return await self.add(tx, topic, payload)

    async def pending(self, limit: int) -> list[OutboxRow]:
        """Return up to ``limit`` rows not relayed yet, in id order."""
        rows = await self._db.fetch(_PENDING, limit)
        return [OutboxRow(r["id"], r["topic"], r["payload"], r["created_at"]) for r in rows]

    async def mark_relayed(self, ids: Sequence[int]) -> int:
        """Mark rows as relayed; return how many were still unrelayed."""
        if not ids:
            return 0
        tag = await self._db.execute(_MARK, list(ids))
        return int(tag.rsplit(" ", 1)[-1])

    async def purge(self, older_than: dt.timedelta) -> int:
        """Delete rows relayed more than ``older_than`` ago; return how many were deleted."""
        tag = await self._db.execute(_PURGE, older_than)
        return int(tag.rsplit(" ", 1)[-1])

    async def backlog(self) -> OutboxBacklog:
        """Return how many rows wait for the relay and since when."""
        row = await self._db.fetchrow(_BACKLOG)
        return OutboxBacklog(0, None) if row is None else OutboxBacklog(int(row["n"]), row["oldest"])

    def wake(self) -> None:
        """Tell the relay that rows were committed (trio thread only)."""
        self._unseen = True
        self._written.set()
        self._written = trio.Event()

    async def wait_written(self, timeout_s: float) -> bool:
        """Wait until this process commits rows, at most ``timeout_s``; return True when woken.

        A commit since the previous call returns at once, so a commit made while the relay was reading is
        never waited for.
        """
        if not self._unseen:
            with trio.move_on_after(timeout_s):
                await self._written.wait()
        woken, self._unseen = self._unseen, False
        return woken
