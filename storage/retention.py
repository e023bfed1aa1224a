"""Repository of the retention archiver and partition maintenance (D-05, T-03).

Each *family* is what leaves the database together: the rows of a root table older than the cutoff, and the
rows of other tables that reference them (a closed position takes its orders, fills, slippage and
reconciliation rows with it). The archiver works one UTC day of one family at a time, inside one
transaction: read every row of the day (``to_jsonb``), hand them to the caller to write the archive, then
delete them — dependents first. A crash before the commit leaves the rows in place and the next run writes
the same archive again, so a run is idempotent and resumable.

Signals referenced by a position, an order or a rejection stay until that position's own retention removes
the reference (the next run then takes them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from storage.database import Database

__all__ = ["FAMILIES", "ArchivedDay", "PartitionInfo", "RetentionFamily", "RetentionRepository"]


@dataclass(frozen=True, slots=True)
class RetentionFamily:
    """One family: a root table, its time column, what keeps a row, and the tables deleted with it.

    ``dependents`` maps each dependent table to its condition on the root's chosen rows, written over the
    placeholder ``{root}`` (a sub-select of the root's ids); they are read and deleted in the given order.
    """

    name: str
    table: str
    time_column: str
    keep: str = "true"
    dependents: tuple[tuple[str, str], ...] = ()


_POSITION_ORDERS = "order_id IN (SELECT id FROM orders WHERE position_id IN {root})"

# D-05: the families the archiver knows; their windows come from ``ops.RetentionConfig``.
FAMILIES: Mapping[str, RetentionFamily] = {
    "klines_5m": RetentionFamily("klines_5m", "klines_5m", "open_time"),
    "orderbook_l50_log": RetentionFamily("orderbook_l50_log", "orderbook_l50_log", "captured_at"),
    "public_trades": RetentionFamily("public_trades", "public_trades", "traded_at"),
    "ticker_log": RetentionFamily("ticker_log", "ticker_log", "ts"),
    "funding_settlements": RetentionFamily("funding_settlements", "funding_settlements", "funding_time"),
    "signals": RetentionFamily(
        "signals",
        "signals",
        "created_at",
        keep=(
            "NOT EXISTS (SELECT 1 FROM positions AS p WHERE p.signal_id = t.id)"
            " AND NOT EXISTS (SELECT 1 FROM orders AS o WHERE o.signal_id = t.id)"
            " AND NOT EXISTS (SELECT 1 FROM order_rejections AS r WHERE r.signal_id = t.id)"
        ),
        dependents=(("risk_denials", "signal_id IN {root}"),),
    ),
    "positions": RetentionFamily(
        "positions",
        "positions",
        "closed_at",
        keep="t.status = 'closed'",
        dependents=(
            ("slippage_log", f"position_id IN {{root}} OR {_POSITION_ORDERS}"),
            ("executions", f"position_id IN {{root}} OR {_POSITION_ORDERS}"),
            ("order_rejections", f"position_id IN {{root}} OR {_POSITION_ORDERS}"),
            ("reconciliation_log", f"position_id IN {{root}} OR {_POSITION_ORDERS}"),
            ("webhook_deliveries", "position_id IN {root}"),
            ("orders", "position_id IN {root}"),
        ),
    ),
}

_PARTITIONED = (
    "klines_5m", "orderbook_l50_log", "slippage_log", "public_trades", "ticker_log", "funding_settlements",
)


@dataclass(frozen=True, slots=True)
class ArchivedDay:
    """The rows of one family's day, by table (root last), as JSON objects."""

    family: str
    day: dt.date
    rows: Mapping[str, Sequence[Mapping[str, Any]]]

    @property
    def count(self) -> int:
        """Return the number of rows over every table."""
        return sum(len(rows) for rows in self.rows.values())


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    """One monthly partition: its name and range (``[lower, upper)``)."""

    table: str
    name: str
    lower: dt.datetime
    upper: dt.datetime


def _window(family: RetentionFamily) -> str:
    return f"t.{family.time_column} < $1 AND ({family.keep})"


class RetentionRepository:
    """Archive-then-delete by day, and the partitions ahead/behind (T-03)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def oldest_day(self, family: RetentionFamily, cutoff: dt.datetime) -> dt.date | None:
        """Return the UTC day of the oldest row of ``family`` older than ``cutoff``, or None."""
        oldest = await self._db.fetchval(
            f"SELECT min(t.{family.time_column}) FROM {family.table} AS t WHERE {_window(family)}",  # noqa: S608 - fixed names
            cutoff,
        )
        if oldest is None:
            return None
        value: dt.datetime = oldest
        return value.astimezone(dt.UTC).date()

    async def pending_days(self, family: RetentionFamily, cutoff: dt.datetime) -> int:
        """Return how many UTC days of ``family`` hold rows older than ``cutoff`` (progress)."""
        count = await self._db.fetchval(
            f"SELECT count(DISTINCT (t.{family.time_column} AT TIME ZONE 'UTC')::date)"  # noqa: S608 - fixed names
            f" FROM {family.table} AS t WHERE {_window(family)}",
            cutoff,
        )
        return int(count or 0)

    async def archive_day(
        self,
        family: RetentionFamily,
        day: dt.date,
        cutoff: dt.datetime,
        write: Callable[[ArchivedDay], Awaitable[None]],
    ) -> ArchivedDay:
        """Read ``family``'s rows of ``day`` (older than ``cutoff``), ``write`` them, then delete them.

        All in one transaction: when ``write`` raises, nothing is deleted.
        """
        start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        end = min(start + dt.timedelta(days=1), cutoff)
        root_where = f"t.{family.time_column} >= $1 AND t.{family.time_column} < $2 AND ({family.keep})"
        root_ids = f"(SELECT t.id FROM {family.table} AS t WHERE {root_where})"  # noqa: S608 - fixed names
        rows: dict[str, list[Mapping[str, Any]]] = {}
        async with self._db.transaction() as conn:
            for table, condition in family.dependents:
                where = condition.format(root=root_ids)
                found = await conn.fetch(
                    f"SELECT to_jsonb(d) AS row FROM {table} AS d WHERE {where}", start, end  # noqa: S608
                )
                rows[table] = [r["row"] for r in found]
            found = await conn.fetch(
                f"SELECT to_jsonb(t) AS row FROM {family.table} AS t WHERE {root_where}"  # noqa: S608
                f" ORDER BY t.{family.time_column}",
                start,
                end,
            )
            rows[family.table] = [r["row"] for r in found]
            archived = ArchivedDay(family.name, day, rows)
            await write(archived)
            for table, condition in family.dependents:
                where = condition.format(root=root_ids)
                await conn.execute(f"DELETE FROM {table} WHERE {where}", start, end)  # noqa: S608
            await conn.execute(f"DELETE FROM {family.table} AS t WHERE {root_where}", start, end)  # noqa: S608
        return archived

    async def timescale(self) -> bool:
        """Return True when the time-series tables are TimescaleDB hypertables (T-03)."""
        return bool(await self._db.fetchval("SELECT algogrid_timescale_enabled()"))

    async def ensure_partitions(self, months_ahead: int, at: dt.datetime) -> dict[str, int]:
        """Create monthly partitions from a month before ``at`` to ``months_ahead`` after; return counts."""
        created: dict[str, int] = {}
        for table in _PARTITIONED:
            created[table] = int(
                await self._db.fetchval("SELECT algogrid_ensure_partitions($1::regclass, $2, $3)", table,
                                        months_ahead, at)
            )
        return created

    async def partitions(self) -> list[PartitionInfo]:
        """Return every monthly partition of the time-series tables, oldest first."""
        found = await self._db.fetch(
            """
            SELECT p.relname AS parent, c.relname AS name,
                   substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \\(''([^'']+)''\\)') AS lower,
                   substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \\(''([^'']+)''\\)') AS upper
              FROM pg_inherits AS i
              JOIN pg_class AS c ON c.oid = i.inhrelid
              JOIN pg_class AS p ON p.oid = i.inhparent
             WHERE p.relname = ANY($1::text[]) AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
             ORDER BY 3
            """,
            list(_PARTITIONED),
        )
        return [
            PartitionInfo(
                r["parent"], r["name"],
                dt.datetime.fromisoformat(r["lower"]), dt.datetime.fromisoformat(r["upper"]),
            )
            for r in found
        ]

    async def drop_partition_if_empty(self, partition: PartitionInfo) -> bool:
        """Detach and drop ``partition`` when it holds no row; return True when it was dropped."""
        async with self._db.transaction() as conn:
            if await conn.fetchval(f'SELECT EXISTS (SELECT 1 FROM "{partition.name}")'):  # noqa: S608
                return False
            await conn.execute(f'ALTER TABLE {partition.table} DETACH PARTITION "{partition.name}"')
            await conn.execute(f'DROP TABLE "{partition.name}"')
        return True

    async def drop_chunks(self, table: str, older_than: dt.datetime) -> int:
        """Drop TimescaleDB chunks of ``table`` wholly older than ``older_than``; return how many."""
        found = await self._db.fetch("SELECT drop_chunks($1::regclass, older_than => $2)", table, older_than)
        return len(found)
