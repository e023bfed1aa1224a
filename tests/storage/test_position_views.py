"""The gateway's read side of positions against real PostgreSQL: open/closed lists and one position with its
orders, fills and slippage rows, oldest first."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from storage import Storage
from storage.position_views import PositionViewRepository

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


async def _position(storage: Storage, status: str, opened_at: dt.datetime) -> uuid.UUID:
    closed = status == "closed"
    record = await storage.db.fetchrow(
        "INSERT INTO positions (symbol, side, status, requested_size_base, executed_size_base, fill_ratio, "
        "avg_entry_price, risk_usd, opened_at, closed_at, close_reason, pnl_usd) "
        "VALUES ('BTCUSDT', 'long', $1, 0.02, 0.02, 1, 65000.5, 25, $2, $3, $4, $5) RETURNING id",
        status,
        opened_at,
        opened_at + MINUTE if closed else None,
        "manual" if closed else None,
        Decimal("12.34") if closed else None,
    )
    assert record is not None
    position_id: uuid.UUID = record["id"]
    return position_id


async def test_lists_open_and_closed_newest_first(storage: Storage) -> None:
    old_open = await _position(storage, "open", NOW - 3 * MINUTE)
    partial = await _position(storage, "partial_accepted", NOW - 2 * MINUTE)
    closed = await _position(storage, "closed", NOW - MINUTE)
    underfill = await _position(storage, "failed_underfill", NOW)
    repo = PositionViewRepository(storage.db)

    assert [p.id for p in await repo.list("open")] == [partial, old_open]
    assert [p.id for p in await repo.list("closed")] == [underfill, closed]
    assert [p.id for p in await repo.list()] == [underfill, closed, partial, old_open]
    assert [p.id for p in await repo.list(limit=1)] == [underfill]
    (row,) = [p for p in await repo.list("closed") if p.id == closed]
    assert row.pnl_usd == Decimal("12.34")
    assert row.avg_entry_price == Decimal("65000.5")
    assert row.close_reason == "manual"


async def test_one_position_with_orders_fills_and_slippage(storage: Storage) -> None:
    repo = PositionViewRepository(storage.db)
    position_id = await _position(storage, "open", NOW)
    order = await storage.db.fetchrow(
        "INSERT INTO orders (position_id, client_order_id, symbol, side, order_type, time_in_force, purpose, "
        "price, qty, filled_qty, avg_fill_price, status) "
        "VALUES ($1, 'ag-1', 'BTCUSDT', 'Buy', 'Limit', 'IOC', 'entry', 65001, 0.02, 0.02, 65000.5, "
        "'filled') RETURNING id",
        position_id,
    )
    assert order is not None
    for exec_id, qty, at in (("e2", "0.015", NOW + MINUTE), ("e1", "0.005", NOW)):
        await storage.db.execute(
            "INSERT INTO executions (exec_id, order_id, position_id, symbol, side, price, qty, fee, "
            "exec_time) VALUES ($1, $2, $3, 'BTCUSDT', 'Buy', 65000.5, $4, 0.1, $5)",
            exec_id,
            order["id"],
            position_id,
            Decimal(qty),
            at,
        )
    await storage.db.execute(
        "INSERT INTO slippage_log (recorded_at, symbol, side, leg, position_id, order_id, requested_price, "
        "avg_fill_price, qty, slippage_bps) VALUES ($1, 'BTCUSDT', 'long', 'entry', $2, $3, 65000, 65000.5, "
        "0.02, 0.0769)",
        NOW,
        position_id,
        order["id"],
    )

    detail = await repo.get(position_id)

    assert detail is not None
    assert detail.position.id == position_id
    assert [(o.client_order_id, o.status, o.avg_fill_price) for o in detail.orders] == [
        ("ag-1", "filled", Decimal("65000.5"))
    ]
    assert [e.exec_id for e in detail.executions] == ["e1", "e2"]
    assert sum(e.qty for e in detail.executions) == Decimal("0.020")
    assert [(s.leg, s.slippage_bps) for s in detail.slippage] == [("entry", Decimal("0.0769"))]
    assert await repo.get(uuid.uuid4()) is None


async def test_refuses_a_bad_filter_or_limit(storage: Storage) -> None:
    repo = PositionViewRepository(storage.db)
    with pytest.raises(ValueError, match="limit"):
        await repo.list(limit=0)
    with pytest.raises(ValueError, match="status"):
        await repo.list("pending")  # type: ignore[arg-type]
