"""Repository of reconciliation (C-01..C-04): what a pass reads from PostgreSQL, and what it writes.

Reads: ``load_held(symbols)`` — every unfinished position of the tracked symbols with its orders and fills,
per symbol (three statements for all symbols, whatever their number); ``open_findings`` and
``recent_passes`` for the status endpoint and for a restarted reconciler.

Writes are *fenced* (C-04, ``storage.lock``): ``record_pass`` first moves ``reconciliation_fence`` forward to
the pass's lock token (``UPDATE … WHERE fence <= $token``); when a newer token already wrote, nothing is
written and :class:`FencedWriteRejectedError` is raised, so a holder that stalled past its lease can never
overwrite the findings of a newer pass. The pass row, its new findings and the drifts it no longer sees
(``resolved_at``) commit in the same transaction as the fence, and so does the ``reconciliation`` outbox row
that announces the pass to the UI (G-03, DESIGN §5; written last, ``storage.outbox``): a refused write
announces nothing, and a crash after the commit cannot lose the event.

An admin's acknowledgement (``acknowledge``) stamps the findings and appends one ``audit_trail`` row
(action ``reconciliation.acknowledged``) in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from storage.database import Connection, Database
from storage.errors import FencedWriteRejectedError
from storage.execution import (
    _EXEC_COLUMNS,
    _OPEN_STATUSES,
    _ORDER_COLUMNS,
    _POSITION_COLUMNS,
    ExecutionBook,
    _execution,
    _order,
    _position,
)
from storage.outbox import OutboxRepository, Topic, announcing

__all__ = ["FindingRecord", "PassRecord", "ReconciliationRepository", "StoredFinding"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingRecord:
    """One discrepancy as a pass found it (C-02); ``key`` names the drift across passes."""

    key: str
    symbol: str | None
    severity: str
    kind: str
    position_id: str | None = None
    details: Mapping[str, object] = field(default_factory=dict)
    repair: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredFinding:
    """A ``reconciliation_log`` row."""

    id: int
    key: str | None
    at: dt.datetime
    symbol: str | None
    severity: str
    kind: str
    position_id: str | None
    details: Mapping[str, Any]
    repair: str | None
    fence: int | None
    resolved_at: dt.datetime | None
    acknowledged_by: str | None
    acknowledged_at: dt.datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PassRecord:
    """A finished pass: who held the lock with which token, how long it took, what it found."""

    run_id: str
    fence: int
    holder: str
    started_at: dt.datetime
    duration_ms: float
    symbols: int
    info: int = 0
    warning: int = 0
    critical: int = 0
    clean: bool = True
    finished_at: dt.datetime | None = None


_FINDING_COLUMNS = (
    "id, finding_key, at, symbol, severity, kind, position_id, details, repair, fence, resolved_at, "
    "acknowledged_by, acknowledged_at"
)
_RUN_COLUMNS = (
    "run_id, fence, holder, started_at, finished_at, duration_ms, symbols, info, warning, critical, clean"
)

_ADVANCE_FENCE = "UPDATE reconciliation_fence SET fence = $1 WHERE id = 1 AND fence <= $1 RETURNING fence"
_INSERT_PASS = f"""
INSERT INTO reconciliation_passes ({_RUN_COLUMNS.replace("finished_at, ", "")})
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
"""  # noqa: S608 - constant column list
_INSERT_FINDING = """
INSERT INTO reconciliation_log
    (run_id, finding_key, symbol, severity, kind, position_id, details, repair, fence)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""
_RESOLVE = """
UPDATE reconciliation_log SET resolved_at = now()
WHERE finding_key = ANY($1::text[]) AND resolved_at IS NULL
"""
_OPEN = f"""
SELECT {_FINDING_COLUMNS} FROM reconciliation_log
WHERE finding_key IS NOT NULL AND (resolved_at IS NULL OR (severity = 'critical' AND acknowledged_at IS NULL))
ORDER BY id
"""  # noqa: S608 - constant column list
_RECENT = f"SELECT {_RUN_COLUMNS} FROM reconciliation_passes ORDER BY finished_at DESC LIMIT $1"  # noqa: S608
_ACK = """
UPDATE reconciliation_log SET acknowledged_by = $2, acknowledged_at = now()
WHERE acknowledged_at IS NULL AND ($1::bigint[] IS NULL OR id = ANY($1::bigint[]))
RETURNING id
"""
_AUDIT = """
INSERT INTO audit_trail (actor_label, action, target_type, target_id, details)
VALUES ($1, 'reconciliation.acknowledged', 'reconciliation_log', $2, $3)
"""


def _finding(row: asyncpg.Record) -> StoredFinding:
    return StoredFinding(
        id=row["id"],
        key=row["finding_key"],
        at=row["at"],
        symbol=row["symbol"],
        severity=row["severity"],
        kind=row["kind"],
        position_id=None if row["position_id"] is None else str(row["position_id"]),
        details=dict(row["details"] or {}),
        repair=row["repair"],
        fence=row["fence"],
        resolved_at=row["resolved_at"],
        acknowledged_by=row["acknowledged_by"],
        acknowledged_at=row["acknowledged_at"],
    )


def _pass(row: asyncpg.Record) -> PassRecord:
    values = dict(row.items())
    values["run_id"] = str(values["run_id"])
    return PassRecord(**values)


