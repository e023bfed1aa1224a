"""``algogrid run``: start servers (embedded unless configured), migrate, run the engine until a signal.

Sequence: settings (exit 2 on a bad value) → logging → PostgreSQL/Redis (embedded under ``var/`` unless
``DATABASE_URL``/``REDIS_URL``) → ``alembic upgrade head`` → storage → ``algogrid.engine.serve`` when the
module exists → one JSON ``ready`` line. SIGINT or SIGTERM cancels everything in reverse order, writes a final
``audit_trail`` entry (O-03) and logs ``stopped`` as the last line; the exit code is 0.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
import trio

from algogrid.commands.bootstrap import EXIT_CONFIG, add_config_argument, load_or_report, servers_and_schema
from algogrid.settings import Settings
from storage import ServerUrls, Storage, StorageError, open_storage

__all__ = ["register", "run"]

log = structlog.get_logger(__name__)

EngineServe = Callable[..., Awaitable[None]]


def register(subparsers: Any) -> None:
    """Add the ``run`` sub-command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "run", help="start storage, migrate and run the system until SIGINT/SIGTERM"
    )
    add_config_argument(parser)
    parser.add_argument(
        "--no-engine", action="store_true", help="start storage only (no actors, no exchange): ops checks"
    )
    parser.set_defaults(func=run)


def _engine_entry(enabled: bool) -> EngineServe | None:
    if not enabled:
        return None
    try:
        module = importlib.import_module("algogrid.engine")
    except ModuleNotFoundError as exc:
        if exc.name == "algogrid.engine":
            return None
        raise
    serve: EngineServe = module.serve
    return serve


async def _audit(storage: Storage, action: str, details: dict[str, Any]) -> None:
    try:
        await storage.db.execute(
            "INSERT INTO audit_trail (actor_label, action, details) VALUES ('system', $1, $2)",
            action,
            details,
        )
    except StorageError:
        log.warning("audit write failed", action=action, exc_info=True)


async def _main(settings: Settings, urls: ServerUrls, serve: EngineServe | None, started: float) -> str:
    """Run until SIGINT/SIGTERM and return the signal's name."""
    received = "none"
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with open_storage(settings.storage, urls) as storage:
            async with trio.open_nursery() as nursery:
                engine = None
                if serve is not None:
                    engine = await nursery.start(serve, settings, storage)
                await _audit(storage, "system_started", {"mode": settings.mode})
                log.info(
                    "ready",
                    mode=settings.mode,
                    symbols=len(settings.symbols),
                    engine="running" if engine is not None else "disabled",
                    data_dir=str(settings.storage.data_dir.resolve()),
                    log_file=str(settings.logging.file) if settings.logging.file else None,
                    seconds_to_ready=round(time.monotonic() - started, 3),
                )
                async for signum in signals:
                    received = signal.Signals(signum).name
                    log.info("stopping", signal=received)
                    break
                nursery.cancel_scope.cancel()
            with trio.CancelScope(shield=True):
                await _audit(storage, "system_stopped", {"signal": received})
    return received


def run(args: argparse.Namespace) -> int:
    """Run the system and return the exit code (0 after a clean signal-driven stop)."""
    started = time.monotonic()
    settings = load_or_report(args.config)
    if settings is None:
        return EXIT_CONFIG
    serve = _engine_entry(not args.no_engine)
    log.info("starting", mode=settings.mode, engine=serve is not None)
    with servers_and_schema(settings) as urls:
        received = trio.run(_main, settings, urls, serve, started)
    log.info("stopped", signal=received)
    return 0
