"""E-05 market context at signal time: ATR above its 80th percentile and the book's depth, on the signal."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sc_builders import candle, trending
from test_avi5_rule_table import baseline

from strategy_core import (
    AVI5Config,
    IndicatorState,
    apply_avi5,
    atr_above_percentile,
    book_depth_usd,
    compute_indicator_set,
    derive_15m,
)

D = Decimal


def test_the_newest_atr_is_compared_with_the_nearest_rank_percentile() -> None:
    ten = [D(i) for i in range(1, 11)]  # p80 of 1..10 is the 8th smallest: 8
    assert atr_above_percentile([*ten[:-1], D(9)]) is True  # 9 > 8 (history 1..9, 9)
    assert atr_above_percentile([*ten[:7], D(9), D(10), D(8)]) is False  # 8 is not above 8
    assert atr_above_percentile([D("0.3")] * 20) is False  # a flat ATR is never above itself
    assert atr_above_percentile([D(1), D(2)]) is False  # two values: p80 is the larger one
    assert atr_above_percentile([D(1), D(1), D(1), D(1), D(2)]) is True  # p80 of five is the 4th: 1
    assert atr_above_percentile([D(5)]) is None
    assert atr_above_percentile([]) is None
    with pytest.raises(ValueError, match="percentile"):
        atr_above_percentile([D(1), D(2)], percentile=0)


@given(
    st.lists(st.decimals(min_value=0, max_value=1000, places=4), min_size=2, max_size=60),
    st.integers(min_value=1, max_value=100),
)
def test_above_the_percentile_means_at_least_rank_values_lie_strictly_below(
    atrs: list[Decimal], percentile: int
) -> None:
    rank = math.ceil(percentile * len(atrs) / 100)
    below = sum(1 for a in atrs if a < atrs[-1])
    assert atr_above_percentile(atrs, percentile) is (below >= rank)


def _calm_then_wild(wild: int) -> list:  # type: ignore[type-arg]
    calm = trending(90, step="0.1")
    last = calm[-1].close
    out = list(calm)
    for k in range(wild):
        close = last + D("0.1") * (k + 1)
        out.append(candle(90 + k, high=close + D(3), low=close - D(3), close=close, volume=2))
    return out


def test_the_indicator_set_flags_an_atr_spike_in_both_twins() -> None:
    config = AVI5Config()
    calm = trending(90, step="0.1")
    wild = _calm_then_wild(2)
    for series, expected in ((calm, False), (wild, True)):
        state = IndicatorState("BTCUSDT", config)
        streamed = [state.fold(c) for c in series][-1]
        batch = compute_indicator_set(series, derive_15m(series), config)
        assert streamed is not None
        assert streamed.atr_above_p80 is batch.atr_above_p80 is expected


def test_a_signal_carries_the_atr_flag_and_the_book_depth_it_was_made_with() -> None:
    s = baseline()
    indicators = compute_indicator_set(s.candles_5m, s.candles_15m, s.config)
    assert indicators.atr_above_p80 is False  # this baseline's ATR is flat
    depth = book_depth_usd([(D(100), D(3)), (D("99.5"), D("0.25"))], [(D(101), D(1))])
    assert depth == D("425.875")
    for flag in (True, False, None):
        decision = apply_avi5(
            indicators.model_copy(update={"atr_above_p80": flag}),
            book=s.book.model_copy(update={"depth_usd": depth}),
            ticker=s.ticker,
            theta_map=s.theta_map,
            config=s.config,
            now=s.now,
            instrument=s.instrument,
            risk_per_trade_usd=s.risk_per_trade_usd,
        )
        assert decision.signal is not None
        assert (decision.signal.atr_above_p80, decision.signal.book_depth_usd) == (flag, depth)
    plain = s.run().signal
    assert plain is not None
    assert (plain.atr_above_p80, plain.book_depth_usd) == (False, None)
