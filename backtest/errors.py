"""Exceptions of the backtest room.

The tree::

    BacktestError              every error raised on purpose by backtest/
    ├── DataError              the input series cannot be read or resampled (names the file and line)
    └── EmptySeriesError       the chosen range holds no bar to replay
"""

from __future__ import annotations

__all__ = ["BacktestError", "DataError", "EmptySeriesError"]


class BacktestError(Exception):
    """Base of every error raised on purpose by the backtest room."""


class DataError(BacktestError):
    """Raise when a kline file or table cannot be turned into confirmed 5m candles."""


class EmptySeriesError(BacktestError):
    """Raise when the requested range holds no bar."""
