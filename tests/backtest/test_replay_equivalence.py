"""``ReplaySeries`` decides every bar as the live path does (``IndicatorState.fold`` + ``apply_avi5``),
S-06: where the replay says a bar cannot signal, the live path gives no signal; where it decides, the decision
is the live path's, field for field; and ``signal_at`` (the replay's lean path, which skips the exact band
when floats settle the trigger) gives the live path's signal on every bar."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backtest import BacktestConfig, BookContext
from strategy_core import ConfirmedCandle, IndicatorState, ReplaySeries, ThetaMap, apply_avi5
from tests.backtest.bt_series import trending_walk

CONFIG = BacktestConfig()
THETAS = ThetaMap(
    by_hour={h: Decimal("0.15") + Decimal("0.05") * (h % 8) for h in range(24)}, dead_hours=frozenset({3})
)


def _compare_every_bar(candles: list[ConfirmedCandle]) -> tuple[int, int]:
    """Return (signals, bars the replay ruled out) after checking every bar against the live path."""
    live = IndicatorState("BTCUSDT", CONFIG.strategy)
    replay = ReplaySeries(
        candles,
        CONFIG.strategy,
        theta_map=THETAS,
        instrument=CONFIG.instrument,
        risk_per_trade_usd=CONFIG.risk_per_trade_usd,
    )
    context = BookContext(CONFIG.book, CONFIG.instrument)
    signals = skipped = 0
    for i, candle in enumerate(candles):
        indicators = live.fold(candle)
        fast = replay.decide(i, context)
        lean = replay.signal_at(i, context)
        if indicators is None:
            assert fast is None, candle.start
            assert lean is None, candle.start
            continue
        book, ticker = context(indicators)
        expected = apply_avi5(
            indicators, book=book, ticker=ticker, theta_map=THETAS, config=CONFIG.strategy,
            now=indicators.bar_end, instrument=CONFIG.instrument,
            risk_per_trade_usd=CONFIG.risk_per_trade_usd,
        )  # fmt: skip
        if fast is None:
            assert expected.signal is None, candle.start
            skipped += 1
        else:
            assert fast == expected, candle.start
        assert lean == expected.signal, candle.start
        signals += expected.signal is not None
    assert replay.exact >= sum(replay.candidates)  # decide() computed the exact band of every candidate
    assert replay.judged > replay.exact  # and signal_at() judged many without it
    return signals, skipped


def test_every_bar_gets_the_live_paths_decision() -> None:
    signals, skipped = _compare_every_bar(trending_walk(1500, seed=9))
    assert signals > 100  # the series does signal
    assert skipped > 300  # and the pre-check does rule bars out


def test_duplicates_late_bars_and_gaps_are_folded_as_the_live_state_folds_them() -> None:
    candles = trending_walk(1500, seed=11)
    # a duplicate, a late (out-of-order) bar, and a gap of 7 bars (two 15m buckets left incomplete)
    messy = [*candles[:400], candles[399], candles[350], *candles[400:900], *candles[907:]]
    signals, _ = _compare_every_bar(messy)
    assert signals > 50


def test_a_candle_of_another_symbol_is_refused() -> None:
    candles = trending_walk(30, seed=1) + trending_walk(1, seed=2, symbol="ETHUSDT")
    with pytest.raises(ValueError, match="expected a BTCUSDT candle, got ETHUSDT"):
        ReplaySeries(
            candles,
            CONFIG.strategy,
            theta_map=THETAS,
            instrument=CONFIG.instrument,
            risk_per_trade_usd=CONFIG.risk_per_trade_usd,
        )
