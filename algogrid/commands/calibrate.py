"""``algogrid calibrate``: walk-forward θ*(h) and p_win statistics from stored klines (S-05).

    algogrid calibrate --start-date 2026-01-01 --end-date 2026-07-29 [--force] [--symbols BTCUSDT,ETHUSDT]

Defaults: the last ``calibration.model.window_days`` days up to yesterday (UTC), every configured symbol.
Refused (exit 0, nothing written) when a run started less than ``schedule_days`` ago, unless ``--force``.
Runs in its own process — the engine's signal generation is never blocked — shows a progress bar, stores the
run as a new version (who, when, the data range, OOS metrics) that running SignalActors pick up without a
restart, and prints the run's summary as JSON.

Exit codes: 0 done or not due, 1 storage or data failure, 2 bad configuration or arguments.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any

import trio
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from algogrid.calibration_job import CalibrationNotDueError, run_calibration
from algogrid.commands import Subparsers
from algogrid.commands.bootstrap import EXIT_CONFIG, add_config_argument, load_or_report, servers_and_schema
from storage import StorageError, open_storage

__all__ = ["register", "run"]

EXIT_FAILED = 1


def register(subparsers: Subparsers) -> None:
    """Add the ``calibrate`` sub-command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "calibrate", help="walk-forward θ*(h) per hour and p_win statistics from stored klines (S-05)"
    )
    add_config_argument(parser)
    parser.add_argument("--start-date", type=date.fromisoformat, help="first day (UTC, YYYY-MM-DD)")
    parser.add_argument("--end-date", type=date.fromisoformat, help="last day, inclusive (UTC)")
    parser.add_argument("--force", action="store_true", help="run even if the last run is recent")
    parser.add_argument("--symbols", help="comma-separated symbols (default: settings)")
    parser.add_argument("--by", default=None, help="who runs it, for the version record (default: OS user)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the calibration and return the exit code."""
    settings = load_or_report(args.config)
    if settings is None:
        return EXIT_CONFIG
    model = settings.calibration.model
    end = args.end_date or (datetime.now(UTC).date() - timedelta(days=1))
    start = args.start_date or (end - timedelta(days=model.window_days - 1))
    if end < start:
        print("calibrate: expected --end-date on or after --start-date", file=sys.stderr)
        return EXIT_CONFIG
    symbols = args.symbols.split(",") if args.symbols else list(settings.symbols)
    by = args.by or f"cli:{getpass.getuser()}"
    columns = (TextColumn("calibration"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    failure: str | None = None
    summary: dict[str, Any] | None = None
    code = 0
    try:
        with servers_and_schema(settings) as urls, Progress(*columns) as progress:
            task = progress.add_task("days", total=((end - start).days + 1) * len(symbols))

            async def main() -> dict[str, Any]:
                config = settings.storage.model_copy(update={"pool_min_size": 1, "pool_max_size": 2})
                async with open_storage(config, urls) as storage:
                    return await run_calibration(
                        storage, symbols, start=start, end=end, force=args.force, by=by,
                        strategy=settings.strategy, config=model,
                        slippage_base_pct=settings.execution.slippage_base_pct,
                        progress=lambda n: progress.advance(task, n),
                    )  # fmt: skip

            summary = trio.run(main)
    except* CalibrationNotDueError as group:  # trio may wrap errors in nursery exception groups
        print(json.dumps({"ran": False, "reason": str(group.exceptions[0])}))
    except* ValueError as group:
        failure, code = f"calibrate: {group.exceptions[0]}", EXIT_CONFIG
    except* StorageError as group:
        failure, code = f"calibrate: storage failed: {group.exceptions[0]}", EXIT_FAILED
    if failure is not None:
        print(failure, file=sys.stderr)
    elif summary is not None:
        print(json.dumps({"ran": True, **summary}, default=str))
    return code
