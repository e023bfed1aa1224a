"""``storage.ExecutionRepository`` on real PostgreSQL: intents, fills once by exec id, locked positions."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
import trio

from storage import (
    ExecutionRecord,
    IntegrityViolationError,
    OrderRecord,
    PositionRecord,
    RejectionRecord,
    SlippageRecord,
    Storage,
)
from strategy_core.execution import position_id_for
from strategy_core.models import Side
from strategy_core.signal import Signal

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
async def clean(storage: Storage) -> Storage:
    await storage.db.execute(
        "TRUNCATE signals, positions, orders, executions, order_rejections, slippage_log CASCADE"
    )
    return storage


async def _signal(storage: Storage) -> str:
    signal = Signal(
        id=uuid.uuid4(),
        symbol="BTCUSDT",
        side=Side.LONG,
        entry=Decimal(100),
        tp1=Decimal(101),
        tp2=Decimal(102),
        tp3=Decimal(103),
        sl=Decimal(99),
        qty=Decimal(25),
        risk_usd=Decimal(25),
        risk_r=Decimal(1),
        p_win=Decimal("0.6"),
        strategy="avi5",
        strategy_version="1",
        created_at=T0,
        bar_start=T0,
    )
    assert await storage.signals.insert(signal)
    return str(signal.id)


def _position(signal_id: str) -> PositionRecord:
    return PositionRecord(
        id=position_id_for(signal_id),
        signal_id=signal_id,
        symbol="BTCUSDT",
        side="long",
        status="opening",
        requested_size_base=Decimal(25),
        sl=Decimal(99),
        tp1=Decimal(101),
        tp2=Decimal(102),
        tp3=Decimal(103),
        risk_usd=Decimal(25),
        risk_r=Decimal(1),
        opened_at=T0,
    )


def _intent(position: PositionRecord, link: str = "link-e0", purpose: str = "entry") -> OrderRecord:
    return OrderRecord(
        client_order_id=link,
        position_id=position.id,
        signal_id=position.signal_id,
        symbol="BTCUSDT",
        side="Buy",
        order_type="Limit",
        time_in_force="IOC",
        reduce_only=False,
        purpose=purpose,
        qty=Decimal(25),
        price=Decimal(100),
    )


def _fill(exec_id: str, position: PositionRecord, qty: str = "10") -> ExecutionRecord:
    return ExecutionRecord(
        exec_id=exec_id,
        order_link_id="link-e0",
        exchange_order_id="x-1",
        position_id=position.id,
        symbol="BTCUSDT",
        side="Buy",
        price=Decimal("100.1"),
        qty=Decimal(qty),
        fee=Decimal("0.55"),
        exec_type="Trade",
        is_maker=False,
        exec_time=T0,
    )


async def test_the_intent_is_committed_with_its_position_once(clean: Storage) -> None:
    repo = clean.execution
    signal_id = await _signal(clean)
    position = _position(signal_id)

    before = await repo.load_click(signal_id, position.id)
    first = await repo.open_position(position, _intent(position))
    second = await repo.open_position(position, _intent(position))

    assert first == second == position
    book = await repo.load_book("BTCUSDT")
    assert [p.id for p in book.positions] == [position.id]
    assert [(o.client_order_id, o.status) for o in book.orders] == [("link-e0", "new")]
    assert await repo.record_intent(_intent(position)) is False
    assert before[0] is not None
    assert before[1] is None  # no position before the click's intent
    stored, placed = await repo.load_click(signal_id, position.id)
    assert stored is not None
    assert stored.status == "new"
    assert placed == position  # a repeated click finds the first position in the same read
    assert await repo.load_click("not-a-uuid", position.id) == (None, None)


async def test_an_execution_is_stored_once_by_exec_id(clean: Storage) -> None:
    repo = clean.execution
    position = _position(await _signal(clean))
    await repo.open_position(position, _intent(position))

    new = await repo.record_executions([_fill("a", position), _fill("b", position), _fill("a", position)])
    again = await repo.record_executions([_fill("b", position), _fill("c", position)])

    assert new == ["a", "b"]
    assert again == ["c"]
    rows = await repo.list_executions(position.id)
    assert [r.exec_id for r in rows] == ["a", "b", "c"]
    linked = await clean.db.fetchval("SELECT count(*) FROM executions WHERE order_id IS NOT NULL")
    assert linked == 3


def _entry_slippage(position: PositionRecord, modelled_bps: Decimal | None) -> SlippageRecord:
    """Return the entry fill's slippage row: 100.1 paid for a 100 entry, 10 bps."""
    return SlippageRecord(
        symbol="BTCUSDT",
        side="long",
        leg="entry",
        position_id=position.id,
        client_order_id="link-e0",
        requested_price=Decimal(100),
        avg_fill_price=Decimal("100.1"),
        qty=Decimal(25),
        slippage_bps=Decimal(10),
        modelled_bps=modelled_bps,
    )


