"""The execution tables: positions, orders, executions, order_rejections, slippage_log (E-02..E-07, T-04).

``ExecutionRepository`` satisfies ``actors.position.ExecutionStorePort``; every write the PositionActor makes
goes through it. The rules it keeps:

* an order's *intent* (its ``orderLinkId``) is committed before the REST call (``open_position``,
  ``record_intent``), and recording it twice changes nothing (unique ``client_order_id``);
* an execution is inserted once by its exec id; ``record_executions`` returns the ids that were new;
* a position is written under ``SELECT … FOR UPDATE`` and its status never regresses (the caller's state
  table decides; the row lock serialises two writers, T-04);
* a rejection is kept with the exchange's retCode, message and error kind;
* every write of a ``positions`` row (open, save, close) commits the ``position`` outbox row that announces
  it to the UI in the same transaction (G-03, DESIGN §5; ``storage.outbox``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

import asyncpg

from storage.audit import AuditRepository
from storage.database import Connection, Database
from storage.errors import StatementRejectedError
from storage.outbox import OUTBOX_LOCK_KEY, OutboxRepository, Topic, announcing, event_json
from storage.signals import SignalRepository, StoredSignal

__all__ = [
    "ExecutionBook",
    "ExecutionRecord",
    "ExecutionRepository",
    "OrderRecord",
    "PositionRecord",
    "RejectionRecord",
    "SlippageRecord",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionRecord:
    """A row of ``positions`` (ids as strings; money in ``Decimal``)."""

    id: str
    signal_id: str | None
    symbol: str
    side: str
    status: str
    requested_size_base: Decimal
    executed_size_base: Decimal = Decimal(0)
    fill_ratio: Decimal = Decimal(0)
    avg_entry_price: Decimal | None = None
    sl: Decimal | None = None
    tp1: Decimal | None = None
    tp2: Decimal | None = None
    tp3: Decimal | None = None
    risk_usd: Decimal = Decimal(0)
    risk_r: Decimal = Decimal(0)
    be_moved: bool = False
    opened_at: dt.datetime
    closed_at: dt.datetime | None = None
    close_reason: str | None = None
    avg_exit_price: Decimal | None = None
    pnl_usd: Decimal | None = None
    fees_usd: Decimal = Decimal(0)
    funding_usd: Decimal = Decimal(0)
    slippage_entry_bps: Decimal | None = None
    slippage_exit_bps: Decimal | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRecord:
    """A row of ``orders``; ``client_order_id`` is the ``orderLinkId``."""

    client_order_id: str
    position_id: str | None
    signal_id: str | None
    symbol: str
    side: str
    order_type: str
    time_in_force: str
    reduce_only: bool
    purpose: str
    qty: Decimal
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    attempt: int = 0
    status: str = "new"
    exchange_order_id: str | None = None
    filled_qty: Decimal = Decimal(0)
    avg_fill_price: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionRecord:
    """A row of ``executions``: one fill (or funding settlement) by exec id."""

    exec_id: str
    order_link_id: str
    exchange_order_id: str | None
    position_id: str | None
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    fee: Decimal
    exec_type: str
    is_maker: bool
    exec_time: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class RejectionRecord:
    """A row of ``order_rejections`` (E-07)."""

    client_order_id: str | None
    position_id: str | None
    signal_id: str | None
    symbol: str
    ret_code: int
    ret_msg: str
    error_kind: str
    request: Mapping[str, object]


@dataclass(frozen=True, slots=True, kw_only=True)
class SlippageRecord:
    """A row of ``slippage_log`` (E-05): one fill leg against its requested price."""

    symbol: str
    side: str
    leg: str
    position_id: str | None
    client_order_id: str | None
    requested_price: Decimal
    avg_fill_price: Decimal
    qty: Decimal
    slippage_bps: Decimal
    modelled_bps: Decimal | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionBook:
    """What the PositionActor rebuilds from: its symbol's unfinished positions, their orders and fills."""

    positions: tuple[PositionRecord, ...]
    orders: tuple[OrderRecord, ...]
    executions: tuple[ExecutionRecord, ...]
    last_exec_time: dt.datetime | None
    signals: tuple[StoredSignal, ...] = ()  # the positions' signals: entry and market context (E-05)


