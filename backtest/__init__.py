"""The backtest entry point (S-06, Q-07): replay klines through strategy_core and the fill model, report.

Separate from the live service, which never imports it (a test checks the import graph). The console
script is ``algogrid-backtest`` (``backtest.cli:main``). Import only from this front door.
"""

from __future__ import annotations

from backtest.config import BacktestConfig, BookAssumptions
from backtest.data import read_csv, resample_to_5m
from backtest.errors import BacktestError, DataError, EmptySeriesError
from backtest.market import BookContext, next_funding_time
from backtest.report import brier_score, build_report, equity_svg, reliability, write_report
from backtest.runner import BacktestResult, run_backtest

__all__ = [
    "BacktestConfig",
    "BacktestError",
    "BacktestResult",
    "BookAssumptions",
    "BookContext",
    "DataError",
    "EmptySeriesError",
    "brier_score",
    "build_report",
    "equity_svg",
    "next_funding_time",
    "read_csv",
    "reliability",
    "resample_to_5m",
    "run_backtest",
    "write_report",
]
