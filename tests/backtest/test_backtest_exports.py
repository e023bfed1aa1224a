"""The backtest front door exports exactly the pinned names (STYLE §1)."""

from __future__ import annotations

import backtest
from tests.support.exports import assert_front_door

EXPECTED = [
    "BacktestConfig", "BacktestError", "BacktestResult", "BookAssumptions", "BookContext", "DataError",
    "EmptySeriesError", "brier_score", "build_report", "equity_svg", "next_funding_time", "read_csv",
    "reliability", "resample_to_5m", "run_backtest", "write_report",
]  # fmt: skip


def test_the_front_door_exports_exactly_the_pinned_names() -> None:
    assert_front_door(backtest, EXPECTED)