_POSITION_COLUMNS = (
    "id, signal_id, symbol, side, status, requested_size_base, executed_size_base, fill_ratio, "
    "avg_entry_price, sl, tp1, tp2, tp3, risk_usd, risk_r, be_moved, opened_at, closed_at, close_reason, "
    "avg_exit_price, pnl_usd, fees_usd, funding_usd, slippage_entry_bps, slippage_exit_bps, error_message"
)
_ORDER_COLUMNS = (
    "client_order_id, position_id, signal_id, symbol, side, order_type, time_in_force, reduce_only, purpose, "
    "qty, price, trigger_price, attempt, status, exchange_order_id, filled_qty, avg_fill_price"
)
_EXEC_COLUMNS = (
    "exec_id, order_link_id, exchange_order_id, position_id, symbol, side, price, qty, fee, exec_type, "
    "is_maker, exec_time"
)


def _uuid(value: str | None) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(value)


def _strs(row: asyncpg.Record, *names: str) -> dict[str, Any]:
    out = dict(row.items())
    for name in names:
        if out.get(name) is not None:
            out[name] = str(out[name])
    return out


def _position(row: asyncpg.Record) -> PositionRecord:
    return PositionRecord(**_strs(row, "id", "signal_id"))


def _order(row: asyncpg.Record) -> OrderRecord:
    return OrderRecord(**_strs(row, "position_id", "signal_id"))


def _execution(row: asyncpg.Record) -> ExecutionRecord:
    return ExecutionRecord(**_strs(row, "position_id"))


_OPEN_STATUSES = ("opening", "open", "partial_accepted", "failed_underfill", "closing", "error")


