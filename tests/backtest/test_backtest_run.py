"""A backtest replays a fixed series to a pinned trade list, deterministically, and writes its report
(S-06)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from backtest import (
    BacktestConfig,
    DataError,
    brier_score,
    build_report,
    read_csv,
    resample_to_5m,
    run_backtest,
    write_report,
)
from strategy_core import simulate_trade
from tests.backtest.bt_series import trending_walk

Q = Decimal("0.0001")

# (side, opened at, exit reason, net PnL USD, TP1 first) of the first ten trades of trending_walk(3000, 42).
PINNED = [
    ("long", "2024-03-01T05:50:00+00:00", "sl", "-25.7868", False),
    ("long", "2024-03-01T06:20:00+00:00", "sl", "-25.7971", False),
    ("long", "2024-03-01T06:40:00+00:00", "tp3", "46.8064", True),
    ("long", "2024-03-01T08:00:00+00:00", "tp3", "46.4109", True),
    ("long", "2024-03-01T09:35:00+00:00", "tp3", "46.3063", True),
    ("long", "2024-03-01T10:40:00+00:00", "tp3", "46.6409", True),
    ("long", "2024-03-01T12:20:00+00:00", "tp3", "45.5487", True),
    ("long", "2024-03-01T16:00:00+00:00", "tp3", "46.1473", True),
    ("long", "2024-03-01T17:45:00+00:00", "sl", "-6.5503", True),
    ("short", "2024-03-01T20:15:00+00:00", "tp3", "45.8040", True),
]


def _summary(trades):  # type: ignore[no-untyped-def]
    return [(t.side.value, t.opened_at.isoformat(), t.exit_reason, str(t.pnl_usd.quantize(Q)), t.tp1_first)
            for t in trades]  # fmt: skip


def test_a_fixed_series_gives_the_pinned_trades_every_time() -> None:
    candles = trending_walk(3000, seed=42)
    first = run_backtest(candles, BacktestConfig())
    again = run_backtest(candles, BacktestConfig())
    assert _summary(first.trades) == _summary(again.trades)
    assert [t.model_dump() for t in first.trades] == [t.model_dump() for t in again.trades]
    assert _summary(first.trades)[:10] == PINNED
    assert first.book_mode == "approximated"
    assert first.approximated_books == first.judged_bars > 0


def test_the_report_names_its_approximations_and_scores_p_win(tmp_path: Path) -> None:
    result = run_backtest(trending_walk(2000, seed=1), BacktestConfig())
    report = build_report([result], BacktestConfig(), Decimal("0.5"))
    assert report["book_mode"] == "approximated"
    assert any("book conditions" in a for a in report["approximations"])
    overall = report["overall"]
    assert overall["trades"] == len(result.trades) > 0
    assert report["p_win"]["brier_constant_prior"] == str(Decimal("0.25").quantize(Q))
    assert sum(b["trades"] for b in report["p_win"]["reliability"]) == len(result.trades)
    write_report(tmp_path / "run", report, result.trades, Decimal(1000))
    assert json.loads((tmp_path / "run" / "report.json").read_text())["overall"] == overall
    assert (tmp_path / "run" / "equity.svg").read_text().startswith("<svg")
    assert len((tmp_path / "run" / "trades.csv").read_text().splitlines()) == len(result.trades) + 1


def test_brier_score_is_the_mean_squared_error() -> None:
    assert brier_score([Decimal("0.8"), Decimal("0.2")], [True, False]) == Decimal("0.04")
    assert brier_score([], []) is None


def _csv(path: Path, rows: list[tuple[int, str, str, str, str, str]]) -> Path:
    path.write_text(
        "timestamp,open,high,low,close,volume\n" + "".join(",".join(map(str, r)) + "\n" for r in rows)
    )
    return path


def test_one_minute_bars_are_resampled_to_complete_five_minute_buckets(tmp_path: Path) -> None:
    t0 = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)
    minute = 60_000
    rows = [(t0 + i * minute, "10", str(11 + i), "9", str(10 + i / 10), "2") for i in range(10)]
    rows = [r for i, r in enumerate(rows) if i != 7]  # the second bucket misses a minute: dropped
    candles = read_csv(_csv(tmp_path / "m1.csv", rows), "BTCUSDT")
    assert len(candles) == 1
    (c,) = candles
    assert c.start == datetime(2024, 1, 1, tzinfo=UTC)
    assert c.end - c.start == timedelta(minutes=5)
    assert (c.open, c.high, c.low, c.close, c.volume) == (
        Decimal(10), Decimal(15), Decimal(9), Decimal("10.4"), Decimal(10),
    )  # fmt: skip
    assert resample_to_5m([]) == []


def test_a_bad_row_is_refused_naming_its_line(tmp_path: Path) -> None:
    t0 = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())
    rows = [(t0, "10", "11", "9", "10", "1"), (t0 + 300, "10", "9", "11", "10", "1")]  # high < low
    with pytest.raises(DataError, match="high_ge_low"):
        read_csv(_csv(tmp_path / "bad.csv", rows), "BTCUSDT")
    with pytest.raises(DataError, match=":3:"):
        read_csv(
            _csv(
                tmp_path / "nan.csv", [(t0, "10", "11", "9", "10", "1"), (t0 + 300, "x", "1", "1", "1", "1")]
            ),
            "BTCUSDT",
        )


def test_skipping_bars_inside_a_trades_watch_changes_no_trade() -> None:
    # the runner skips bars strictly inside a trade's watch; simulate_trade folds every later bar
    candles = trending_walk(3000, seed=42)
    config = BacktestConfig()
    result = run_backtest(candles, config)
    assert len(result.trades) == len(result.signals) > 20
    for signal, trade in zip(result.signals, result.trades, strict=True):
        assert simulate_trade(signal, candles, config.fill, config.risk_per_trade_usd) == trade
