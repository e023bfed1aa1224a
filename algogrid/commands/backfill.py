"""``algogrid backfill``: page the exchange's 5m klines of a date range into ``klines_5m`` (P-05, P-06).

    algogrid backfill --symbol BTCUSDT [--symbol ETHUSDT …] --start-date 2026-01-01 --end-date 2026-06-30
    algogrid backfill --all --start-date 2026-01-01 --end-date 2026-06-30

The days are UTC and both are included; a range ending today stops at the bar still open. The exchange is
the configured one: Bybit (``exchange.rest_url``: testnet in paper mode, mainnet in live mode) or, in
simulation mode, the built-in simulator started for the range (its seeded market generates the range as
history: the same ``--start-date`` and seed give the same bars; at most ``MAX_HISTORY_BARS``). Every page
draws a ``rest_read`` token from the Redis-backed limiter the engine shares (E-08). Resumable: a re-run (or
a run after an interruption) fetches only the bars still missing and never stores one twice. Shows a
progress bar and prints a JSON summary per symbol.

Exit codes: 0 done, 1 exchange or storage failure, 2 bad configuration or arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import trio
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from actors import RestBarHistory
from algogrid.backfill_job import BAR_MS, BackfillRange, SymbolBackfill, run_backfill
from algogrid.commands import Subparsers
from algogrid.commands.bootstrap import EXIT_CONFIG, add_config_argument, load_or_report, servers_and_schema
from algogrid.settings import WHITELIST, Settings
from exchange import BybitRestClient, ExchangeConfig, ExchangeError
from exchange.simulator import MAX_HISTORY_BARS, open_simulator
from storage import Storage, StorageError, open_storage

__all__ = ["register", "run"]

EXIT_FAILED = 1


def register(subparsers: Subparsers) -> None:
    """Add the ``backfill`` sub-command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "backfill", help="store the exchange's 5m klines of a date range (resumable, rate-limited)"
    )
    add_config_argument(parser)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--symbol", action="append", dest="symbols", help="a symbol (repeat for several)")
    which.add_argument("--all", action="store_true", help="every configured symbol")
    parser.add_argument("--start-date", required=True, type=_day, help="first day (UTC, YYYY-MM-DD)")
    parser.add_argument("--end-date", required=True, type=_day, help="last day, inclusive (UTC)")
    parser.set_defaults(func=run)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _symbols(args: argparse.Namespace, settings: Settings) -> list[str]:
    """Return the requested symbols, upper-cased and de-duplicated in order (ValueError when unknown)."""
    chosen = list(settings.symbols) if args.all else list(dict.fromkeys(s.upper() for s in args.symbols))
    unknown = [s for s in chosen if s not in WHITELIST]
    if unknown:
        raise ValueError(f"expected symbols from the P-08 whitelist, got unknown {', '.join(unknown)}")
    return chosen


def _span(start: date, end: date, now: datetime, mode: str) -> BackfillRange:
    """Return the range of closed bars of the days ``start``..``end`` (ValueError on bad dates)."""
    today = now.date()
    if end < start:
        raise ValueError(f"expected --end-date on or after --start-date {start}, got {end}")
    if end > today:
        raise ValueError(f"expected dates up to today ({today}, UTC), got --end-date {end} in the future")
    first = datetime.combine(start, time(0), tzinfo=UTC)
    span = BackfillRange.of_days(first, datetime.combine(end + timedelta(days=1), time(0), tzinfo=UTC),
                                 int(now.timestamp() * 1000))  # fmt: skip
    if mode == "simulation" and span.bars > MAX_HISTORY_BARS:
        raise ValueError(
            f"expected at most {MAX_HISTORY_BARS // 288} days in simulation mode (the simulator's history), "
            f"got {span.bars // 288}"
        )
    return span


@asynccontextmanager
async def _exchange(
    settings: Settings, symbols: Sequence[str], span: BackfillRange
) -> AsyncIterator[ExchangeConfig]:
    """Yield the exchange to read: the configured Bybit, or a simulator that generated ``span`` as history."""
    if settings.mode != "simulation":
        yield settings.exchange
        return
    config = settings.simulator.model_copy(
        update={"symbols": tuple(symbols), "start_time_ms": span.end_ms, "history_bars": span.bars}
    )
    async with open_simulator(config) as sim:
        sim.clock.pause()  # the market stands still at the range's end: no bar closes while it is read
        yield settings.exchange.model_copy(update={"rest_url": sim.rest_url})


async def _backfill(
    settings: Settings, storage: Storage, symbols: Sequence[str], span: BackfillRange, progress: Progress
) -> list[SymbolBackfill]:
    task = progress.add_task("bars", total=span.bars * len(symbols))
    async with (
        _exchange(settings, symbols, span) as exchange_config,
        # The engine's kind of client: public calls only, every page a token of the shared ``rest_read``.
        BybitRestClient.with_shared_limits(exchange_config, storage.redis) as rest,
    ):
        return await run_backfill(
            RestBarHistory(rest), storage.klines, symbols, span,
            source="simulator" if settings.mode == "simulation" else "rest",
            progress=lambda n: progress.advance(task, n),
        )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Run the backfill and return the exit code."""
    settings = load_or_report(args.config)
    if settings is None:
        return EXIT_CONFIG
    try:
        symbols = _symbols(args, settings)
        span = _span(args.start_date, args.end_date, datetime.now(UTC), settings.mode)
    except ValueError as exc:
        print(f"backfill: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    failure: str | None = None
    reports: list[SymbolBackfill] = []
    columns = (TextColumn("backfill"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        with servers_and_schema(settings) as urls, Progress(*columns) as progress:

            async def main() -> list[SymbolBackfill]:
                config = settings.storage.model_copy(update={"pool_min_size": 1, "pool_max_size": 2})
                async with open_storage(config, urls) as storage:
                    return await _backfill(settings, storage, symbols, span, progress)

            reports = trio.run(main)
    except* ExchangeError as group:  # trio may wrap errors in nursery exception groups
        failure = f"backfill: exchange failed: {group.exceptions[0]}"
    except* StorageError as group:
        failure = f"backfill: storage failed: {group.exceptions[0]}"
    if failure is not None:
        print(failure, file=sys.stderr)
        return EXIT_FAILED
    for report in reports:
        print(json.dumps(_summary(report, span)))
    return 0


def _summary(report: SymbolBackfill, span: BackfillRange) -> dict[str, Any]:
    first = datetime.fromtimestamp(span.start_ms / 1000, UTC)
    last = datetime.fromtimestamp((span.end_ms - BAR_MS) / 1000, UTC)
    return {
        **asdict(report),
        "missing": report.missing,
        "first_bar": first.isoformat(),
        "last_bar": last.isoformat(),
    }
