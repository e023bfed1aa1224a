"""The Starlette app factory: routes from the endpoint table, error mapping, middleware, UI and OpenAPI."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from importlib import metadata
from pathlib import Path

import structlog
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gateway.access import guard
from gateway.auth.accounts import Accounts
from gateway.auth.errors import LockedOutError
from gateway.auth.limits import KeyValue
from gateway.auth.service import AuthService
from gateway.cache import ReadCache
from gateway.config import GatewayConfig
from gateway.context import GatewayContext, error_response
from gateway.endpoint import Endpoint
from gateway.errors import EngineError, GatewayError
from gateway.events import RedisEventLog
from gateway.feed import SignalFeed
from gateway.hub import SignalHub
from gateway.metrics import GatewayMetrics, LatencyMiddleware
from gateway.openapi import build_openapi
from gateway.ports import EngineView, ForwardReader, PositionReader, ReadinessProbe, SignalReader
from gateway.ratelimit import IpRateLimitMiddleware
from gateway.reconciliation import ReconciliationPort
from gateway.request_context import RequestContextMiddleware
from gateway.routes_admin import ADMIN_ENDPOINTS, OpsPort
from gateway.routes_api_keys import API_KEY_ENDPOINTS, ApiKeyPort
from gateway.routes_auth import AUTH_ENDPOINTS
from gateway.routes_forward import FORWARD_ENDPOINTS
from gateway.routes_ops import FAULT_ENDPOINT, OPS_ENDPOINTS
from gateway.routes_positions import POSITION_ENDPOINTS
from gateway.routes_reconciliation import RECONCILIATION_ENDPOINTS
from gateway.routes_signals import SIGNAL_ENDPOINTS
from gateway.routes_users import USER_ENDPOINTS
from gateway.security import SecurityMiddleware
from gateway.sse import STREAM_ENDPOINT, SessionStreams

__all__ = ["create_app", "endpoints_for"]

log = structlog.get_logger(__name__)

UI_DIR = Path(__file__).with_name("ui")


def endpoints_for(*, fault_injection: bool) -> tuple[Endpoint, ...]:
    """Return the route table; ``POST /admin/faults`` exists only with ``fault_injection`` (dev mode)."""
    table = (
        *OPS_ENDPOINTS,
        *SIGNAL_ENDPOINTS,
        *POSITION_ENDPOINTS,
        *RECONCILIATION_ENDPOINTS,
        *FORWARD_ENDPOINTS,
        STREAM_ENDPOINT,
        *AUTH_ENDPOINTS,
        *USER_ENDPOINTS,
        *ADMIN_ENDPOINTS,
        *API_KEY_ENDPOINTS,
    )
    return (*table, FAULT_ENDPOINT) if fault_injection else table


def _version() -> str:
    try:
        return metadata.version("algogrid")
    except metadata.PackageNotFoundError:
        return "0.0.0"


async def _gateway_error(request: Request, exc: Exception) -> Response:
    """Answer a ``GatewayError`` with its own status and code (the table in ``gateway.errors``)."""
    assert isinstance(exc, GatewayError)
    if isinstance(exc, EngineError):
        ctx: GatewayContext = request.app.state.ctx
        ctx.metrics.engine_errors.labels(type(exc).__name__).inc()
        log.warning("engine unavailable", path=request.url.path, reason=str(exc))
    response = error_response(exc.status_code, exc.error, str(exc))
    if isinstance(exc, LockedOutError):
        response.headers["Retry-After"] = str(exc.retry_after_s)
    if exc.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="algogrid"'
    return response


async def _internal_error(request: Request, exc: Exception) -> Response:
    """Answer an unexpected failure as JSON, no internals (the request boundary; logged with the trace)."""
    log.error("request failed", path=request.url.path, error=type(exc).__name__, exc_info=exc)
    return error_response(500, "internal_error", "the request failed; its request id is in the logs")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    reason = "no such route" if exc.status_code == 404 else str(exc.detail)
    return error_response(exc.status_code, "http_error", reason)


def create_app(
    config: GatewayConfig,
    engine: EngineView,
    signals: SignalReader,
    events: RedisEventLog,
    feed: SignalFeed,
    *,
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
) -> Starlette:
    """Build the gateway ASGI app (G-01..G-04).

    Args:
        config: the room's config (CORS origins, per-IP limit, ask timeout, SSE and cache tunables).
        engine: the engine seam (supervision tree, feed asks, faults, exchange readiness).
        signals: read side of the ``signals`` table.
        positions: read side of positions, their orders, fills and slippage.
        events: the Redis Stream log SSE replays from.
        feed: the engine's signal sink; ``gateway.serve`` runs its drain task.
        fault_injection: serve ``POST /admin/faults`` (``dev.fault_injection``).
        auth: sessions and the per-request check behind every guarded route (U-03, U-07).
        accounts: the account lifecycle behind ``/auth/*`` and ``/users``.
        kv: Redis for the shared per-IP limit.
        ops: the kill switch, status and config behind the admin routes.
        api_keys: the encrypted Bybit key store behind ``/api-keys``.
        probes: readiness checks by name (e.g. ``postgres``, ``redis``).
        reconciliation: the engine's reconciliation (status, acknowledgement); None: 503 on its routes.
        forward: the forward phase's progress and metrics (``GET /admin/forward``, S-07).
    """
    hub = SignalHub(client_buffer=config.sse_client_buffer)
    metrics = GatewayMetrics(hub, feed)
    ctx = GatewayContext(
        engine=engine,
        signals=signals,
        positions=positions,
        events=events,
        feed=feed,
        hub=hub,
        metrics=metrics,
        config=config,
        auth=auth,
        accounts=accounts,
        probes=dict(probes or {}),
        signal_cache=ReadCache(config.signals_cache_ttl_s),
        reconciliation=reconciliation,
        streams=SessionStreams(),
        ops=ops,
        api_keys=api_keys,
        forward=forward,
    )
    assert ctx.streams is not None
    auth.on_revoke(ctx.streams.close)
    table = endpoints_for(fault_injection=fault_injection)
    openapi_body = json.dumps(build_openapi(table, _version()))

    async def openapi(request: Request) -> Response:
        return Response(openapi_body, media_type="application/json")

    async def root(request: Request) -> Response:
        return RedirectResponse("/ui/", status_code=307)

    routes: list[BaseRoute] = [endpoint.route(guard(endpoint, auth)) for endpoint in table]
    routes += [
        Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False),
        Route("/", root, methods=["GET"], include_in_schema=False),
        Mount("/ui", app=StaticFiles(directory=UI_DIR, html=True), name="ui"),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        log.info("gateway started", routes=len(table), fault_injection=fault_injection)
        try:
            yield
        finally:
            hub.close()
            log.info("gateway stopped")

    # Each middleware wraps every request (and every SSE chunk's send): add only the ones that do work.
    middleware = [
        Middleware(LatencyMiddleware, metrics=metrics),
        Middleware(RequestContextMiddleware, trusted_proxies=config.trusted_proxies),
        Middleware(SecurityMiddleware, max_body_bytes=config.max_body_bytes),
    ]
    if config.allowed_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(config.allowed_origins),
                allow_methods=["GET", "POST", "PATCH", "DELETE"],
                allow_headers=["Content-Type", "Last-Event-ID", "Authorization", "X-CSRF-Token"],
                allow_credentials=True,
            )
        )
    middleware.append(Middleware(IpRateLimitMiddleware, per_minute=config.ip_rate_limit_per_min, kv=kv))
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={
            GatewayError: _gateway_error,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    return app
