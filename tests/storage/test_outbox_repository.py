"""``storage.OutboxRepository`` on real PostgreSQL: an event commits or rolls back with its change (G-03).

The repositories that change what the UI shows — signals, positions, the kill switch, reconciliation passes —
write the announcing
``outbox`` row in the transaction (or the one statement) of the change. These tests make PostgreSQL refuse
the outbox row, or the change, and look at both.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
import trio

from actors.reconciler import OpenFinding, ReconciliationEvent
from gateway import ReconciliationEventView
from storage import (
    ChangeSource,
    FencedWriteRejectedError,
    FindingRecord,
    OrderRecord,
    PassRecord,
    PositionRecord,
    Storage,
    StorageError,
    Topic,
    TradingStateRecord,
)
from strategy_core.execution import position_id_for
from strategy_core.models import Side
from strategy_core.risk_rules import TradingState
from strategy_core.signal import Signal

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@asynccontextmanager
async def outbox_refusing(storage: Storage) -> AsyncIterator[None]:
    """Make PostgreSQL refuse every outbox insert (a trigger) for the block: no announcement commits."""
    await storage.db.execute(
        "CREATE FUNCTION refuse_outbox() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'the outbox refused the event'; END $$"
    )
    await storage.db.execute(
        "CREATE TRIGGER outbox_refuse BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse_outbox()"
    )
    try:
        yield
    finally:
        await storage.db.execute("DROP TRIGGER outbox_refuse ON outbox")
        await storage.db.execute("DROP FUNCTION refuse_outbox()")


@pytest.fixture
async def clean(storage: Storage) -> Storage:
    await storage.db.execute("TRUNCATE signals, positions, orders, outbox CASCADE")
    return storage


def _signal(at: dt.datetime = T0) -> Signal:
    return Signal(
        id=uuid.uuid4(), symbol="BTCUSDT", side=Side.LONG, entry=Decimal(100), tp1=Decimal(101),
        tp2=Decimal(102), tp3=Decimal(103), sl=Decimal(99), qty=Decimal(25), risk_usd=Decimal(25),
        risk_r=Decimal(1), p_win=Decimal("0.6"), strategy="avi5", strategy_version="1", created_at=at,
        bar_start=at,
    )  # fmt: skip


def _position(signal_id: str) -> PositionRecord:
    return PositionRecord(
        id=position_id_for(signal_id), signal_id=signal_id, symbol="BTCUSDT", side="long", status="opening",
        requested_size_base=Decimal(25), sl=Decimal(99), tp1=Decimal(101), tp2=Decimal(102), tp3=Decimal(103),
        risk_usd=Decimal(25), risk_r=Decimal(1), opened_at=T0,
    )  # fmt: skip


def _intent(position: PositionRecord) -> OrderRecord:
    return OrderRecord(
        client_order_id=f"link-{position.id[:8]}", position_id=position.id, signal_id=position.signal_id,
        symbol="BTCUSDT", side="Buy", order_type="Limit", time_in_force="IOC", reduce_only=False,
        purpose="entry", qty=Decimal(25), price=Decimal(100),
    )  # fmt: skip


async def _outbox(storage: Storage) -> list[tuple[str, Any]]:
    rows = await storage.db.fetch("SELECT topic, payload FROM outbox ORDER BY id")
    return [(r["topic"], r["payload"]) for r in rows]


async def test_a_new_signal_commits_with_its_outbox_row_and_a_repeat_adds_neither(clean: Storage) -> None:
    signal = _signal()
    assert await clean.signals.insert(signal, announce=True)
    assert not await clean.signals.insert(signal, announce=True)
    [(topic, payload)] = await _outbox(clean)
    assert topic == Topic.SIGNAL
    assert payload["id"] == str(signal.id)
    assert payload["entry"] == "100"  # exact: Decimal as a string, never a float
    assert payload["created_at"] == T0.isoformat()


async def test_a_batch_of_signals_announces_only_the_new_ones_in_one_commit(clean: Storage) -> None:
    old, first, second = _signal(), _signal(), _signal()
    assert await clean.signals.insert(old)  # stored before, not announced
    assert await clean.signals.insert_many([old, first, second], announce=True) == [False, True, True]
    ids = [payload["id"] for _, payload in await _outbox(clean)]
    assert ids == [str(first.id), str(second.id)]


async def test_the_pipeline_announces_new_and_queued_signals_but_not_denied_ones(clean: Storage) -> None:
    market = clean.market()
    new, denied = _signal(), _signal()
    queued = _signal().model_copy(update={"queued_until": T0 + dt.timedelta(minutes=15)})
    assert await market.store_signal(new, "new", None)
    assert await market.store_signal(queued, "queued", None)
    assert await market.store_signal(denied, "denied", "kill switch engaged")
    announced = [(payload["id"], payload["status"]) for _, payload in await _outbox(clean)]
    assert announced == [(str(new.id), "new"), (str(queued.id), "queued")]


async def test_a_signal_whose_outbox_row_fails_is_not_stored(clean: Storage) -> None:
    signal = _signal()
    async with outbox_refusing(clean):
        with pytest.raises(StorageError):
            await clean.signals.insert(signal, announce=True)
    assert await clean.signals.get(signal.id) is None
    assert await _outbox(clean) == []


async def test_a_click_whose_outbox_row_fails_opens_no_position(clean: Storage) -> None:
    signal = _signal()
    assert await clean.signals.insert(signal)
    position = _position(str(signal.id))
    async with outbox_refusing(clean):
        with pytest.raises(StorageError):
            await clean.execution.open_position(position, _intent(position))
    assert await clean.execution.get_position(position.id) is None
    assert await clean.db.fetchval("SELECT count(*) FROM orders") == 0


async def _opening(storage: Storage) -> PositionRecord:
    """Store a signal and open a position on it (announced: ``opening``); return the position."""
    signal = _signal()
    assert await storage.signals.insert(signal)
    position = _position(str(signal.id))
    await storage.execution.open_position(position, _intent(position))
    return position


async def test_a_position_write_and_its_outbox_row_commit_together(clean: Storage) -> None:
    position = await _opening(clean)
    await clean.execution.save_position(replace(position, status="open", executed_size_base=Decimal(25)))
    events = await _outbox(clean)
    assert [(t, p["id"], p["status"]) for t, p in events] == [
        (Topic.POSITION, position.id, "opening"),
        (Topic.POSITION, position.id, "open"),
    ]
    # a second click on the same signal changes nothing, so it announces nothing
    await clean.execution.open_position(position, _intent(position))
    assert len(await _outbox(clean)) == 2


async def test_a_position_write_whose_outbox_row_fails_rolls_back(clean: Storage) -> None:
    position = await _opening(clean)
    opened = replace(position, status="open", executed_size_base=Decimal(25))
    async with outbox_refusing(clean):
        with pytest.raises(StorageError):
            await clean.execution.save_position(opened)
    stored = await clean.execution.get_position(position.id)
    assert stored is not None
    assert stored.status == "opening"
    assert [p["status"] for _, p in await _outbox(clean)] == ["opening"]


async def test_a_kill_switch_change_and_its_outbox_row_commit_or_roll_back_together(clean: Storage) -> None:
    engaged = TradingStateRecord(
        state=TradingState.HALTED, kill_switch=True, reason="drill", changed_by="ops",
        source=ChangeSource.OPERATOR, changed_at=T0,
    )  # fmt: skip
    await clean.kill_switch.save_trading_state(engaged)
    [(topic, payload)] = await _outbox(clean)
    assert (topic, payload["state"], payload["kill_switch"]) == (Topic.KILL_SWITCH, "HALTED", True)

    released = TradingStateRecord.initial(T0 + dt.timedelta(minutes=1))
    async with outbox_refusing(clean):
        with pytest.raises(StorageError):
            await clean.kill_switch.save_trading_state(released)
    assert (await clean.kill_switch.load_trading_state(T0)).kill_switch is True
    assert len(await _outbox(clean)) == 1


def _pass(fence: int) -> tuple[PassRecord, FindingRecord, ReconciliationEvent]:
    """A pass under ``fence`` with a new critical finding, and the event the reconciler announces it with."""
    run_id = str(uuid.uuid4())
    record = PassRecord(
        run_id=run_id, fence=fence, holder="engine-a", started_at=T0, duration_ms=12.5, symbols=1,
        critical=1, clean=False,
    )  # fmt: skip
    finding = FindingRecord(
        key=f"orphan:{run_id}", symbol="BTCUSDT", severity="critical", kind="untracked_position",
        details={"size": "0.010"},
    )  # fmt: skip
    event = ReconciliationEvent(
        run_id=run_id, at=T0, clean=False, hold=True, duration_ms=12.5, info=0, warning=0, critical=1,
        new_findings=(
            OpenFinding(
                key=finding.key, symbol="BTCUSDT", severity="critical", kind="untracked_position", since=T0,
                details=(("size", "0.010"),),
            ),
        ),
        resolved=("drift:older",),
    )  # fmt: skip
    return record, finding, event


async def _passes(storage: Storage) -> list[str]:
    return [str(r["run_id"]) for r in await storage.db.fetch("SELECT run_id FROM reconciliation_passes")]


async def test_a_reconciliation_pass_commits_with_its_outbox_row_and_a_fenced_out_one_announces_nothing(
    clean: Storage,
) -> None:
    fence = await clean.reconciliation.fence() + 1
    record, finding, event = _pass(fence)
    await clean.reconciliation.record_pass(record, [finding], ["drift:older"], announce=event)
    [(topic, payload)] = await _outbox(clean)
    assert topic == Topic.RECONCILIATION
    view = ReconciliationEventView.model_validate(payload)  # what the relay renders for SSE
    assert view == ReconciliationEventView.of(event)  # the event the feed rendered before, unchanged
    assert record.run_id in await _passes(clean)

    stale, stale_finding, stale_event = _pass(fence - 1)  # a holder that stalled past its lease (C-04)
    with pytest.raises(FencedWriteRejectedError):
        await clean.reconciliation.record_pass(stale, [stale_finding], announce=stale_event)
    assert len(await _outbox(clean)) == 1
    assert stale.run_id not in await _passes(clean)


async def test_a_reconciliation_pass_whose_outbox_row_fails_is_not_recorded(clean: Storage) -> None:
    fence = await clean.reconciliation.fence() + 1
    record, finding, event = _pass(fence)
    async with outbox_refusing(clean):
        with pytest.raises(StorageError):
            await clean.reconciliation.record_pass(record, [finding], announce=event)
    assert record.run_id not in await _passes(clean)
    assert await clean.reconciliation.fence() == fence - 1  # the fence moved back with the rollback
    assert await _outbox(clean) == []


async def test_rows_wait_in_id_order_until_relayed_and_are_purged_after_retention(clean: Storage) -> None:
    outbox = clean.outbox
    first = await outbox.append(Topic.RECONCILIATION, {"n": 1})
    second = await outbox.append(Topic.METRICS, {"n": 2})
    assert [r.id for r in await outbox.pending(10)] == [first, second]
    backlog = await outbox.backlog()
    assert backlog.rows == 2
    assert backlog.oldest_at is not None
    assert await outbox.mark_relayed([first]) == 1
    assert await outbox.mark_relayed([first]) == 0  # marking twice is harmless
    assert [r.id for r in await outbox.pending(10)] == [second]
    assert await outbox.purge(dt.timedelta(days=1)) == 0  # relayed just now: kept
    await clean.db.execute("UPDATE outbox SET relayed_at = now() - interval '2 days' WHERE id = $1", first)
    assert await outbox.purge(dt.timedelta(days=1)) == 1
    assert (await outbox.backlog()).rows == 1


async def test_an_uncommitted_outbox_row_holds_later_ones_back_so_ids_commit_in_order(clean: Storage) -> None:
    outbox = clean.outbox
    holding = trio.Event()
    release = trio.Event()
    order: list[int] = []

    async def slow() -> None:
        async with outbox.transaction() as tx:
            order.append(await outbox.add(tx, Topic.METRICS, {"slow": True}))
            holding.set()
            await release.wait()

    async def fast() -> None:
        order.append(await outbox.append(Topic.METRICS, {"fast": True}))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(slow)
        await holding.wait()
        nursery.start_soon(fast)
        # the fast writer waits for the slow one's commit: nothing is visible yet
        assert [r.id for r in await outbox.pending(10)] == []
        release.set()
    assert order[0] < order[1]
    assert [r.id for r in await outbox.pending(10)] == order


async def test_a_commit_wakes_the_relay_even_when_it_was_busy_reading(clean: Storage) -> None:
    outbox = clean.outbox
    await outbox.append(Topic.METRICS, {"n": 1})  # committed before anyone waits
    with trio.fail_after(1):
        assert await outbox.wait_written(timeout_s=30)
    assert not await outbox.wait_written(timeout_s=0.01)
