"""``algogrid run``: storage, schema, the engine and the gateway in one process until SIGINT/SIGTERM.

Sequence: settings (exit 2 on a bad value; ``--host``/``--port``/``--data-dir``/``--dev`` win over every
other source) → logging → PostgreSQL/Redis (embedded under the data dir unless ``DATABASE_URL``/
``REDIS_URL``) → ``alembic upgrade head`` → storage → the engine (``algogrid.engine.serve`` with a
``SignalFeed`` as its publisher) → the gateway (``serve_gateway``: hypercorn on trio, same trio run) → one
JSON ``ready`` line naming the UI, API and supervision URLs.

Shutdown (O-03) on the first SIGINT or SIGTERM, by triggers, innermost first: the gateway stops accepting
and finishes in-flight requests (≤ ``gateway.graceful_timeout_s``, 30 s; SSE streams are closed), then the
engine stops (session, actor tree in reverse start order without blocking the trio thread, work queue,
simulator), a final ``audit_trail`` row is written, storage closes and
``stopped`` is the last log line; the exit code is 0. A failed supervision root exits 1.

Live mode without ``forward.enabled`` starts only after a passed forward phase (S-07): otherwise the run is
refused at start-up with the reason (audited) and exits 2. With ``forward.enabled`` a forward phase runs
(started if none runs): signals on the live market, no order sent.

``--no-engine`` starts storage only (ops checks): no actors, no exchange, no gateway.
"""

from __future__ import annotations

import argparse
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

import structlog
import trio
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric

from actors import EngineError
from algogrid.commands.bootstrap import EXIT_CONFIG, add_config_argument, load_or_report, servers_and_schema
from algogrid.config_reload import ConfigReloader, risk_asker
from algogrid.engine_metrics import EngineCollector, QueryTimings
from algogrid.logging_setup import register_secret
from algogrid.settings import Settings
from ops import Archiver, MaintenanceService, OpsMetrics
from storage import ServerUrls, Storage, StorageError, open_storage
from storage.retention import RetentionRepository

__all__ = ["EXIT_ENGINE_FAILED", "register", "run"]

log = structlog.get_logger(__name__)

EXIT_ENGINE_FAILED = 1

EngineServe = Callable[..., Awaitable[None]]


def register(subparsers: Any) -> None:
    """Add the ``run`` sub-command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "run", help="start storage, migrate, run the engine and the gateway until SIGINT/SIGTERM"
    )
    add_config_argument(parser)
    parser.add_argument(
        "--host",
        help="gateway address (default: gateway.host, 127.0.0.1)",
    )
    parser.add_argument("--port", type=int, help="gateway port (0 picks a free one; default: gateway.port)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="where embedded PostgreSQL/Redis keep their data (default: storage.data_dir)",
    )
    parser.add_argument(
        "--dev", action="store_true", help="developer mode: enable fault injection (POST /admin/faults)"
    )
    parser.add_argument(
        "--no-engine", action="store_true", help="start storage only (no actors, no exchange): ops checks"
    )
    parser.set_defaults(func=run)


def overrides_of(args: argparse.Namespace) -> dict[str, Any]:
    """Return the settings overrides of the CLI flags (nested sections are merged, not replaced)."""
    overrides: dict[str, Any] = {}
    gateway = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if gateway:
        overrides["gateway"] = gateway
    if args.data_dir is not None:
        overrides["storage"] = {"data_dir": args.data_dir}
    if args.dev:
        overrides["dev"] = {"fault_injection": True}
    return overrides


async def _audit(storage: Storage, action: str, details: dict[str, Any]) -> None:
    try:
        await storage.audit.append(action, details)
    except StorageError:
        log.warning("audit write failed", action=action, exc_info=True)


class _RegistryView:
    """A Prometheus collector exposing another registry's metrics (the risk room's, on ``/metrics``)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterable[Metric]:
        """Yield every metric of the wrapped registry."""
        return self._registry.collect()

    def describe(self) -> Iterable[Metric]:
        """Describe nothing: the wrapped registry already checked its names."""
        return ()


