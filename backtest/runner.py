"""Replay confirmed 5m candles through ``strategy_core`` and the fill model (S-06): the backtest's core.

Per bar, in time order: the open trade (if any) folds the bar (stop first, targets, funding, time exit);
then ``ReplayState`` folds it and, when AVI-5 gives a signal and no trade is open on the symbol, a trade
opens at the signal's entry (one position per symbol, as the PositionActor keeps; while a trade is open
AVI-5 is not evaluated: its signals could not be taken, and ``signals`` lists those taken). Nothing reads
a clock or a random source: the same candles and config give the same trades (deterministic, pinned by a
test).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from backtest.config import BacktestConfig
from backtest.errors import EmptySeriesError
from backtest.market import BookContext
from strategy_core import (
    BookTop,
    CalibrationStats,
    ConfirmedCandle,
    OpenTrade,
    ReplayState,
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
    exact_bars: int = 0

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
    symbol = candles[0].symbol
    state = ReplayState(
        symbol,
        config.strategy,
        theta_map=theta_map or ThetaMap(),
        instrument=config.instrument,
        risk_per_trade_usd=config.risk_per_trade_usd,
        calibration=calibration,
    )
    context = BookContext(
        config.book, config.instrument, recorded=recorded_books, max_book_age_s=config.strategy.max_book_age_s
    )
    result = BacktestResult(symbol=symbol, bars=len(candles))
    trade: OpenTrade | None = None
    for n, candle in enumerate(candles, start=1):
        if trade is not None:
            step = trade.on_bar(candle)
            if isinstance(step, SimulatedTrade):
                result.trades.append(step)
                trade = None
            else:
                trade = step
        decision = state.fold(candle, context, evaluate=trade is None)
        if decision is not None and decision.signal is not None:
            result.signals.append(decision.signal)
            trade = OpenTrade.open(decision.signal, config.fill, config.risk_per_trade_usd)
        if progress is not None and n % progress_every == 0:
            progress(progress_every)
    if trade is not None:
        result.trades.append(trade.end_of_data(candles[-1]))
    if progress is not None:
        progress(len(candles) % progress_every)
    result.recorded_books = context.recorded_used
    result.approximated_books = context.approximated
    result.exact_bars = state.exact
    return result
