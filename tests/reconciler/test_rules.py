"""The reconciler's pure rules (C-02): one symbol's snapshot → findings, without I/O."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from actors.reconciler import FindingSeverity, ReconcilerConfig, Repair, SymbolSnapshot, classify, is_own_link
from exchange.bybit import ExecutionReport, OrderUpdate, PositionUpdate
from storage import ExecutionBook, ExecutionRecord, OrderRecord, PositionRecord
from strategy_core.execution import OrderPurpose, order_link_id

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
SIGNAL = str(uuid.uuid4())
PID = str(uuid.uuid4())
ENTRY = order_link_id(SIGNAL, OrderPurpose.ENTRY, 0)
SL = order_link_id(SIGNAL, OrderPurpose.SL, 0)
CONFIG = ReconcilerConfig()


def _position(status: str = "open", executed: str = "0.01") -> PositionRecord:
    return PositionRecord(
        id=PID, signal_id=SIGNAL, symbol="BTCUSDT", side="long", status=status,
        requested_size_base=Decimal("0.01"), executed_size_base=Decimal(executed), opened_at=T0,
    )  # fmt: skip


def _order(link: str, purpose: str, status: str, qty: str = "0.01") -> OrderRecord:
    return OrderRecord(
        client_order_id=link, position_id=PID, signal_id=SIGNAL, symbol="BTCUSDT",
        side="Buy" if purpose == "entry" else "Sell", order_type="Limit", time_in_force="IOC",
        reduce_only=purpose != "entry", purpose=purpose, qty=Decimal(qty), status=status,
    )  # fmt: skip


def _fill(exec_id: str, link: str, side: str = "Buy", qty: str = "0.01") -> ExecutionRecord:
    return ExecutionRecord(
        exec_id=exec_id, order_link_id=link, exchange_order_id="x", position_id=PID, symbol="BTCUSDT",
        side=side, price=Decimal(60000), qty=Decimal(qty), fee=Decimal(0), exec_type="Trade", is_maker=False,
        exec_time=T0,
    )  # fmt: skip


def _report(exec_id: str, link: str, side: str = "Buy", qty: str = "0.01") -> ExecutionReport:
    return ExecutionReport(
        category="linear", symbol="BTCUSDT", exec_id=exec_id, order_id="o", order_link_id=link, side=side,
        exec_price=Decimal(60000), exec_qty=Decimal(qty), exec_value=None, exec_fee=Decimal(0), fee_rate=None,
        exec_type="Trade", exec_time=int(T0.timestamp() * 1000), is_maker=False, closed_size=None,
        leaves_qty=None,
    )  # fmt: skip


def _exchange(size: str, side: str = "Buy") -> PositionUpdate:
    return PositionUpdate(
        category="linear", symbol="BTCUSDT", side=side, size=Decimal(size), entry_price=Decimal(60000),
        mark_price=None, leverage=None, position_value=None, unrealised_pnl=None, cum_realised_pnl=None,
        liq_price=None, take_profit=None, stop_loss=None, position_idx=0, updated_time=0,
    )  # fmt: skip


def _open_order(link: str, qty: str = "0.01") -> OrderUpdate:
    return OrderUpdate(
        category="linear", symbol="BTCUSDT", order_id=f"id-{link}", order_link_id=link, side="Sell",
        order_type="Market", price=None, qty=Decimal(qty), time_in_force="GTC", status="Untriggered",
        reduce_only=True, cum_exec_qty=Decimal(0), cum_exec_value=None, cum_exec_fee=None, avg_price=None,
        leaves_qty=None, reject_reason="", created_time=0, updated_time=0,
    )  # fmt: skip


def _snapshot(
    *,
    held: tuple[PositionRecord, ...] = (),
    orders: tuple[OrderRecord, ...] = (),
    fills: tuple[ExecutionRecord, ...] = (),
    exchange: PositionUpdate | None = None,
    open_orders: tuple[OrderUpdate, ...] = (),
    executions: tuple[ExecutionReport, ...] = (),
    moved: bool = False,
) -> SymbolSnapshot:
    return SymbolSnapshot(
        symbol="BTCUSDT",
        held=ExecutionBook(positions=held, orders=orders, executions=fills, last_exec_time=None),
        actor=(),
        exchange_position=exchange,
        exchange_moved=moved,
        open_orders=open_orders,
        executions=executions,
        known_exec_ids=frozenset(f.exec_id for f in fills),
        known_links=frozenset(o.client_order_id for o in orders),
    )


def _kinds(snapshot: SymbolSnapshot) -> dict[str, FindingSeverity]:
    return {f.kind: f.severity for f in classify(snapshot, CONFIG) if f.kind != "actor_behind"}


OPEN = {
    "held": (_position(),),
    "orders": (_order(ENTRY, "entry", "filled"), _order(SL, "sl", "untriggered")),
    "fills": (_fill("e1", ENTRY),),
}


def test_our_link_shape_is_recognised() -> None:
    assert is_own_link(ENTRY)
    assert is_own_link(SL)
    assert not is_own_link("by-hand-1")


def test_an_open_position_matching_the_exchange_has_no_finding() -> None:
    snap = _snapshot(**OPEN, exchange=_exchange("0.01"), open_orders=(_open_order(SL),))
    assert _kinds(snap) == {}


def test_a_fill_of_ours_not_stored_yet_is_a_repaired_warning_never_a_size_mismatch() -> None:
    snap = _snapshot(
        **{**OPEN, "fills": ()}, exchange=_exchange("0.01"), open_orders=(_open_order(SL),),
        executions=(_report("e1", ENTRY),),
    )  # fmt: skip
    findings = classify(snap, CONFIG)
    assert {f.kind for f in findings} == {"execution_missing", "actor_behind"}
    missing = next(f for f in findings if f.kind == "execution_missing")
    assert missing.severity is FindingSeverity.WARNING
    assert missing.repair is Repair.REVALIDATE


def test_a_flat_exchange_under_an_open_position_is_adopted() -> None:
    snap = _snapshot(**OPEN, exchange=None, executions=(_report("h1", "by-hand-1", side="Sell"),))
    findings = [f for f in classify(snap, CONFIG) if f.kind == "exchange_closed"]
    assert [(f.severity, f.repair, f.position_id) for f in findings] == [
        (FindingSeverity.WARNING, Repair.ADOPT_CLOSE, PID)
    ]


def test_extra_size_unknown_position_and_opposite_side_are_critical() -> None:
    extra = _snapshot(**OPEN, exchange=_exchange("0.02"), open_orders=(_open_order(SL),))
    assert _kinds(extra) == {"size_mismatch": FindingSeverity.CRITICAL}
    unknown = _snapshot(exchange=_exchange("0.5"))
    assert _kinds(unknown) == {"position_unknown": FindingSeverity.CRITICAL}
    opposite = _snapshot(**OPEN, exchange=_exchange("0.01", side="Sell"), open_orders=(_open_order(SL),))
    assert _kinds(opposite) == {"side_mismatch": FindingSeverity.CRITICAL}


def test_a_position_moving_during_the_read_is_judged_next_pass() -> None:
    moving = _snapshot(**OPEN, exchange=_exchange("0.02"), open_orders=(_open_order(SL),), moved=True)
    assert _kinds(moving) == {}


def test_orders_orphans_foreign_and_protection_drift() -> None:
    orphan = order_link_id(str(uuid.uuid4()), OrderPurpose.ENTRY, 0)
    snap = _snapshot(
        **OPEN, exchange=_exchange("0.01"), open_orders=(_open_order(orphan), _open_order("other-bot-7")),
    )  # fmt: skip
    kinds = _kinds(snap)
    assert kinds["orphan_order"] is FindingSeverity.WARNING  # ours: cancelled
    assert kinds["foreign_order"] is FindingSeverity.CRITICAL
    assert kinds["protection_drift"] is FindingSeverity.WARNING  # our stop is no longer listed
    keep = ReconcilerConfig(cancel_own_orphans=False)
    strict = {f.kind: f.severity for f in classify(snap, keep)}
    assert strict["orphan_order"] is FindingSeverity.CRITICAL