async def _with_overrides(settings: Settings, storage: Storage) -> Settings:
    """Return ``settings`` with the ``PATCH /config`` overrides stored in PostgreSQL folded in (O-02)."""
    from algogrid.admin_wiring import apply_overrides

    overrides = await storage.runtime_config.load()
    if overrides:
        log.info("config overrides applied", sections=sorted(overrides))
    applied: Settings = apply_overrides(settings, overrides)
    return applied


async def _first_admin(settings: Settings, storage: Storage, url: str) -> None:
    """On a fresh install (no user at all), print a one-time activation link for the first admin (U-02).

    The link goes to stdout only (never to the log); it is valid ``auth.activation_ttl_hours`` and works once.
    """
    from algogrid.auth_wiring import FIRST_ADMIN_EMAIL, ensure_first_admin

    base = settings.auth.public_url or url
    link = await ensure_first_admin(storage, base, settings.auth.activation_ttl_hours)
    if link is not None:
        log.info("first admin created: activation link printed on stdout", email=FIRST_ADMIN_EMAIL)
        print(
            f"First admin {FIRST_ADMIN_EMAIL}: activate at {link} (valid "
            f"{settings.auth.activation_ttl_hours} h, shown once)",
            flush=True,
        )


async def _first_stop_signal(signals: AsyncIterator[int]) -> str:
    async for signum in signals:
        return signal.Signals(signum).name
    return "none"


def _urls(base: str) -> dict[str, str]:
    return {
        "url": base,
        "ui": f"{base}/ui",
        "api": f"{base}/openapi.json",
        "signals": f"{base}/signals",
        "supervision": f"{base}/admin/supervision",
    }


async def _run_system(  # noqa: PLR0917 - private, called from _main only
    settings: Settings,
    storage: Storage,
    serve: EngineServe,
    signals: AsyncIterator[int],
    started: float,
    ops_metrics: OpsMetrics,
    reload_from: tuple[Path | None, dict[str, Any]],
) -> str:
    """Run engine and gateway until the first stop signal; return its name after an orderly stop.

    The engine's nursery owns the gateway's: the gateway drains first (its trigger), then the engine stops
    (its trigger), each in its own order; nothing is shielded and nothing is cancelled from outside.
    """
    from algogrid.gateway_wiring import serve_gateway  # the gateway stack is only needed with an engine
    from gateway import SignalFeed
    from storage import Topic

    # Signals, positions and reconciliation passes are announced by the storage write that changes them (same
    # transaction, G-03); the feed writes the other events (break-even alerts, metrics) to the outbox alone.
    feed = SignalFeed(announced=Topic.with_state())
    stop_engine, stop_gateway = trio.Event(), trio.Event()
    async with trio.open_nursery() as engine_scope:
        engine = await engine_scope.start(
            partial(serve, settings, storage, publisher=feed, shutdown_trigger=stop_engine.wait)
        )
        assert engine.risk_limits is not None
        reloader = ConfigReloader(
            settings, reload_from[0], storage.audit, risk_asker(engine, settings.gateway.ask_timeout_s),
            engine.risk_limits, overrides=reload_from[1],
        )
        async with trio.open_nursery() as gateway_scope:
            handle = await gateway_scope.start(
                partial(
                    serve_gateway,
                    settings,
                    storage,
                    engine.view,
                    feed,
                    shutdown_trigger=stop_gateway.wait,
                    reconciliation=engine.reconciliation,
                    live=reloader,
                )
            )
            registry = handle.context.metrics.registry
            registry.register(_RegistryView(engine.metrics.registry))
            registry.register(_RegistryView(ops_metrics.registry))
            registry.register(EngineCollector(engine))
            storage.db.instrument(QueryTimings(registry))
            await _first_admin(settings, storage, handle.url)
            await _audit(storage, "system_started", {"mode": settings.mode, "url": handle.url})
            log.info(
                "ready",
                mode=settings.mode,
                symbols=len(settings.symbols),
                engine="running",
                fault_injection=settings.dev.fault_injection,
                **_urls(handle.url),
                data_dir=str(settings.storage.data_dir.resolve()),
                log_file=str(settings.logging.file) if settings.logging.file else None,
                seconds_to_ready=round(time.monotonic() - started, 3),
            )
            async with trio.open_nursery() as reloads:  # O-02: SIGHUP reloads non-secret settings
                await reloads.start(reloader.serve_sighup)
                received = await _first_stop_signal(signals)
                reloads.cancel_scope.cancel()
            log.info("stopping", signal=received)
            stop_gateway.set()  # stop accepting; in-flight requests finish within gateway.graceful_timeout_s
        log.info("gateway drained")
        stop_engine.set()  # the engine stops its session, then its tree in order, off the trio thread
    return received


