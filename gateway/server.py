"""``gateway.serve``: hypercorn's trio worker serving the app inside the engine's trio process (O-03).

Shutdown is graceful: when ``shutdown_trigger`` returns, hypercorn stops accepting, the SSE hub ends every
stream (so long-lived ``/stream`` responses do not hold the shutdown), in-flight requests get up to
``GatewayConfig.graceful_timeout_s`` (30 s) to finish, the lifespan shutdown runs, and only then the signal
feed's drain task and the outbox relay are cancelled (rows not relayed yet wait in the outbox).
"""

from __future__ import annotations

import gc
import signal
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Protocol

import structlog
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve as hypercorn_serve
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.auth.accounts import Accounts
from gateway.auth.limits import KeyValue
from gateway.auth.service import AuthService
from gateway.config import GatewayConfig
from gateway.context import GatewayContext
from gateway.events import RedisEventLog
from gateway.feed import OutboxAppender, SignalFeed
from gateway.ports import (
    EngineView,
    ForwardReader,
    PositionReader,
    ReadinessProbe,
    SignalReader,
    StreamCommands,
)
from gateway.reconciliation import ReconciliationPort
from gateway.relay import OutboxRelay, OutboxStore
from gateway.routes_admin import OpsPort
from gateway.routes_api_keys import ApiKeyPort
from gateway.routes_ops import heartbeat_data
from gateway.sse import ExposeRawSend

__all__ = ["GatewayHandle", "serve", "wait_for_stop_signal"]

log = structlog.get_logger(__name__)


class _Outbox(OutboxStore, OutboxAppender, Protocol):
    """The outbox the relay reads and the feed appends to (``storage.OutboxRepository``)."""


@dataclass(frozen=True, slots=True)
class GatewayHandle:
    """What ``serve`` reports once it listens: the base URL and the running app."""

    url: str
    app: Starlette

    @property
    def context(self) -> GatewayContext:
        """Return the app's wiring (hub, metrics, options)."""
        ctx: GatewayContext = self.app.state.ctx
        return ctx


async def wait_for_stop_signal() -> None:
    """Return on the first SIGTERM or SIGINT (use as ``shutdown_trigger`` in ``algogrid run``)."""
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            log.info("stop signal received", signal=signal.Signals(signum).name)
            return


async def serve(
    config: GatewayConfig,
    engine: EngineView,
    signals: SignalReader,
    stream_client: StreamCommands,
    feed: SignalFeed,
    *,
    outbox: _Outbox,
    positions: PositionReader,
    auth: AuthService,
    accounts: Accounts,
    kv: KeyValue,
    ops: OpsPort | None = None,
    api_keys: ApiKeyPort | None = None,
    fault_injection: bool = False,
    probes: Mapping[str, ReadinessProbe] | None = None,
    reconciliation: ReconciliationPort | None = None,
    forward: ForwardReader | None = None,
    stream_key: str = "algogrid:ui-events",
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
    task_status: trio.TaskStatus[GatewayHandle] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the gateway until ``shutdown_trigger`` returns (or forever), then shut down gracefully.

    Reports a ``GatewayHandle`` through ``task_status`` once the socket listens. With ``tls_cert_file`` and
    ``tls_key_file`` it serves HTTPS (hypercorn's TLS). ``outbox`` is where UI events wait for the relay this
    function runs (G-03): the feed writes events without a state change of their own there.
    """
    events = RedisEventLog(stream_client, stream=stream_key, maxlen=config.outbox.stream_maxlen)
    relay = OutboxRelay(outbox, events, config.outbox)
    app = create_app(
        config,
        engine,
        signals,
        events,
        feed,
        positions=positions,
        auth=auth,
        accounts=accounts,
        kv=kv,
        ops=ops,
        api_keys=api_keys,
        fault_injection=fault_injection,
        probes=probes,
        reconciliation=reconciliation,
        forward=forward,
    )
    hub = app.state.ctx.hub
    app.state.ctx.metrics.watch_relay(relay.stats)
    hconfig = HypercornConfig()
    host = f"[{config.host}]" if ":" in config.host else config.host
    hconfig.bind = [f"{host}:{config.port}"]
    if config.tls_cert_file is not None and config.tls_key_file is not None:
        hconfig.certfile = str(config.tls_cert_file)
        hconfig.keyfile = str(config.tls_key_file)
    hconfig.graceful_timeout = config.graceful_timeout_s
    hconfig.backlog = 4096
    hconfig.accesslog = None
    hconfig.errorlog = None

    async def trigger() -> None:
        if shutdown_trigger is None:
            await trio.sleep_forever()
        else:
            await shutdown_trigger()
        log.info(
            "gateway shutting down", sse_clients=hub.clients, graceful_timeout_s=config.graceful_timeout_s
        )
        hub.close()

    async with trio.open_nursery() as nursery:
        ctx: GatewayContext = app.state.ctx
        await nursery.start(feed.run, outbox)
        await nursery.start(partial(relay.run, hub, on_event=ctx.signal_cache.invalidate))
        await nursery.start(
            partial(hub.run_heartbeat, config.heartbeat_s, data=partial(heartbeat_data, engine))
        )
        streams = app.state.ctx.streams
        await nursery.start(streams.run_sweep, auth.revoked.is_revoked, config.sse_session_check_s)

        async def run_http(*, task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> None:
            try:
                await hypercorn_serve(
                    ExposeRawSend(app),  # type: ignore[arg-type]  # ASGI 3; hypercorn's alias is narrower
                    hconfig,
                    shutdown_trigger=trigger,
                    task_status=task_status,
                )
            finally:
                nursery.cancel_scope.cancel()

        binds: list[str] = await nursery.start(run_http)
        # Start-up objects (modules, routes, models, the actor tree) live for the whole run: move them out
        # of the collector's generations so full collections stay short during fan-out bursts.
        gc.freeze()
        url = binds[0]
        if not accounts.link_base:
            accounts.link_base = url  # links in mails point at this gateway unless auth.public_url says else
        log.info("gateway listening", url=url)
        task_status.started(GatewayHandle(url=url, app=app))
    log.info("gateway stopped serving")