class ReconciliationRepository:
    """Reads and fenced writes of the ReconcilerActor (see the module docstring)."""

    def __init__(self, db: Database, outbox: OutboxRepository | None = None) -> None:
        self._db = db
        self._outbox = outbox

    # -- reads ---------------------------------------------------------------------------------------

    async def load_held(self, symbols: Sequence[str]) -> dict[str, ExecutionBook]:
        """Return, per symbol of ``symbols``, its unfinished positions with their orders and fills."""
        positions = await self._db.fetch(
            f"SELECT {_POSITION_COLUMNS} FROM positions "  # noqa: S608 - constant column lists
            "WHERE symbol = ANY($1::text[]) AND status = ANY($2::text[]) ORDER BY opened_at",
            list(symbols),
            list(_OPEN_STATUSES),
        )
        ids = [row["id"] for row in positions]
        orders = await self._db.fetch(
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE position_id = ANY($1::uuid[]) ORDER BY created_at",  # noqa: S608
            ids,
        )
        executions = await self._db.fetch(
            f"SELECT {_EXEC_COLUMNS} FROM executions WHERE position_id = ANY($1::uuid[]) ORDER BY exec_time",  # noqa: S608
            ids,
        )
        held = [_position(r) for r in positions]
        order_rows = [_order(r) for r in orders]
        exec_rows = [_execution(r) for r in executions]
        books: dict[str, ExecutionBook] = {}
        for symbol in symbols:
            mine = tuple(p for p in held if p.symbol == symbol)
            pids = {p.id for p in mine}
            fills = tuple(e for e in exec_rows if e.position_id in pids)
            books[symbol] = ExecutionBook(
                positions=mine,
                orders=tuple(o for o in order_rows if o.position_id in pids),
                executions=fills,
                last_exec_time=max((e.exec_time for e in fills), default=None),
            )
        return books

    async def known_order_links(self, links: Sequence[str]) -> set[str]:
        """Return which of ``links`` are stored orders (any status)."""
        if not links:
            return set()
        rows = await self._db.fetch(
            "SELECT client_order_id FROM orders WHERE client_order_id = ANY($1::text[])", list(links)
        )
        return {row["client_order_id"] for row in rows}

    async def known_exec_ids(self, exec_ids: Sequence[str]) -> set[str]:
        """Return which of ``exec_ids`` are stored executions."""
        if not exec_ids:
            return set()
        rows = await self._db.fetch(
            "SELECT exec_id FROM executions WHERE exec_id = ANY($1::text[])", list(exec_ids)
        )
        return {row["exec_id"] for row in rows}

    async def open_findings(self) -> list[StoredFinding]:
        """Return the findings still open: unresolved, or critical and not yet acknowledged."""
        return [_finding(r) for r in await self._db.fetch(_OPEN)]

    async def recent_passes(self, limit: int = 10) -> list[PassRecord]:
        """Return the newest ``limit`` passes, newest first."""
        return [_pass(r) for r in await self._db.fetch(_RECENT, limit)]

    async def fence(self) -> int:
        """Return the newest lock token that wrote."""
        return int(await self._db.fetchval("SELECT fence FROM reconciliation_fence WHERE id = 1"))

    # -- fenced writes -------------------------------------------------------------------------------

    async def record_pass(
        self,
        record: PassRecord,
        new: Sequence[FindingRecord],
        resolved: Sequence[str] = (),
        *,
        announce: object | None = None,
    ) -> None:
        """Write a pass, its new findings and the drifts it no longer sees, under its fencing token.

        Args:
            record: the pass (its ``fence`` is the lock token it wrote with, C-04).
            new: the findings first seen by this pass.
            resolved: the keys of the drifts this pass no longer sees.
            announce: the pass's UI event; its JSON form (``storage.event_payload``) is the payload of the
                ``reconciliation`` outbox row, the transaction's last statement. None, or a repository built
                without an outbox: the pass is not announced.

        Raises:
            FencedWriteRejectedError: a pass with a newer lock token already wrote (nothing is written).
        """
        async with self._transaction() as conn:
            if await conn.fetchval(_ADVANCE_FENCE, record.fence) is None:
                raise FencedWriteRejectedError(
                    f"reconciliation pass with token {record.fence} refused: a newer lease already wrote"
                )
            run = uuid.UUID(record.run_id)
            await conn.execute(
                _INSERT_PASS,
                run,
                record.fence,
                record.holder,
                record.started_at,
                record.duration_ms,
                record.symbols,
                record.info,
                record.warning,
                record.critical,
                record.clean,
            )
            if new:
                await conn.executemany(
                    _INSERT_FINDING,
                    [
                        (
                            run,
                            f.key,
                            f.symbol,
                            f.severity,
                            f.kind,
                            None if f.position_id is None else uuid.UUID(f.position_id),
                            dict(f.details),
                            f.repair,
                            record.fence,
                        )
                        for f in new
                    ],
                )
            if resolved:
                await conn.execute(_RESOLVE, list(resolved))
            if announce is not None and self._outbox is not None:
                await self._outbox.add(conn, Topic.RECONCILIATION, announce)  # last: it takes the id lock

    def _transaction(self) -> AbstractAsyncContextManager[Connection]:
        return announcing(self._db, self._outbox)  # wakes the relay after the commit

    # -- operator ------------------------------------------------------------------------------------

    async def acknowledge(self, ids: Sequence[int] | None, *, by: str) -> list[int]:
        """Acknowledge findings ``ids`` (``None``: every unacknowledged one) and audit it; return the ids."""
        async with self._db.transaction() as conn:
            rows = await conn.fetch(_ACK, None if ids is None else list(ids), by)
            done = sorted(row["id"] for row in rows)
            if done:
                await conn.execute(_AUDIT, by, ",".join(map(str, done))[:200], {"ids": done})
        return done
