"""Streaming forms equal the batch forms exactly; 15m candles come only from complete triples."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sc_builders import FIVE, T0, candle, candle_series, closes, trending

from strategy_core import (
    AVI5Config,
    ConfirmedCandle,
    IndicatorState,
    InsufficientDataError,
    Resampler15m,
    StreamingATR,
    StreamingDonchian,
    StreamingEMA,
    StreamingVWAP,
    ZeroVolumeError,
    bucket_start_15m,
    calculate_atr_ema,
    calculate_ema,
    calculate_vwap_band,
    compute_indicator_set,
    derive_15m,
    donchian_channel,
)

D = Decimal
SMALL = AVI5Config(vwap_window=5, atr_period=3, donchian_window=4, ema_fast_15m=2, ema_slow_15m=3)


@given(series=candle_series(min_size=1, max_size=60), period=st.integers(1, 20))
def test_streaming_ema_and_atr_equal_batch_after_every_bar(
    series: list[ConfirmedCandle], period: int
) -> None:
    ema, atr = StreamingEMA(period), StreamingATR(period)
    for i, c in enumerate(series, start=1):
        got_ema, got_atr = ema.update(c.close), atr.update(c)
        assert got_ema == (calculate_ema(closes(series[:i]), period) if i >= period else None)
        assert got_atr == (calculate_atr_ema(series[:i], period) if i >= period + 1 else None)


@given(series=candle_series(min_size=1, max_size=60), window=st.integers(1, 25))
def test_streaming_vwap_and_donchian_equal_batch_after_every_bar(
    series: list[ConfirmedCandle], window: int
) -> None:
    vwap, channel = StreamingVWAP(window), StreamingDonchian(window)
    for i, c in enumerate(series, start=1):
        assert vwap.update(c) == (calculate_vwap_band(series[:i], window) if i >= window else None)
        assert channel.update(c) == (donchian_channel(series[:i], window) if i >= window else None)


@settings(max_examples=60)
@given(series=candle_series(min_size=1, max_size=80))
def test_indicator_state_equals_compute_indicator_set(series: list[ConfirmedCandle]) -> None:
    state = IndicatorState("BTCUSDT", SMALL)
    for i, c in enumerate(series, start=1):
        got = state.fold(c)
        try:
            want = compute_indicator_set(series[:i], derive_15m(series[:i]), SMALL)
        except InsufficientDataError:
            want = None
        assert got == want


def test_indicator_state_skips_duplicates_and_out_of_order_bars() -> None:
    series = trending(80, step="0.1")
    state = IndicatorState("BTCUSDT", SMALL)
    for c in series:
        state.fold(c)
    before = state.fold(series[-1])
    assert before is None
    assert state.skipped == 1
    nxt = trending(81, step="0.1")[-1]
    assert state.fold(nxt) == compute_indicator_set([*series, nxt], derive_15m([*series, nxt]), SMALL)


def test_indicator_state_rejects_another_symbol() -> None:
    with pytest.raises(ValueError):
        IndicatorState("ETHUSDT", SMALL).fold(trending(1, step="1")[0])


def test_zero_volume_window_yields_no_snapshot_but_keeps_state() -> None:
    cfg = AVI5Config(vwap_window=2, atr_period=1, donchian_window=1, ema_fast_15m=1, ema_slow_15m=2)
    state = IndicatorState("BTCUSDT", cfg)
    zero = [candle(i, high="2", low="1", close="1.5", volume="0") for i in range(6)]
    assert [state.fold(c) for c in zero] == [None] * 6
    with pytest.raises(ZeroVolumeError):
        compute_indicator_set(zero, derive_15m(zero), cfg)
    live = [candle(6 + i, high="2", low="1", close="1.5", volume="1") for i in range(2)]
    out = [state.fold(c) for c in live]
    assert out[-1] == compute_indicator_set([*zero, *live], derive_15m([*zero, *live]), cfg)


def test_15m_candle_merges_an_aligned_triple() -> None:
    a = candle(0, open_="10", high="12", low="9", close="11", volume="1")
    b = candle(1, open_="11", high="15", low="10", close="14", volume="2")
    c = candle(2, open_="14", high="14", low="8", close="9", volume="3")
    (m,) = derive_15m([a, b, c])
    assert (m.start, m.end) == (T0, T0 + timedelta(minutes=15))
    assert (m.open, m.high, m.low, m.close, m.volume) == (D(10), D(15), D(8), D(9), D(6))


def test_15m_skips_incomplete_and_misaligned_buckets() -> None:
    series = [candle(i, high="2", low="1", close="1.5") for i in range(1, 10)]  # starts at 00:05
    out = derive_15m(series)
    assert [m.start for m in out] == [T0 + timedelta(minutes=15), T0 + timedelta(minutes=30)]
    gap = [c for c in series if c.start != T0 + timedelta(minutes=20)]
    assert [m.start for m in derive_15m(gap)] == [T0 + timedelta(minutes=30)]


@given(series=candle_series(min_size=0, max_size=60), drop=st.sets(st.integers(0, 59)))
def test_15m_candles_equal_a_plain_grouping(series: list[ConfirmedCandle], drop: set[int]) -> None:
    kept = [c for i, c in enumerate(series) if i not in drop]
    groups: dict[object, list[ConfirmedCandle]] = {}
    for c in kept:
        groups.setdefault(bucket_start_15m(c.start), []).append(c)
    complete = [g for g in groups.values() if len(g) == 3]
    derived = derive_15m(kept)
    assert [m.start for m in derived] == [g[0].start for g in complete]
    for m, g in zip(derived, complete, strict=True):
        assert m.high == max(c.high for c in g)
        assert m.low == min(c.low for c in g)
        assert (m.open, m.close) == (g[0].open, g[-1].close)


def test_resampler_rejects_non_5m_candles() -> None:
    (m,) = derive_15m([candle(i, high="2", low="1", close="1.5") for i in range(3)])
    with pytest.raises(ValueError):
        Resampler15m().update(m)
    assert timedelta(minutes=5) == FIVE
