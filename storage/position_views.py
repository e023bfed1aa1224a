"""Read side of positions for the gateway (G-01 positions, E-06): lists, and one position with its
orders, fills (``executions``) and ``slippage_log`` rows.

Queries only: the PositionActor's repository owns every write. Rows come back as frozen dataclasses whose
field names are the column names, so the gateway's HTTP models read them with ``from_attributes``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import asyncpg

from storage.database import Database

__all__ = [
    "OPEN_STATUSES",
    "PositionDetailRow",
    "PositionFilter",
    "PositionRow",
    "PositionViewRepository",
    "StoredExecution",
    "StoredOrder",
    "StoredSlippage",
]

PositionFilter = Literal["open", "closed"]

OPEN_STATUSES = ("opening", "open", "partial_accepted", "closing")
"""Statuses listed under ``status=open``: a position that still holds (or is closing) size on the exchange.
Every other status (closed, failed_underfill, error) is listed under ``status=closed``."""

_POSITION_COLUMNS = (
    "id, signal_id, symbol, side, status, requested_size_base, executed_size_base, fill_ratio, "
    "avg_entry_price, sl, tp1, tp2, tp3, risk_usd, risk_r, be_moved, opened_at, closed_at, close_reason, "
    "avg_exit_price, pnl_usd, fees_usd, funding_usd, slippage_entry_bps, slippage_exit_bps, error_message"
)
# Constant statements built from the constant column list above (no user input): S608 is noqa'd.
_LIST = (
    f"SELECT {_POSITION_COLUMNS} FROM positions "  # noqa: S608
    "WHERE ($1::text IS NULL OR (status = ANY($2::text[])) = ($1 = 'open')) "
    "ORDER BY opened_at DESC, id LIMIT $3"
)
_ONE = f"SELECT {_POSITION_COLUMNS} FROM positions WHERE id = $1"  # noqa: S608
_ORDERS = (
    "SELECT id, client_order_id, exchange_order_id, side, order_type, time_in_force, reduce_only, purpose, "
    "price, qty, filled_qty, avg_fill_price, status, created_at, updated_at "
    "FROM orders WHERE position_id = $1 ORDER BY created_at, id"
)
_EXECUTIONS = (
    "SELECT exec_id, order_id, side, price, qty, fee, fee_currency, is_maker, exec_time "
    "FROM executions WHERE position_id = $1 ORDER BY exec_time, id"
)
_SLIPPAGE = (
    "SELECT recorded_at, leg, order_id, requested_price, avg_fill_price, qty, slippage_bps, modelled_bps "
    "FROM slippage_log WHERE position_id = $1 ORDER BY recorded_at, id"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionRow:
    """A row of ``positions`` (money and sizes are ``Decimal``)."""

    id: uuid.UUID
    signal_id: uuid.UUID | None
    symbol: str
    side: str
    status: str
    requested_size_base: Decimal
    executed_size_base: Decimal
    fill_ratio: Decimal
    avg_entry_price: Decimal | None
    sl: Decimal | None
    tp1: Decimal | None
    tp2: Decimal | None
    tp3: Decimal | None
    risk_usd: Decimal
    risk_r: Decimal
    be_moved: bool
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    close_reason: str | None
    avg_exit_price: Decimal | None
    pnl_usd: Decimal | None
    fees_usd: Decimal
    funding_usd: Decimal
    slippage_entry_bps: Decimal | None
    slippage_exit_bps: Decimal | None
    error_message: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredOrder:
    """A row of ``orders`` belonging to a position."""

    id: uuid.UUID
    client_order_id: str
    exchange_order_id: str | None
    side: str
    order_type: str
    time_in_force: str
    reduce_only: bool
    purpose: str
    price: Decimal | None
    qty: Decimal
    filled_qty: Decimal
    avg_fill_price: Decimal | None
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredExecution:
    """A row of ``executions`` (one fill, unique by the exchange's ``exec_id``)."""

    exec_id: str
    order_id: uuid.UUID | None
    side: str
    price: Decimal
    qty: Decimal
    fee: Decimal
    fee_currency: str
    is_maker: bool
    exec_time: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredSlippage:
    """A row of ``slippage_log`` for one fill leg (E-05)."""

    recorded_at: dt.datetime
    leg: str
    order_id: uuid.UUID | None
    requested_price: Decimal
    avg_fill_price: Decimal
    qty: Decimal
    slippage_bps: Decimal
    modelled_bps: Decimal | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionDetailRow:
    """One position with its orders, fills and slippage rows, each oldest first."""

    position: PositionRow
    orders: tuple[StoredOrder, ...]
    executions: tuple[StoredExecution, ...]
    slippage: tuple[StoredSlippage, ...]


def _position(record: asyncpg.Record) -> PositionRow:
    return PositionRow(**dict(record.items()))


class PositionViewRepository:
    """Explicit read-only SQL over ``positions``, ``orders``, ``executions`` and ``slippage_log``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def list(self, status: PositionFilter | None = None, *, limit: int = 100) -> list[PositionRow]:
        """Return positions, newest first: ``open`` (open, closing, partial_accepted), ``closed`` (the rest)
        or every one (None).

        Raises:
            ValueError: ``limit`` is outside 1..1000 or ``status`` is not open/closed/None.
        """
        if not 1 <= limit <= 1000:
            raise ValueError(f"expected 1 <= limit <= 1000, got {limit}")
        if status not in (None, "open", "closed"):
            raise ValueError(f"expected status open, closed or None, got {status!r}")
        records = await self._db.fetch(_LIST, status, list(OPEN_STATUSES), limit)
        return [_position(r) for r in records]

    async def get(self, position_id: uuid.UUID) -> PositionDetailRow | None:
        """Return the position with ``position_id`` and its orders, fills and slippage, or None."""
        record = await self._db.fetchrow(_ONE, position_id)
        if record is None:
            return None
        orders = await self._db.fetch(_ORDERS, position_id)
        executions = await self._db.fetch(_EXECUTIONS, position_id)
        slippage = await self._db.fetch(_SLIPPAGE, position_id)
        return PositionDetailRow(
            position=_position(record),
            orders=tuple(StoredOrder(**dict(r.items())) for r in orders),
            executions=tuple(StoredExecution(**dict(r.items())) for r in executions),
            slippage=tuple(StoredSlippage(**dict(r.items())) for r in slippage),
        )
