"""The pure execution domain (E-02..E-05): state tables, the fill fold, sizing, fill classes, slippage."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategy_core.config import InstrumentRules
from strategy_core.execution import (
    ExecFill,
    Ledger,
    OrderPurpose,
    OrderState,
    OrderStatus,
    PositionStatus,
    SizingRefusal,
    advance_order,
    advance_position,
    classify_fill,
    modelled_slippage_pct,
    order_link_id,
    order_status_from_exchange,
    position_id_for,
    size_entry,
    slippage_bps,
    split_take_profits,
)
from strategy_core.models import Side

RULES = InstrumentRules(tick_size=Decimal("0.10"), qty_step=Decimal("0.001"), min_qty=Decimal("0.001"))
STEP = Decimal("0.001")

# ------------------------------------------------------------------ state tables

_ORDER_RANK = {
    OrderStatus.NEW: 0,
    OrderStatus.SUBMITTED: 1,
    OrderStatus.UNTRIGGERED: 2,
    OrderStatus.TRIGGERED: 3,
    OrderStatus.PARTIALLY_FILLED: 4,
    OrderStatus.FILLED: 5,
    OrderStatus.CANCELLED: 5,
    OrderStatus.REJECTED: 5,
    OrderStatus.EXPIRED: 5,
}
_POSITION_RANK = {
    PositionStatus.OPENING: 0,
    PositionStatus.OPEN: 1,
    PositionStatus.PARTIAL_ACCEPTED: 1,
    PositionStatus.FAILED_UNDERFILL: 1,
    PositionStatus.CLOSING: 2,
    PositionStatus.ERROR: 3,
    PositionStatus.CLOSED: 4,
}


@given(st.lists(st.sampled_from(list(OrderStatus)), max_size=30))
def test_an_order_status_never_regresses_and_a_terminal_one_never_changes(
    proposals: list[OrderStatus],
) -> None:
    status = OrderStatus.NEW
    for proposed in proposals:
        after = advance_order(status, proposed)
        assert _ORDER_RANK[after] >= _ORDER_RANK[status]
        if status.terminal:
            assert after is status
        status = after


@given(st.lists(st.sampled_from(list(PositionStatus)), max_size=30))
def test_a_position_status_never_regresses(proposals: list[PositionStatus]) -> None:
    status = PositionStatus.OPENING
    for proposed in proposals:
        after = advance_position(status, proposed)
        assert _POSITION_RANK[after] >= _POSITION_RANK[status]
        if status is PositionStatus.CLOSED:
            assert after is PositionStatus.CLOSED
        status = after


def test_the_tables_follow_the_documented_paths() -> None:
    path = [OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED]
    status = OrderStatus.NEW
    for step in path:
        status = advance_order(status, step)
        assert status is step
    assert advance_order(OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED) is OrderStatus.FILLED
    assert advance_order(OrderStatus.UNTRIGGERED, OrderStatus.TRIGGERED) is OrderStatus.TRIGGERED
    assert advance_order(OrderStatus.TRIGGERED, OrderStatus.UNTRIGGERED) is OrderStatus.TRIGGERED
    assert order_status_from_exchange("Deactivated") is OrderStatus.CANCELLED
    with pytest.raises(ValueError, match="Bybit order status"):
        order_status_from_exchange("Nonsense")
    assert advance_position(PositionStatus.CLOSING, PositionStatus.OPEN) is PositionStatus.CLOSING
    assert (
        advance_position(PositionStatus.OPENING, PositionStatus.PARTIAL_ACCEPTED)
        is PositionStatus.PARTIAL_ACCEPTED
    )


# ------------------------------------------------------------------ the fold


@dataclass(frozen=True)
class _Update:
    link: str
    status: OrderStatus
    cum: Decimal
    avg: Decimal | None


Event = _Update | ExecFill


def _fold(side: Side, orders: list[OrderState], events: list[Event]) -> Ledger:
    ledger = Ledger(side=side)
    for order in orders:
        ledger = ledger.with_order(order)
    for event in events:
        if isinstance(event, ExecFill):
            ledger = ledger.apply_fill(event)
        else:
            ledger = ledger.apply_order_update(
                event.link,
                event.status,
                cum_qty=event.cum,
                avg_price=event.avg,
                exchange_order_id="x-" + event.link,
            )
    return ledger


@st.composite
def _order_stream(
    draw: st.DrawFn, link: str, buy: bool, qty_steps: int, seq: str
) -> tuple[OrderState, list[Event]]:
    """One order's in-order stream: New, then fills each followed by its PartiallyFilled/Filled, then maybe a
    Cancelled (an IOC's rest)."""
    fills_steps = draw(st.lists(st.integers(1, 5), max_size=4))
    total = 0
    events: list[Event] = [_Update(link, OrderStatus.SUBMITTED, Decimal(0), None)]
    value = Decimal(0)
    for i, steps in enumerate(fills_steps):
        if total + steps > qty_steps:
            break
        total += steps
        price = Decimal(100) + draw(st.integers(-20, 20)) * Decimal("0.1")
        qty = steps * STEP
        value += qty * price
        side = "Buy" if buy else "Sell"
        events.append(ExecFill(f"{seq}-{i}", link, side, price, qty, qty * price * Decimal("0.00055")))
        cum = total * STEP
        status = OrderStatus.FILLED if total == qty_steps else OrderStatus.PARTIALLY_FILLED
        events.append(_Update(link, status, cum, value / cum))
    if total < qty_steps:
        cum = total * STEP
        events.append(_Update(link, OrderStatus.CANCELLED, cum, value / cum if total else None))
    return OrderState(link, OrderPurpose.ENTRY if buy else OrderPurpose.TP, qty_steps * STEP), events


@st.composite
def _delivery(draw: st.DrawFn) -> tuple[list[OrderState], list[Event], list[Event]]:
    entry, entry_events = draw(_order_stream("entry", True, draw(st.integers(1, 15)), "e"))
    exit_, exit_events = draw(_order_stream("tp1", False, draw(st.integers(1, 15)), "x"))
    funding = ExecFill(
        "f-1", "", "Sell", Decimal(100), Decimal("0.001"), Decimal("0.0123"), exec_type="Funding"
    )
    in_order = [*entry_events, *exit_events, funding]
    shuffled = draw(st.permutations(in_order))
    duplicates = draw(st.lists(st.sampled_from(in_order), max_size=10))
    positions = draw(st.lists(st.integers(0, len(shuffled) + len(duplicates)), min_size=len(duplicates)))
    messy = list(shuffled)
    for duplicate, at in zip(duplicates, positions, strict=False):
        messy.insert(min(at, len(messy)), duplicate)
    return [entry, exit_], in_order, messy


@settings(max_examples=300, deadline=None)
@given(_delivery())
def test_any_interleaving_with_duplicates_folds_to_the_in_order_position(
    delivery: tuple[list[OrderState], list[Event], list[Event]],
) -> None:
    orders, in_order, messy = delivery
    expected = _fold(Side.LONG, orders, in_order)
    actual = _fold(Side.LONG, orders, messy)

    assert actual.orders == expected.orders
    assert actual.fills == expected.fills
    assert (actual.entry_qty, actual.exit_qty, actual.avg_entry, actual.avg_exit) == (
        expected.entry_qty,
        expected.exit_qty,
        expected.avg_entry,
        expected.avg_exit,
    )
    assert (actual.fees, actual.funding) == (expected.fees, expected.funding)
    entry = actual.orders["entry"]
    assert entry.cum_qty == actual.filled_of("entry")


def test_the_fold_aggregates_fills_fees_and_funding() -> None:
    ledger = Ledger(side=Side.SHORT).with_order(OrderState("e", OrderPurpose.ENTRY, Decimal(2)))
    ledger = ledger.apply_fill(ExecFill("1", "e", "Sell", Decimal(100), Decimal(1), Decimal("0.055")))
    ledger = ledger.apply_fill(ExecFill("2", "e", "Sell", Decimal(102), Decimal(1), Decimal("0.0561")))
    ledger = ledger.apply_fill(ExecFill("2", "e", "Sell", Decimal(102), Decimal(1), Decimal("0.0561")))
    ledger = ledger.apply_fill(ExecFill("3", "", "Buy", Decimal(101), Decimal(2), Decimal("-0.5"), "Funding"))
    assert ledger.entry_qty == 2
    assert ledger.avg_entry == 101
    assert ledger.orders["e"].status is OrderStatus.FILLED
    assert ledger.fees == Decimal("0.1111")
    assert ledger.funding == Decimal("-0.5")
    assert ledger.open_qty == 2


# ------------------------------------------------------------------ sizing and classes


def test_the_entry_is_sized_from_one_r_rounded_down_to_the_step_and_priced_on_the_tick() -> None:
    sizing = size_entry(
        Side.LONG, Decimal("65000.07"), Decimal("64300"), Decimal(25), RULES, slippage_ticks=3
    )
    assert not isinstance(sizing, SizingRefusal)
    assert sizing.qty == Decimal("0.035")  # 25 / 700.07 = 0.0357 → 0.035
    assert sizing.price == Decimal("65000.30")  # + 3 ticks, rounded down for a buy
    assert sizing.risk_usd <= 25
    short = size_entry(
        Side.SHORT, Decimal("65000.07"), Decimal("65700"), Decimal(25), RULES, slippage_ticks=3
    )
    assert not isinstance(short, SizingRefusal)
    assert short.price == Decimal("64999.80")  # − 3 ticks, rounded up for a sell


@given(
    st.decimals(Decimal(10), Decimal(100_000), places=2),
    st.decimals(Decimal("0.5"), Decimal(5_000), places=2),
    st.decimals(Decimal(1), Decimal(1_000), places=2),
)
def test_sizing_never_risks_more_than_one_r_and_stays_on_the_grid(
    entry: Decimal, distance: Decimal, r_unit: Decimal
) -> None:
    sizing = size_entry(Side.LONG, entry, entry - distance, r_unit, RULES)
    if isinstance(sizing, SizingRefusal):
        assert sizing.reason_code == "qty_below_minimum"
        assert r_unit / distance < RULES.min_qty + RULES.qty_step
        return
    assert sizing.qty * distance <= r_unit
    assert sizing.qty % RULES.qty_step == 0
    assert sizing.price % RULES.tick_size == 0
    assert sizing.qty >= RULES.min_qty


def test_sizing_refuses_a_notional_below_the_minimum_and_a_zero_distance() -> None:
    small = size_entry(Side.LONG, Decimal(10), Decimal(9), Decimal("0.05"), RULES, Decimal(5))
    assert isinstance(small, SizingRefusal)
    assert small.reason_code == "notional_below_minimum"
    flat = size_entry(Side.LONG, Decimal(10), Decimal(10), Decimal(25), RULES)
    assert isinstance(flat, SizingRefusal)
    assert flat.reason_code == "invalid_levels"


@pytest.mark.parametrize(
    ("filled", "policy", "expected"),
    [
        ("1", "accept", "filled"),
        ("0.95", "accept", "filled"),
        ("0.94", "accept", "partial_accept"),
        ("0.5", "retry", "partial_retry"),
        ("0.49", "accept", "underfill"),
        ("0", "retry", "underfill"),
    ],
)
def test_fill_classes(filled: str, policy: str, expected: str) -> None:
    got = classify_fill(Decimal(filled), Decimal(1), min_fill_ratio=Decimal("0.5"), policy=policy)  # type: ignore[arg-type]
    assert got == expected


@given(
    st.integers(1, 100_000),
    st.sampled_from(
        [
            (Decimal("0.4"), Decimal("0.3"), Decimal("0.3")),
            (Decimal("0.5"), Decimal("0.25"), Decimal("0.25")),
            (Decimal(1), Decimal(0), Decimal(0)),
        ]
    ),
)
def test_take_profit_sizes_sum_to_the_fill_with_the_remainder_on_the_last(
    steps: int, split: tuple[Decimal, Decimal, Decimal]
) -> None:
    filled = steps * STEP
    sizes = split_take_profits(filled, split, STEP)
    assert sum(sizes, Decimal(0)) == filled
    assert all(size >= 0 and size % STEP == 0 for size in sizes)
    for size, share in zip(sizes[:-1], split[:-1], strict=True):
        assert size <= filled * share


# ------------------------------------------------------------------ slippage and ids


def test_slippage_is_positive_when_it_cost_the_trader() -> None:
    assert slippage_bps(Side.LONG, "entry", Decimal(100), Decimal("100.1")) == Decimal(10)
    assert slippage_bps(Side.SHORT, "entry", Decimal(100), Decimal("100.1")) == Decimal(-10)
    assert slippage_bps(Side.LONG, "exit", Decimal(100), Decimal("99.9")) == Decimal(10)
    assert slippage_bps(Side.SHORT, "exit", Decimal(100), Decimal("99.9")) == Decimal(-10)


def test_the_slippage_model_adds_for_volatility_and_thin_books() -> None:
    base = Decimal("0.05")
    assert modelled_slippage_pct(base, atr_above_p80=False, depth_usd=Decimal(2_000_000)) == base
    assert modelled_slippage_pct(base, atr_above_p80=True, depth_usd=Decimal(2_000_000)) == Decimal("0.20")
    assert modelled_slippage_pct(base, atr_above_p80=True, depth_usd=Decimal(999_999)) == Decimal("0.45")
    assert modelled_slippage_pct(base, atr_above_p80=False, depth_usd=None) == Decimal("0.30")


@given(st.uuids(), st.sampled_from(list(OrderPurpose)), st.integers(0, 99_998))
def test_order_link_ids_are_deterministic_short_and_distinct_per_purpose_and_attempt(
    signal: uuid.UUID, purpose: OrderPurpose, attempt: int
) -> None:
    link = order_link_id(str(signal), purpose, attempt)
    assert len(link) <= 36
    assert link == order_link_id(str(signal).upper(), purpose, attempt)
    others = {order_link_id(str(signal), p, attempt) for p in OrderPurpose}
    assert len(others) == len(OrderPurpose)
    assert order_link_id(str(signal), purpose, attempt + 1) != link
    assert position_id_for(str(signal)) == position_id_for(str(signal).upper())
