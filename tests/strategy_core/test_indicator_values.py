"""S-01 indicators against hand-computed values, their errors, and their properties."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sc_builders import candle, candle_series

from strategy_core import (
    ConfirmedCandle,
    IndicatorError,
    InsufficientDataError,
    InvalidBookError,
    ZeroVolumeError,
    calculate_atr_ema,
    calculate_ema,
    calculate_vwap,
    calculate_vwap_band,
    donchian_channel,
    microprice,
    orderbook_imbalance,
    typical_price,
)

D = Decimal
# Hand-computed: tp = 10, 11, 12 with volumes 1, 2, 1.
C1 = candle(0, high="12", low="8", close="10", volume="1")
C2 = candle(1, high="13", low="9", close="11", volume="2")
C3 = candle(2, high="15", low="9", close="12", volume="1")
C4 = candle(3, high="14", low="11", close="13", volume="4")


def test_typical_price_is_the_mean_of_high_low_close() -> None:
    assert typical_price(C3) == D(12)


def test_vwap_of_three_bars_is_44_over_4() -> None:
    # (10·1 + 11·2 + 12·1) / (1 + 2 + 1) = 44 / 4
    assert calculate_vwap([C1, C2, C3], window=3) == D(11)


def test_vwap_uses_only_the_last_window_bars() -> None:
    # tp(C4) = (14 + 11 + 13)/3 = 38/3; window [C3, C4]: (12·1 + 38/3·4) / 5
    expected = (D(12) + D(38) / D(3) * 4) / 5
    assert calculate_vwap([C1, C2, C3, C4], window=2) == expected


def test_vwap_sigma_is_the_volume_weighted_deviation_of_typical_price() -> None:
    # Σ v·(tp − 11)² / Σ v = (1·1 + 2·0 + 1·1) / 4 = 0.5
    band = calculate_vwap_band([C1, C2, C3], window=3)
    assert band.sigma == D("0.5").sqrt()
    assert band.upper(D(2)) == D(11) + 2 * D("0.5").sqrt()
    assert band.lower(D(0)) == D(11)


def test_ema_is_seeded_with_the_sma_then_smoothed() -> None:
    # seed = (1+2+3)/3 = 2, α = 0.5 → 3 → 4
    assert calculate_ema([D(1), D(2), D(3), D(4), D(5)], period=3) == D(4)
    assert calculate_ema([D(7)], period=1) == D(7)


def test_atr_is_the_ema_of_true_ranges() -> None:
    # TR(C2) = max(4, |13−10|, |9−10|) = 4; TR(C3) = max(6, 4, 2) = 6; seed (period 2) = 5
    assert calculate_atr_ema([C1, C2, C3], period=2) == D(5)
    # TR(C4) = max(3, |14−12|, |11−12|) = 3; α = 2/3: 5 + (2/3)(3 − 5)
    assert calculate_atr_ema([C1, C2, C3, C4], period=2) == D("3.666666666666666666666666667")


def test_true_range_uses_the_previous_close_gap() -> None:
    gap = candle(1, high="21", low="20", close="20.5")
    assert calculate_atr_ema([C1, gap], period=1) == D(11)  # |21 − 10|


def test_donchian_channel_spans_the_window() -> None:
    channel = donchian_channel([C1, C2, C3, C4], window=3)
    assert (channel.high, channel.low) == (D(15), D(9))
    assert donchian_channel([C1, C2, C3, C4], window=4).low == D(8)


def test_orderbook_imbalance_over_the_best_levels() -> None:
    bids = [(D(99), D(1)), (D(100), D(3))]  # unsorted on purpose: best bid is 100
    asks = [(D(102), D(1)), (D(101), D(1))]
    assert orderbook_imbalance(bids, asks, levels=10) == D(2) / D(6)
    assert orderbook_imbalance(bids, asks, levels=1) == D("0.5")  # (3 − 1)/(3 + 1)


def test_microprice_weights_each_side_by_the_opposite_size() -> None:
    # (101·3 + 100·1) / 4
    assert microprice(D(100), D(3), D(101), D(1)) == D("100.75")
    assert microprice(D(100), D(1), D(101), D(1)) == D("100.5")


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: calculate_vwap([C1], window=2), InsufficientDataError),
        (lambda: calculate_ema([D(1)], period=2), InsufficientDataError),
        (lambda: calculate_atr_ema([C1, C2], period=2), InsufficientDataError),
        (lambda: donchian_channel([], window=1), InsufficientDataError),
        (lambda: calculate_vwap([candle(0, high="2", low="1", close="1", volume="0")], 1), ZeroVolumeError),
        (lambda: orderbook_imbalance([], [(D(1), D(1))]), InvalidBookError),
        (lambda: orderbook_imbalance([(D(1), D(1))], []), InvalidBookError),
        (lambda: orderbook_imbalance([(D(1), D(0))], [(D(2), D(1))]), InvalidBookError),
        (lambda: microprice(D(100), D(0), D(101), D(1)), InvalidBookError),
        (lambda: microprice(D(100), D(1), D(101), D(0)), InvalidBookError),
        (lambda: microprice(D(102), D(1), D(101), D(1)), InvalidBookError),
    ],
)
def test_bad_inputs_raise_clear_value_errors(call: object, error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        call()  # type: ignore[operator]
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, IndicatorError)
    assert "expected" in str(info.value)


def test_non_positive_windows_are_rejected() -> None:
    with pytest.raises(ValueError):
        calculate_vwap([C1], window=0)
    with pytest.raises(ValueError):
        orderbook_imbalance([(D(1), D(1))], [(D(2), D(1))], levels=0)


qty = st.decimals(min_value=D("0.001"), max_value=D("1000000"), places=3)
price = st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2)


@given(
    bids=st.lists(st.tuples(price, qty), min_size=1, max_size=50),
    asks=st.lists(st.tuples(price, qty), min_size=1, max_size=50),
    levels=st.integers(1, 60),
)
def test_imbalance_is_always_within_minus_one_and_one(
    bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]], levels: int
) -> None:
    assert D(-1) <= orderbook_imbalance(bids, asks, levels) <= D(1)


@given(series=candle_series(min_size=1, max_size=40), window=st.integers(1, 40))
def test_vwap_lies_within_the_window_low_and_high(series: list[ConfirmedCandle], window: int) -> None:
    window = min(window, len(series))
    tail = series[-window:]
    assert min(c.low for c in tail) <= calculate_vwap(series, window) <= max(c.high for c in tail)


@given(b=price, a=price, bq=qty, aq=qty)
def test_microprice_lies_between_bid_and_ask(b: Decimal, a: Decimal, bq: Decimal, aq: Decimal) -> None:
    bid, ask = min(a, b), max(a, b)
    assert bid <= microprice(bid, bq, ask, aq) <= ask
