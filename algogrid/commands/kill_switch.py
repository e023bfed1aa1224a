"""``algogrid kill-switch on|off|status``: engage, release or show the kill switch (R-04).

Writes go to PostgreSQL (the source of truth, with an audit row naming who and why) and to the Redis mirror,
exactly as the RiskActor writes them; a running engine notices the change within its ``state_poll_s``.
Release (``off``) is the explicit operator action R-04 requires; both ``on`` and ``off`` need ``--reason``.

In live mode, ``off`` enables trading and is refused (with the reason, audited) unless the newest forward
phase passed (S-07).

Exit codes: 0 done (or nothing to change), 1 storage failure, 2 bad configuration or arguments, 3 refused.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys
from typing import Any

import orjson
import structlog
import trio

from actors.risk import KillSwitchCommandError
from algogrid.commands import Subparsers
from algogrid.commands.bootstrap import EXIT_CONFIG, add_config_argument, load_or_report
from storage import (
    ChangeSource,
    ServerUrls,
    StorageConfig,
    StorageError,
    TradingStateRecord,
    open_storage,
    start_servers,
)
from strategy_core import TradingState

__all__ = ["register", "run"]

log = structlog.get_logger(__name__)

EXIT_STORAGE = 1
EXIT_REFUSED = 3
_STATES = {"halted": TradingState.HALTED, "reducing": TradingState.REDUCING}


def register(subparsers: Subparsers) -> None:
    """Add the ``kill-switch`` sub-command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "kill-switch", help="engage, release or show the kill switch (R-04)"
    )
    add_config_argument(parser)
    parser.add_argument("action", choices=("on", "off", "status"), help="engage, release, or show")
    parser.add_argument("--reason", default="", help="why (required for on and off; kept in the audit trail)")
    parser.add_argument(
        "--state",
        choices=sorted(_STATES),
        default="halted",
        help="with 'on': HALTED approves nothing, REDUCING lets positions be exited (default: %(default)s)",
    )
    parser.add_argument("--by", default=None, help="operator name for the audit trail (default: OS user)")
    parser.add_argument("--history", type=int, default=5, help="with 'status': audit rows to show")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the command and return the exit code."""
    try:
        record = _requested(args)
    except KillSwitchCommandError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    settings = load_or_report(args.config)
    if settings is None:
        return EXIT_CONFIG
    output: dict[str, Any] = {}
    failure: str | None = None
    try:
        with start_servers(settings.storage) as urls:
            output = trio.run(_execute, settings.storage, urls, record, args.history, settings.mode)
    except* StorageError as group:  # trio may wrap them in nursery exception groups
        failure = "; ".join(str(exc) for exc in group.exceptions)
    if failure is not None:
        print(f"kill-switch: storage unavailable: {failure}", file=sys.stderr)
        return EXIT_STORAGE
    print(orjson.dumps(output, option=orjson.OPT_INDENT_2).decode())
    return EXIT_REFUSED if "refused" in output else 0


def _requested(args: argparse.Namespace) -> TradingStateRecord | None:
    """Return the record an ``on``/``off`` asks for (``None`` for ``status``)."""
    if args.action == "status":
        return None
    reason = args.reason.strip()
    if not reason:
        raise KillSwitchCommandError(f"expected --reason for 'kill-switch {args.action}', got none")
    by = f"cli:{args.by or getpass.getuser()}"
    now = dt.datetime.now(dt.UTC)
    if args.action == "on":
        state, engaged = _STATES[args.state], True
    else:
        state, engaged = TradingState.ACTIVE, False
    return TradingStateRecord(
        state=state,
        kill_switch=engaged,
        reason=reason,
        changed_by=by,
        source=ChangeSource.OPERATOR,
        changed_at=now,
    )


async def _execute(
    config: StorageConfig, urls: ServerUrls, requested: TradingStateRecord | None, history: int, mode: str
) -> dict[str, Any]:
    async with open_storage(
        config.model_copy(update={"pool_min_size": 1, "pool_max_size": 2}), urls
    ) as storage:
        if mode == "live" and requested is not None and not requested.kill_switch:
            # enabling trading in live mode needs a passed forward phase (S-07)
            from algogrid.forward_gate import check_live_start

            decision = await check_live_start(storage, "kill_switch_off", requested.changed_by)
            if not decision.allowed:
                return {"changed": False, "refused": decision.reason}
        store = storage.kill_switch
        current = await store.load_trading_state(dt.datetime.now(dt.UTC))
        changed = False
        if requested is not None and (requested.state, requested.kill_switch) != (
            current.state,
            current.kill_switch,
        ):
            await store.save_trading_state(requested)
            log.warning(
                "kill switch changed by operator",
                state=requested.state.name,
                kill_switch=requested.kill_switch,
                by=requested.changed_by,
                reason=requested.reason,
            )
            current, changed = requested, True
        mirror = await store.read_mirror()
        rows = await store.audit_history(limit=history)
    return {
        "changed": changed,
        "state": current.state.name,
        "kill_switch": current.kill_switch,
        "reason": current.reason,
        "changed_by": current.changed_by,
        "source": current.source.value,
        "changed_at": current.changed_at.isoformat(),
        "mirror": mirror,
        "history": [{**row, "at": row["at"].isoformat()} for row in rows],
    }
