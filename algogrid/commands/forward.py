"""``algogrid forward status|evaluate|abort``: the forward-validation phase (S-07).

``status`` prints the newest phase's progress ("X/30 days") and metrics so far; ``evaluate`` also
judges a phase that ran ``min_days`` (passed or failed, audited with its metrics; the gate reads that);
``abort`` ends a running phase as aborted. A phase starts with ``algogrid run`` when ``forward.enabled``.

Exit codes: 0 done, 1 storage failure, 2 bad configuration or arguments.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, datetime
from typing import Any

import trio

from algogrid.commands import Subparsers
from algogrid.commands.bootstrap import EXIT_CONFIG, add_config_argument, load_or_report, servers_and_schema
from algogrid.forward_gate import evaluate_forward
from storage import StorageError, open_storage
from strategy_core import FillModel

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    """Add the ``forward`` sub-command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "forward", help="show, judge or abort the forward-validation phase (S-07)"
    )
    add_config_argument(parser)
    parser.add_argument("action", choices=("status", "evaluate", "abort"))
    parser.add_argument("--reason", default="", help="with abort: why (audited)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the command and return the exit code."""
    settings = load_or_report(args.config)
    if settings is None:
        return EXIT_CONFIG
    by = f"cli:{getpass.getuser()}"
    fill = FillModel(
        slippage_base_pct=settings.execution.slippage_base_pct, tp_split=settings.execution.tp_split
    )

    async def main() -> dict[str, Any]:
        config = settings.storage.model_copy(update={"pool_min_size": 1, "pool_max_size": 2})
        async with open_storage(config, urls) as storage:
            now = datetime.now(UTC)
            if args.action == "abort":
                phase = await storage.forward.latest()
                if phase is None or phase.status != "running":
                    return {"aborted": False, "reason": "no running phase"}
                await storage.forward.decide(phase.id, "aborted", now, {}, [args.reason or "aborted"], by)
                return {"aborted": True, "phase_id": phase.id}
            report = await evaluate_forward(
                storage, settings.forward, fill, settings.risk.risk_per_trade_usd, now,
                decide=args.action == "evaluate", by=by,
            )  # fmt: skip
            return report.model_dump(mode="json")

    failure: str | None = None
    output: dict[str, Any] = {}
    try:
        with servers_and_schema(settings) as urls:
            output = trio.run(main)
    except* StorageError as group:  # trio may wrap errors in nursery exception groups
        failure = str(group.exceptions[0])
    if failure is not None:
        print(f"forward: storage failed: {failure}", file=sys.stderr)
        return 1
    print(json.dumps(output, indent=2))
    return 0
