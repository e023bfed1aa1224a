"""Replay confirmed 5m candles through ``strategy_core`` and the fill model (S-06): the backtest's core.

``ReplaySeries`` folds the whole series once; then per bar, in time order: the open trade (if any) folds the
bar (stop first, targets, funding, time exit — a bar strictly inside its ``watch`` leaves it unchanged, so it
is skipped); when no trade is open, the bar's AVI-5 signal (``ReplaySeries.signal_at``, the live path's)
opens a trade at the signal's entry (one position per symbol, as the PositionActor keeps; while a trade is
open AVI-5 is not evaluated: its signals could not be taken, and ``signals`` lists those taken). Nothing
reads a clock or a random source: the same candles and config give the same trades (deterministic, pinned by
a test).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from backtest.config import BacktestConfig
from backtest.errors import EmptySeriesError
from backtest.market import BookContext
from strategy_core import (
    BookTop,
    CalibrationStats,
    ConfirmedCandle,
    OpenTrade,
    ReplaySeries,
    Signal,
    SimulatedTrade,
    ThetaMap,
)

__all__ = ["BacktestResult", "run_backtest"]


@dataclass(slots=True)
class BacktestResult:
    """What one symbol's replay produced."""

    symbol: str
    bars: int
    signals: list[Signal] = field(default_factory=list)
    trades: list[SimulatedTrade] = field(default_factory=list)
    recorded_books: int = 0
    approximated_books: int = 0
    exact_bars: int = 0  # bars judged with the exact VWAP band (too close to call by floats)
    judged_bars: int = 0  # bars whose book, timing and size conditions were judged

    @property
    def book_mode(self) -> str:
        """Return ``recorded``, ``approximated`` or ``mixed``: which book AVI-5 saw (never silent)."""
        if self.approximated_books and self.recorded_books:
            return "mixed"
        return "recorded" if self.recorded_books else "approximated"


def run_backtest(
    candles: Sequence[ConfirmedCandle],
    config: BacktestConfig,
    *,
    theta_map: ThetaMap | None = None,
    calibration: CalibrationStats | None = None,
    recorded_books: Sequence[BookTop] = (),
    progress: Callable[[int], None] | None = None,
    progress_every: int = 5_000,
) -> BacktestResult:
    """Replay one symbol's candles (oldest first) and return its signals and simulated trades.

    Raises:
        EmptySeriesError: no candle given.
    """
    if not candles:
        raise EmptySeriesError("expected candles to replay, got none")
    series = ReplaySeries(
        candles,
        config.strategy,
        theta_map=theta_map or ThetaMap(),
        instrument=config.instrument,
        risk_per_trade_usd=config.risk_per_trade_usd,
        calibration=calibration,
    )
    context = BookContext(
        config.book, config.instrument, recorded=recorded_books, max_book_age_s=config.strategy.max_book_age_s
    )
    result = BacktestResult(symbol=series.symbol, bars=len(candles))
    trade: OpenTrade | None = None
    # the open trade's watch (see OpenTrade.watch): bars inside it leave the trade as it is
    long, stop, target, deadline = False, Decimal(0), Decimal(0), candles[0].end
    for first in range(0, len(candles), progress_every):
        for i in range(first, min(first + progress_every, len(candles))):
            if trade is not None:
                candle = candles[i]
                end = candle.end
                low, high = candle.low, candle.high
                inside = low > stop and high < target if long else high < stop and low > target
                if inside and end < deadline and (end.minute or end.hour % 8):
                    continue
                step = trade.on_bar(candle)
                if isinstance(step, SimulatedTrade):
                    result.trades.append(step)
                    trade = None
                else:
                    trade = step
                    long, stop, target, deadline = trade.watch()
                    continue
            signal = series.signal_at(i, context)
            if signal is not None:
                result.signals.append(signal)
                trade = OpenTrade.open(signal, config.fill, config.risk_per_trade_usd)
                long, stop, target, deadline = trade.watch()
        if progress is not None:
            progress(min(progress_every, len(candles) - first))
    if trade is not None:
        result.trades.append(trade.end_of_data(candles[-1]))
    result.recorded_books = context.recorded_used
    result.approximated_books = context.approximated
    result.exact_bars = series.exact
    result.judged_bars = series.judged
    return result
