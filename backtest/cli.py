"""``algogrid-backtest``: replay klines (a CSV file or PostgreSQL) through strategy_core and the fill model.

    algogrid-backtest --csv data/BTCUSDT_1m.csv --symbol BTCUSDT --out var/backtest/btc
    algogrid-backtest --symbols BTCUSDT,ETHUSDT --start-date 2026-01-01 --end-date 2026-07-01

With ``--csv`` the file's bars are replayed (1m resampled to 5m); otherwise ``klines_5m`` is read for each
symbol. The θ map and p_win statistics in force (the newest calibration, S-05) are used when storage is
reachable and ``--theta-global`` is not given. The report goes to ``--out`` (``report.json``,
``trades.csv``, ``equity.svg``) and, unless ``--no-store``, to ``backtest_runs``/``backtest_trades``. A
progress bar (rich) counts the bars; the last stdout line is the overall metrics as JSON.

This module is the backtest's own entry point (S-06, Q-07): the live service never imports it.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import trio
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from backtest.config import BacktestConfig
from backtest.data import read_csv
from backtest.errors import BacktestError
from backtest.report import build_report, write_report
from backtest.runner import BacktestResult, run_backtest
from strategy_core import CalibrationStats, ConfirmedCandle, FillModel, ThetaMap

__all__ = ["build_parser", "main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _day(text: str) -> datetime:
    return datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)


def build_parser() -> argparse.ArgumentParser:
    """Return the command line of ``algogrid-backtest``."""
    parser = argparse.ArgumentParser(prog="algogrid-backtest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=Path("config/settings.yaml"), help="settings YAML")
    parser.add_argument("--csv", type=Path, help="kline CSV (timestamp,open,high,low,close,volume; 1m or 5m)")
    parser.add_argument("--symbol", help="the CSV's symbol")
    parser.add_argument("--symbols", help="comma-separated symbols read from storage (default: settings)")
    parser.add_argument("--start-date", type=_day, help="first day replayed (UTC, YYYY-MM-DD)")
    parser.add_argument("--end-date", type=_day, help="day after the last one replayed (UTC)")
    parser.add_argument("--out", type=Path, help="report folder (default: var/backtest/<UTC stamp>)")
    parser.add_argument("--no-store", action="store_true", help="do not write the run to PostgreSQL")
    parser.add_argument("--theta-global", action="store_true", help="ignore calibration: θ_global everywhere")
    return parser


def _settings(path: Path) -> Any:
    from algogrid.commands.bootstrap import load_or_report

    return load_or_report(path)


def replay(
    series: Sequence[Sequence[ConfirmedCandle]],
    config: BacktestConfig,
    theta_maps: dict[str, ThetaMap],
    stats: dict[str, CalibrationStats],
) -> list[BacktestResult]:
    """Replay each symbol's candles with a progress bar on stderr."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    results: list[BacktestResult] = []
    with Progress(*columns, transient=False, redirect_stdout=False) as progress:
        task = progress.add_task("bars", total=sum(len(s) for s in series))
        for candles in series:
            if not candles:
                continue
            symbol = candles[0].symbol
            progress.update(task, description=symbol)
            results.append(
                run_backtest(
                    candles,
                    config,
                    theta_map=theta_maps.get(symbol),
                    calibration=stats.get(symbol),
                    progress=lambda n: progress.advance(task, n),
                )
            )
    return results


async def _load(settings: Any, symbols: Sequence[str], args: argparse.Namespace) -> tuple[Any, ...]:
    from storage import open_storage

    series: list[list[ConfirmedCandle]] = []
    async with open_storage(settings.storage.model_copy(update={"pool_min_size": 1})) as storage:
        start = args.start_date or datetime(2000, 1, 1, tzinfo=UTC)
        end = args.end_date or datetime.now(UTC)
        for symbol in symbols:
            rows = await storage.klines.between(symbol, start, end)
            series.append([ConfirmedCandle(**{**r.__dict__}) for r in _with_end(rows)])
        active = None if args.theta_global else await storage.calibration.load_active(ThetaMap().default)
    return series, active


def _with_end(rows: Sequence[Any]) -> list[Any]:
    from strategy_core import FIVE_MINUTES

    class _Row:
        def __init__(self, r: Any) -> None:
            self.__dict__ = {
                "symbol": r.symbol, "start": r.start, "end": r.start + FIVE_MINUTES, "open": r.open,
                "high": r.high, "low": r.low, "close": r.close, "volume": r.volume, "turnover": r.turnover,
            }  # fmt: skip

    return [_Row(r) for r in rows]


async def _store(
    settings: Any, args: argparse.Namespace, symbols: Sequence[str], report: Any, trades: Any
) -> str:
    from storage import open_storage

    async with open_storage(settings.storage.model_copy(update={"pool_min_size": 1})) as storage:
        return await storage.backtests.save(
            f"cli:{getpass.getuser()}", "csv" if args.csv else "postgres", symbols, args.start_date,
            args.end_date, str(args.out), report, trades,
        )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Run a backtest and return the exit code (0 done, 1 data or storage failure, 2 usage)."""
    args = build_parser().parse_args(argv)
    if args.csv is not None and not args.symbol:
        print("algogrid-backtest: --csv needs --symbol", file=sys.stderr)
        return EXIT_USAGE
    settings = _settings(args.config)
    if settings is None:
        return EXIT_USAGE
    config = BacktestConfig(
        strategy=settings.strategy,
        risk_per_trade_usd=settings.risk.risk_per_trade_usd,
        fill=FillModel(
            slippage_base_pct=settings.execution.slippage_base_pct, tp_split=settings.execution.tp_split
        ),
    )
    args.out = args.out or Path("var/backtest") / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    theta_maps: dict[str, ThetaMap] = {}
    stats: dict[str, CalibrationStats] = {}
    try:
        if args.csv is not None:
            symbols = [args.symbol]
            series = [read_csv(args.csv, args.symbol, start=args.start_date, end=args.end_date)]
        else:
            symbols = args.symbols.split(",") if args.symbols else list(settings.symbols)
            series, active = trio.run(_load, settings, symbols, args)
            if active is not None:
                theta_maps, stats = dict(active.theta_maps), dict(active.stats)
        results = replay(series, config, theta_maps, stats)
        prior = config.strategy.prior_alpha / (config.strategy.prior_alpha + config.strategy.prior_beta)
        report = build_report(results, config, prior)
        trades = [t for r in results for t in r.trades]
        write_report(args.out, report, trades, config.starting_equity_usd)
        if not args.no_store:
            report["run_id"] = trio.run(_store, settings, args, symbols, report, trades)
    except BacktestError as exc:
        print(f"algogrid-backtest: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps({"out": str(args.out), **report["overall"], "book_mode": report["book_mode"]}))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