class ExecutionRepository:
    """Positions, orders, executions, rejections and slippage of the execution path (one writer a symbol)."""

    def __init__(self, db: Database, outbox: OutboxRepository | None = None) -> None:
        self._db = db
        self._outbox = outbox

    def _transaction(self) -> AbstractAsyncContextManager[Connection]:
        return announcing(self._db, self._outbox)

    async def _announce(self, tx: Connection, position: PositionRecord) -> None:
        """Write the ``position`` outbox row of ``position`` in ``tx`` (last statement of the transaction)."""
        if self._outbox is not None:
            await self._outbox.add(tx, Topic.POSITION, position_payload(position))

    # -- reads ---------------------------------------------------------------------------------------

    async def load_click(
        self, signal_id: str, position_id: str
    ) -> tuple[StoredSignal | None, PositionRecord | None]:
        """Return a clicked signal and the position it already opened, if any (``None``s when unknown).

        One round trip on a click's path; the position row is read only when it exists (a repeated click).
        """
        try:
            key = uuid.UUID(signal_id)
        except ValueError:
            return None, None
        signal, has_position = await SignalRepository(self._db).get_with_position(key, uuid.UUID(position_id))
        existing = await self.get_position(position_id) if has_position else None
        return signal, existing

    async def load_book(self, symbol: str) -> ExecutionBook:
        """Return ``symbol``'s unfinished positions with their orders and fills, and the last fill's time."""
        positions = await self._db.fetch(
            f"SELECT {_POSITION_COLUMNS} FROM positions WHERE symbol = $1 AND status = ANY($2::text[]) "  # noqa: S608 - constant column lists
            "ORDER BY opened_at",
            symbol,
            list(_OPEN_STATUSES),
        )
        ids = [row["id"] for row in positions]
        orders = await self._db.fetch(
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE position_id = ANY($1::uuid[]) ORDER BY created_at",  # noqa: S608 - constant column lists
            ids,
        )
        executions = await self._db.fetch(
            f"SELECT {_EXEC_COLUMNS} FROM executions WHERE position_id = ANY($1::uuid[]) ORDER BY exec_time",  # noqa: S608 - constant column lists
            ids,
        )
        last = await self._db.fetchval("SELECT max(exec_time) FROM executions WHERE symbol = $1", symbol)
        signal_ids = [row["signal_id"] for row in positions if row["signal_id"] is not None]
        signals = await SignalRepository(self._db).get_many(signal_ids)
        return ExecutionBook(
            positions=tuple(_position(r) for r in positions),
            orders=tuple(_order(r) for r in orders),
            executions=tuple(_execution(r) for r in executions),
            last_exec_time=last,
            signals=tuple(signals),
        )

    async def get_position(self, position_id: str) -> PositionRecord | None:
        """Return one position (``None`` when unknown)."""
        try:
            key = uuid.UUID(position_id)
        except ValueError:
            return None
        row = await self._db.fetchrow(f"SELECT {_POSITION_COLUMNS} FROM positions WHERE id = $1", key)  # noqa: S608 - constant column lists
        return None if row is None else _position(row)

    async def list_positions(
        self, status: str | None = None, *, symbol: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[PositionRecord]:
        """Return positions newest first.

        ``status`` ``open``: every unfinished position; ``closed``: the closed ones; any other: that status.
        """
        statuses: list[str] | None
        if status is None:
            statuses = None
        elif status == "open":
            statuses = list(_OPEN_STATUSES)
        else:
            statuses = [status]
        rows = await self._db.fetch(
            f"SELECT {_POSITION_COLUMNS} FROM positions "  # noqa: S608 - constant column lists
            "WHERE ($1::text[] IS NULL OR status = ANY($1::text[])) AND ($2::text IS NULL OR symbol = $2) "
            "ORDER BY opened_at DESC, id LIMIT $3 OFFSET $4",
            statuses,
            symbol,
            limit,
            offset,
        )
        return [_position(r) for r in rows]

    async def list_orders(self, position_id: str) -> list[OrderRecord]:
        """Return a position's orders, oldest first."""
        rows = await self._db.fetch(
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE position_id = $1 ORDER BY created_at",  # noqa: S608 - constant column lists
            uuid.UUID(position_id),
        )
        return [_order(r) for r in rows]

    async def list_executions(self, position_id: str) -> list[ExecutionRecord]:
        """Return a position's executions, oldest first."""
        rows = await self._db.fetch(
            f"SELECT {_EXEC_COLUMNS} FROM executions WHERE position_id = $1 ORDER BY exec_time, exec_id",  # noqa: S608 - constant column lists
            uuid.UUID(position_id),
        )
        return [_execution(r) for r in rows]

    async def list_rejections(self, symbol: str) -> list[RejectionRecord]:
        """Return ``symbol``'s order rejections, oldest first."""
        rows = await self._db.fetch(
            "SELECT client_order_id, position_id, signal_id, symbol, ret_code, ret_msg, error_kind, request "
            "FROM order_rejections WHERE symbol = $1 ORDER BY at, id",
            symbol,
        )
        return [RejectionRecord(**_strs(r, "position_id", "signal_id")) for r in rows]

    async def list_slippage(self, position_id: str) -> list[SlippageRecord]:
        """Return a position's slippage rows, oldest first."""
        rows = await self._db.fetch(
            "SELECT symbol, side, leg, position_id, client_order_id, requested_price, avg_fill_price, qty, "
            "slippage_bps, modelled_bps FROM slippage_log WHERE position_id = $1 ORDER BY recorded_at, id",
            uuid.UUID(position_id),
        )
        return [SlippageRecord(**_strs(r, "position_id")) for r in rows]

    # -- writes --------------------------------------------------------------------------------------

    async def open_position(
        self, position: PositionRecord, intent: OrderRecord, actor: str = "system"
    ) -> PositionRecord:
        """Insert the position, its entry intent and an audit row naming who clicked (``actor``) in one
        transaction, before the REST call (E-02).

        A position that already exists (a second click, a restarted actor) is returned unchanged and the
        intent is not duplicated.
        """
        # One statement (one round trip on the click's path): the position, its entry intent, the audit row
        # and the outbox row announcing it are inserted together or, when the position exists, not at all.
        details = {
            "symbol": position.symbol,
            "side": position.side,
            "qty": str(intent.qty),
            "order_link_id": intent.client_order_id,
            "signal_id": position.signal_id,
        }
        args = (*_insert_position(position)[1:], *_insert_order(intent)[1:], actor, details)
        if self._outbox is None:
            inserted = await self._db.fetchval(_OPEN_POSITION, *args)
        else:
            announcement = event_json(position_payload(position))
            inserted = await self._db.fetchval(_OPEN_AND_ANNOUNCE, *args, announcement, OUTBOX_LOCK_KEY)
            self._outbox.wake()
        if inserted:
            return position
        existing = await self.get_position(position.id)
        if existing is None:  # the conflicting row cannot vanish: positions are never deleted
            raise StatementRejectedError(f"expected position {position.id} after a conflict, got none")
        return existing

    async def record_intent(self, order: OrderRecord) -> bool:
        """Commit an order's intent before it is sent; return False when that ``orderLinkId`` exists."""
        tag = await self._db.execute(*_insert_order(order))
        return tag.endswith(" 1")

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
        """Store an order's new state (the caller's state table has already refused regressions)."""
        await self._db.execute(
            "UPDATE orders SET status = $2, exchange_order_id = coalesce(exchange_order_id, $3), "
            "filled_qty = greatest(filled_qty, coalesce($4, filled_qty)), "
            "avg_fill_price = coalesce($5, avg_fill_price), trigger_price = coalesce($6, trigger_price) "
            "WHERE client_order_id = $1",
            client_order_id,
            status,
            exchange_order_id,
            filled_qty,
            avg_fill_price,
            trigger_price,
        )

    async def record_executions(
        self, executions: Sequence[ExecutionRecord], slippage: Mapping[str, SlippageRecord] | None = None
    ) -> list[str]:
        """Insert each execution once (by exec id) with its slippage row; return the new ids (E-04, E-05).

        ``slippage`` maps an exec id to its row; the row is inserted in the same transaction as a *new*
        execution, so a crash after the commit loses neither and a repeated execution adds no second row.
        """
        new: list[str] = []
        rows = slippage or {}
        async with self._db.transaction() as tx:
            for e in executions:
                inserted = await tx.fetchval(
                    "INSERT INTO executions (exec_id, order_id, order_link_id, exchange_order_id, "
                    "position_id, "
                    "symbol, side, price, qty, fee, exec_type, is_maker, exec_time) "
                    "VALUES ($1, (SELECT id FROM orders WHERE client_order_id = $2), $2, $3, $4, $5, $6, $7, "
                    "$8, $9, $10, $11, $12) ON CONFLICT (exec_id) DO NOTHING RETURNING exec_id",
                    e.exec_id,
                    e.order_link_id,
                    e.exchange_order_id,
                    _uuid(e.position_id),
                    e.symbol,
                    e.side,
                    e.price,
                    e.qty,
                    e.fee,
                    e.exec_type,
                    e.is_maker,
                    e.exec_time,
                )
                if inserted is None:
                    continue
                new.append(str(inserted))
                row = rows.get(e.exec_id)
                if row is not None:
                    await tx.execute(_INSERT_SLIPPAGE, *_slippage_args(row))
        return new

    async def save_position(self, position: PositionRecord) -> None:
        """Write the position under a row lock (T-04); it must exist."""
        values = asdict(position)
        columns = [c for c in values if c not in {"id", "signal_id", "symbol", "side", "opened_at"}]
        assignments = ", ".join(f"{c} = ${i + 2}" for i, c in enumerate(columns))
        async with self._transaction() as tx:
            found = await tx.fetchval(
                "SELECT id FROM positions WHERE id = $1 FOR UPDATE", uuid.UUID(position.id)
            )
            if found is None:
                raise LookupError(f"expected position {position.id} to exist, got none")
            await tx.execute(
                f"UPDATE positions SET {assignments}, version = version + 1 WHERE id = $1",  # noqa: S608 - constant column lists
                uuid.UUID(position.id),
                *(values[c] for c in columns),
            )
            await self._announce(tx, position)

    async def close_position(
        self, position: PositionRecord, *, actor: str, details: Mapping[str, object]
    ) -> None:
        """Write the closed position and its audit row in one transaction (E-06)."""
        values = asdict(position)
        columns = [c for c in values if c not in {"id", "signal_id", "symbol", "side", "opened_at"}]
        assignments = ", ".join(f"{c} = ${i + 2}" for i, c in enumerate(columns))
        async with self._transaction() as tx:
            await tx.fetchval("SELECT id FROM positions WHERE id = $1 FOR UPDATE", uuid.UUID(position.id))
            await tx.execute(
                f"UPDATE positions SET {assignments}, version = version + 1 WHERE id = $1",  # noqa: S608 - constant column lists
                uuid.UUID(position.id),
                *(values[c] for c in columns),
            )
            await AuditRepository(tx).append(
                "position_closed", dict(details), actor=actor, target_type="position", target_id=position.id
            )
            await self._announce(tx, position)

    async def set_signal_status(self, signal_id: str, status: str) -> None:
        """Mark the signal ``placed`` (or ``expired``) once its entry was sent."""
        await self._db.execute(
            "UPDATE signals SET status = $2, queued_until = NULL WHERE id = $1", uuid.UUID(signal_id), status
        )

    async def record_rejection(self, rejection: RejectionRecord) -> None:
        """Append an exchange rejection (E-07)."""
        await self._db.execute(
            "INSERT INTO order_rejections (order_id, position_id, signal_id, client_order_id, symbol, "
            "ret_code, ret_msg, error_kind, request) "
            "VALUES ((SELECT id FROM orders WHERE client_order_id = $1), $2, $3, "
            "$1, $4, $5, $6, $7, $8)",
            rejection.client_order_id,
            _uuid(rejection.position_id),
            _uuid(rejection.signal_id),
            rejection.symbol,
            rejection.ret_code,
            rejection.ret_msg,
            rejection.error_kind,
            dict(rejection.request),
        )

    async def record_slippage(self, rows: Sequence[SlippageRecord]) -> None:
        """Append slippage rows (E-05) that belong to no new execution (a fill's row goes with the fill)."""
        for r in rows:
            await self._db.execute(_INSERT_SLIPPAGE, *_slippage_args(r))


_INSERT_SLIPPAGE = (
    "INSERT INTO slippage_log (symbol, side, leg, position_id, order_id, client_order_id, requested_price, "
    "avg_fill_price, qty, slippage_bps, modelled_bps) VALUES ($1, $2, $3, $4, "
    "(SELECT id FROM orders WHERE client_order_id = $5), $5, $6, $7, $8, $9, $10)"
)


def _slippage_args(r: SlippageRecord) -> tuple[Any, ...]:
    return (
        r.symbol,
        r.side,
        r.leg,
        _uuid(r.position_id),
        r.client_order_id,
        r.requested_price,
        r.avg_fill_price,
        r.qty,
        r.slippage_bps,
        r.modelled_bps,
    )


_OPEN_POSITION = """
WITH pos AS (
    INSERT INTO positions (id, signal_id, symbol, side, status, requested_size_base, sl, tp1, tp2, tp3,
                           risk_usd, risk_r, opened_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
    ON CONFLICT (id) DO NOTHING
    RETURNING id
), intent AS (
    INSERT INTO orders (client_order_id, position_id, signal_id, symbol, side, order_type, time_in_force,
                        reduce_only, purpose, qty, price, trigger_price, attempt, status)
    SELECT $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27 FROM pos
    ON CONFLICT (client_order_id) DO NOTHING
    RETURNING 1
), audit AS (
    INSERT INTO audit_trail (actor_label, action, target_type, target_id, details)
    SELECT $28, 'order_intent', 'position', pos.id::text, $29::jsonb FROM pos
    RETURNING 1
)
SELECT count(*) > 0 FROM pos
"""

# The same statement announcing the new position to the UI (G-03): the outbox row commits with it, its id
# drawn under the outbox lock (storage.outbox) — still one round trip on the click's path.
_OPEN_AND_ANNOUNCE = _OPEN_POSITION.replace(
    "\nSELECT count(*) > 0 FROM pos",
    """, announced AS (
    INSERT INTO outbox (topic, payload)
    SELECT 'position', $30::text::jsonb FROM pos, (SELECT pg_advisory_xact_lock($31)) AS lock
    RETURNING id
)
SELECT count(*) > 0 FROM pos""",
)


def position_payload(position: PositionRecord) -> dict[str, Any]:
    """Return the outbox payload of a written position: its row, and ``message`` (its error sentence)."""
    return {**asdict(position), "message": position.error_message}


def _insert_position(p: PositionRecord) -> tuple[Any, ...]:
    return (
        "INSERT INTO positions (id, signal_id, symbol, side, status, requested_size_base, sl, tp1, tp2, tp3, "
        "risk_usd, risk_r, opened_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        uuid.UUID(p.id),
        _uuid(p.signal_id),
        p.symbol,
        p.side,
        p.status,
        p.requested_size_base,
        p.sl,
        p.tp1,
        p.tp2,
        p.tp3,
        p.risk_usd,
        p.risk_r,
        p.opened_at,
    )


def _insert_order(o: OrderRecord) -> tuple[Any, ...]:
    return (
        "INSERT INTO orders (client_order_id, position_id, signal_id, symbol, side, order_type, "
        "time_in_force, "
        "reduce_only, purpose, qty, price, trigger_price, attempt, status) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) "
        "ON CONFLICT (client_order_id) DO NOTHING",
        o.client_order_id,
        _uuid(o.position_id),
        _uuid(o.signal_id),
        o.symbol,
        o.side,
        o.order_type,
        o.time_in_force,
        o.reduce_only,
        o.purpose,
        o.qty,
        o.price,
        o.trigger_price,
        o.attempt,
        o.status,
    )