async def test_a_fills_slippage_row_is_committed_with_the_new_fill_only(clean: Storage) -> None:
    repo = clean.execution
    position = _position(await _signal(clean))
    await repo.open_position(position, _intent(position))
    row = _entry_slippage(position, modelled_bps=Decimal(10))

    await repo.record_executions([_fill("a", position)], {"a": row})
    await repo.record_executions([_fill("a", position)], {"a": row})  # the same fill delivered again

    logged = await repo.list_slippage(position.id)
    assert [(r.leg, r.slippage_bps) for r in logged] == [("entry", Decimal(10))]


async def test_order_states_and_the_new_statuses_of_revision_0008(clean: Storage) -> None:
    repo = clean.execution
    position = _position(await _signal(clean))
    await repo.open_position(position, _intent(position))
    stop = OrderRecord(
        client_order_id="link-s0",
        position_id=position.id,
        signal_id=position.signal_id,
        symbol="BTCUSDT",
        side="Sell",
        order_type="Market",
        time_in_force="IOC",
        reduce_only=True,
        purpose="sl",
        qty=Decimal(10),
        trigger_price=Decimal(99),
    )
    assert await repo.record_intent(stop)
    await repo.update_order("link-s0", "untriggered", exchange_order_id="x-s")
    await repo.update_order("link-e0", "filled", exchange_order_id="x-1", filled_qty=Decimal(25))
    await repo.update_order("link-e0", "filled", filled_qty=Decimal(10))  # a stale figure never lowers it

    orders = {o.client_order_id: o for o in await repo.list_orders(position.id)}
    assert (orders["link-s0"].status, orders["link-s0"].trigger_price) == ("untriggered", Decimal(99))
    assert (orders["link-e0"].filled_qty, orders["link-e0"].exchange_order_id) == (Decimal(25), "x-1")
    with pytest.raises(IntegrityViolationError):
        await repo.update_order("link-e0", "bogus")


async def test_positions_are_written_under_a_row_lock_and_closed_with_an_audit_row(clean: Storage) -> None:
    repo = clean.execution
    position = _position(await _signal(clean))
    await repo.open_position(position, _intent(position))

    async def save(size: int) -> None:
        await repo.save_position(_with(position, status="open", executed_size_base=Decimal(size)))

    async with trio.open_nursery() as nursery:
        for size in (10, 20, 25):
            nursery.start_soon(save, size)
    row = await clean.db.fetchrow("SELECT status, version FROM positions WHERE id = $1::uuid", position.id)
    assert row is not None
    assert (row["status"], row["version"]) == ("open", 3)

    closed = _with(position, status="closed", closed_at=T0, close_reason="manual", pnl_usd=Decimal("1.23"))
    await repo.close_position(closed, actor="position", details={"pnl_usd": "1.23"})
    stored = await repo.get_position(position.id)
    assert stored is not None
    assert (stored.status, stored.pnl_usd) == ("closed", Decimal("1.23"))
    audit = await clean.db.fetchval(
        "SELECT count(*) FROM audit_trail WHERE action = 'position_closed' AND target_id = $1", position.id
    )
    assert audit == 1
    assert (await repo.load_book("BTCUSDT")).positions == ()
    assert [p.id for p in await repo.list_positions("closed")] == [position.id]
    assert await repo.list_positions("open") == []
    assert [p.status for p in await repo.list_positions(symbol="BTCUSDT")] == ["closed"]
    with pytest.raises(LookupError):
        await repo.save_position(_with(position, id=str(uuid.uuid4())))


async def test_rejections_and_slippage_rows(clean: Storage) -> None:
    repo = clean.execution
    position = _position(await _signal(clean))
    await repo.open_position(position, _intent(position))

    await repo.record_rejection(
        RejectionRecord(
            client_order_id="link-e0",
            position_id=position.id,
            signal_id=position.signal_id,
            symbol="BTCUSDT",
            ret_code=110007,
            ret_msg="ab not enough for new order",
            error_kind="insufficient_balance",
            request={"qty": "25"},
        )
    )
    await repo.record_slippage([_entry_slippage(position, modelled_bps=None)])

    rejections = await repo.list_rejections("BTCUSDT")
    assert [(r.ret_code, r.error_kind, r.request) for r in rejections] == [
        (110007, "insufficient_balance", {"qty": "25"})
    ]
    slippage = await repo.list_slippage(position.id)
    assert [(s.leg, s.slippage_bps) for s in slippage] == [("entry", Decimal(10))]


def _with(position: PositionRecord, **changes: Any) -> PositionRecord:
    return replace(position, **changes)
