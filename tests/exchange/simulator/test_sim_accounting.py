"""Property: whatever the sequence of fills, reduce-only orders never open, grow or flip a position, and the
wallet equals the start balance plus every closed-PnL record minus the entry fees of what is still open, to
1e-12 in Decimal (average prices and pro-rata fee shares are divisions at 28 digits; the wire shows 8
decimals) — the matching engine driven directly, no sockets."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.simulator.config import SimulatorConfig
from exchange.simulator.errors import BybitRejection
from exchange.simulator.instruments import INSTRUMENTS
from exchange.simulator.market import Market
from exchange.simulator.matching import MatchingEngine

SYMBOL = "BTCUSDT"
START = Decimal("1000000")
START_MS = 1_700_000_000_000
EPS = Decimal("1e-12")

orders = st.lists(
    st.tuples(
        st.sampled_from(["Buy", "Sell"]),
        st.integers(min_value=1, max_value=400),  # qty in steps of 0.001
        st.booleans(),  # reduce-only
        st.sampled_from(["Market", "IOC", "Maker"]),
        st.integers(min_value=-300, max_value=300),  # price move in ticks before the order
    ),
    min_size=1,
    max_size=25,
)


def _engine() -> MatchingEngine:
    config = SimulatorConfig(symbols=(SYMBOL,), history_bars=0, start_time_ms=START_MS)
    market = Market(INSTRUMENTS[SYMBOL], 7, START_MS, 0, 8 * 3_600_000)
    return MatchingEngine(config, {SYMBOL: market})


@settings(max_examples=100, deadline=None)
@given(orders)
def test_reduce_only_never_grows_a_position_and_closed_pnl_reconciles_exactly(
    steps: list[tuple[str, int, bool, str, int]],
) -> None:
    engine = _engine()
    market = engine.markets[SYMBOL]
    spec = market.spec
    account = engine.add_account("k", "s", START)
    for side, qty_steps, reduce_only, kind, move in steps:
        market.jump(max(spec.tick_size, market.last_price() + move * spec.tick_size))
        engine.on_step(market)  # resting orders the move crosses fill first
        before = account.position(SYMBOL)
        size_before, side_before = before.size, before.side
        params: dict[str, object] = {
            "category": "linear",
            "symbol": SYMBOL,
            "side": side,
            "orderType": "Market" if kind == "Market" else "Limit",
            "qty": str(spec.qty_step * qty_steps),
            "reduceOnly": reduce_only,
        }
        if kind != "Market":
            best = market.book.best_ask() if side == "Buy" else market.book.best_bid()
            assert best is not None
            params["price"] = str(spec.price_of(best))
            params["timeInForce"] = "IOC" if kind == "IOC" else "GTC"
        try:
            engine.create_order(account, params)
        except BybitRejection:
            continue
        engine.on_step(market)
        after = account.position(SYMBOL)
        if reduce_only:
            assert after.size <= size_before
            assert after.side in (side_before, "")
        closed = sum((c.closed_pnl for c in account.closed_pnls), Decimal(0))
        assert abs(account.wallet - (START + closed - after.entry_fees)) < EPS
        for record in account.closed_pnls:
            gross = record.cum_exit_value - record.cum_entry_value
            signed = gross if record.side == "Sell" else -gross
            assert abs(record.closed_pnl - (signed - record.open_fee - record.close_fee)) < EPS
