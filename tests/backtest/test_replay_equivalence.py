"""``ReplayState`` decides every bar as the live path does (``IndicatorState.fold`` + ``apply_avi5``),
S-06."""

from __future__ import annotations

from decimal import Decimal

from backtest import BacktestConfig, BookContext
from strategy_core import IndicatorState, ReplayState, ThetaMap, apply_avi5
from tests.backtest.bt_series import trending_walk

CONFIG = BacktestConfig()
THETAS = ThetaMap(
    by_hour={h: Decimal("0.15") + Decimal("0.05") * (h % 8) for h in range(24)}, dead_hours=frozenset({3})
)


def test_every_bar_gets_the_live_paths_decision() -> None:
    candles = trending_walk(1500, seed=9)
    live = IndicatorState("BTCUSDT", CONFIG.strategy)
    replay = ReplayState(
        "BTCUSDT",
        CONFIG.strategy,
        theta_map=THETAS,
        instrument=CONFIG.instrument,
        risk_per_trade_usd=CONFIG.risk_per_trade_usd,
    )
    context = BookContext(CONFIG.book, CONFIG.instrument)
    signals = skipped = 0
    for candle in candles:
        indicators = live.fold(candle)
        fast = replay.fold(candle, context)
        if indicators is None:
            assert fast is None
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
            assert fast == expected
        signals += expected.signal is not None
    assert signals > 100  # the series does signal
    assert skipped > 300  # and the pre-check does skip bars
    assert replay.exact < len(candles) - skipped + 1