async def _run_storage_only(
    settings: Settings, storage: Storage, signals: AsyncIterator[int], started: float
) -> str:
    await _audit(storage, "system_started", {"mode": settings.mode})
    log.info(
        "ready",
        mode=settings.mode,
        symbols=len(settings.symbols),
        engine="disabled",
        data_dir=str(settings.storage.data_dir.resolve()),
        log_file=str(settings.logging.file) if settings.logging.file else None,
        seconds_to_ready=round(time.monotonic() - started, 3),
    )
    received = await _first_stop_signal(signals)
    log.info("stopping", signal=received)
    return received


async def _main(
    settings: Settings,
    urls: ServerUrls,
    serve: EngineServe | None,
    started: float,
    reload_from: tuple[Path | None, dict[str, Any]],
) -> str:
    """Run until SIGINT/SIGTERM and return the signal's name (``engine_failed`` when the root failed)."""
    ops_metrics = OpsMetrics(CollectorRegistry(auto_describe=True), settings.ops.backup.dir)
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with open_storage(settings.storage, urls) as storage:
            settings = await _with_overrides(settings, storage)
            refusal = await _forward_gate(settings, storage)
            if refusal is not None:
                log.error("live mode refused", reason=refusal)
                return "live_refused"
            async with trio.open_nursery() as maintenance:
                archiver = Archiver(RetentionRepository(storage.db), settings.ops.retention, ops_metrics)
                await maintenance.start(MaintenanceService(archiver, settings.ops.retention, ops_metrics).run)
                try:
                    if serve is None:
                        received = await _run_storage_only(settings, storage, signals, started)
                    else:
                        received = await _run_system(
                            settings, storage, serve, signals, started, ops_metrics, reload_from
                        )
                except* EngineError as failed:
                    received = "engine_failed"
                    log.error("engine failed", error=str(failed.exceptions[0]))  # noqa: TRY400 - reason is enough
                maintenance.cancel_scope.cancel()  # background work stops before storage closes (O-03)
            await _audit(storage, "system_stopped", {"signal": received})  # nothing outside cancels this run
    return received


async def _forward_gate(settings: Settings, storage: Storage) -> str | None:
    """Return why live mode is refused (S-07), or None; start the forward phase when it is enabled."""
    from datetime import UTC, datetime

    from algogrid.forward_gate import check_live_start, ensure_forward_phase

    if settings.forward.enabled:
        await ensure_forward_phase(storage, settings.mode, settings.forward, datetime.now(UTC))
        return None
    if settings.mode != "live":
        return None
    decision = await check_live_start(storage, "start_live", "system")
    return None if decision.allowed else decision.reason


def run(args: argparse.Namespace) -> int:
    """Run the system and return the exit code (0 after a clean signal-driven stop)."""
    started = time.monotonic()
    overrides = overrides_of(args)
    settings = load_or_report(args.config, **overrides)
    if settings is None:
        return EXIT_CONFIG
    secret = settings.webhooks.secret.get_secret_value()
    if secret:
        register_secret(secret)
    serve: EngineServe | None = None
    if not args.no_engine:
        from algogrid.engine import serve
    log.info("starting", mode=settings.mode, engine=serve is not None)
    with servers_and_schema(settings) as urls:
        received = trio.run(_main, settings, urls, serve, started, (args.config, overrides))
    log.info("stopped", signal=received)
    if received == "live_refused":
        return EXIT_CONFIG
    return EXIT_ENGINE_FAILED if received == "engine_failed" else 0
