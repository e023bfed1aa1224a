"""Operational routes: ``/health``, ``/ready``, ``/metrics``, ``/time`` (the engine's market clock), feed
liveness per symbol, the supervision tree and (dev mode only) fault injection (G-01, G-06; DESIGN §4).

Two time bases meet here. Ages of signals are *market* time (``created_at`` is market time: accelerated in
simulation), so ``/time`` and every SSE heartbeat carry market now and its speed for the UI to extrapolate.
Feed liveness is *wall* time: feed actors stamp ``last_event_at`` on the supervision tree's wall clock, so
``stale`` compares it with wall now (a feed quiet for 30 wall seconds is stale whatever the market speed).
"""

from __future__ import annotations

import json

import orjson
import structlog
import trio
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from gateway.context import GatewayContext, ctx_of, error_response, json_response
from gateway.endpoint import Endpoint, validation_error
from gateway.errors import EngineError, EngineTimeoutError
from gateway.models import (
    CheckResult,
    FaultRequest,
    FeedStatusView,
    HealthBody,
    ReadyBody,
    SupervisionNode,
    TimeBody,
)
from gateway.ports import EngineView, FeedStatus

__all__ = ["FAULT_ENDPOINT", "OPS_ENDPOINTS", "heartbeat_data", "time_body"]

log = structlog.get_logger(__name__)

_HEALTH = HealthBody().model_dump_json()


async def health(request: Request) -> Response:
    """Answer 200 while the process serves HTTP (liveness; no I/O, G-02 < 100 ms)."""
    return Response(_HEALTH, media_type="application/json")


def time_body(engine: EngineView) -> TimeBody:
    """Return the engine's market time, wall time and speed as the ``/time`` body."""
    now = engine.market_time()
    return TimeBody(market_time=now.market_time, wall_time=now.wall_time, speed=now.speed)


def heartbeat_data(engine: EngineView) -> str:
    """Return the JSON data of an SSE heartbeat: ``at`` (wall, as before) and the ``/time`` fields."""
    fields = time_body(engine).model_dump(mode="json")
    return orjson.dumps({"at": fields["wall_time"], **fields}).decode()


async def market_time(request: Request) -> Response:
    """Answer the engine's market time, the wall time read with it and the market speed (no I/O)."""
    return json_response(time_body(ctx_of(request).engine))


async def _probe(ctx: GatewayContext, name: str, results: dict[str, CheckResult]) -> None:
    probe = ctx.probes[name]
    with trio.move_on_after(ctx.config.probe_timeout_s) as scope:
        try:
            await probe()
        except Exception as exc:  # readiness boundary: any failure means "not ready", with its reason
            results[name] = CheckResult(ok=False, reason=f"{type(exc).__name__}: {exc}")
            return
    if scope.cancelled_caught:
        results[name] = CheckResult(ok=False, reason=f"no answer within {ctx.config.probe_timeout_s:g} s")
    else:
        results[name] = CheckResult(ok=True)


async def _engine_checks(ctx: GatewayContext, results: dict[str, CheckResult]) -> None:
    with trio.move_on_after(ctx.config.probe_timeout_s) as scope:
        try:
            checks = await ctx.engine.readiness()
        except Exception as exc:  # readiness boundary, as above
            results["engine"] = CheckResult(ok=False, reason=f"{type(exc).__name__}: {exc}")
            return
    if scope.cancelled_caught:
        results["engine"] = CheckResult(ok=False, reason="engine readiness did not answer in time")
        return
    for name, reason in checks.items():
        results[name] = CheckResult(ok=reason is None, reason=reason)


async def ready(request: Request) -> Response:
    """Answer 200 when PostgreSQL, Redis and the exchange sessions are ready, else 503 naming the failures."""
    ctx = ctx_of(request)
    results: dict[str, CheckResult] = {}
    async with trio.open_nursery() as nursery:
        for name in ctx.probes:
            nursery.start_soon(_probe, ctx, name, results)
        nursery.start_soon(_engine_checks, ctx, results)
    not_ready = sorted(name for name, result in results.items() if not result.ok)
    body = ReadyBody(ready=not not_ready, checks=dict(sorted(results.items())), not_ready=not_ready)
    return json_response(body, 503 if not_ready else 200)


async def _tree(ctx: GatewayContext) -> dict[str, object]:
    with trio.move_on_after(ctx.config.ask_timeout_s):
        return dict(await ctx.engine.supervision_tree())
    raise EngineTimeoutError(f"supervision tree did not answer within {ctx.config.ask_timeout_s:g} s")


async def metrics(request: Request) -> Response:
    """Answer the Prometheus exposition of the gateway registry (actor metrics from the live tree)."""
    ctx = ctx_of(request)
    try:
        ctx.metrics.supervision.update(await _tree(ctx))
    except EngineError as exc:
        log.warning("metrics without supervision tree", reason=str(exc))
    return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)


async def supervision(request: Request) -> Response:
    """Answer the live supervision tree as JSON (DESIGN §4), 503 when the engine does not answer."""
    tree = await _tree(ctx_of(request))
    return Response(orjson.dumps(tree, default=str), media_type="application/json")


async def _feed_view(ctx: GatewayContext, symbol: str) -> FeedStatusView:
    try:
        status = await ctx.engine.feed_status(symbol, ctx.config.ask_timeout_s)
    except EngineError as exc:
        ctx.metrics.engine_errors.labels(type(exc).__name__).inc()
        return FeedStatusView(
            symbol=symbol,
            available=False,
            stale=True,
            stale_after_s=ctx.config.stale_after_s,
            reason=str(exc),
        )
    return _feed_view_from(ctx, status)


def _feed_view_from(ctx: GatewayContext, status: FeedStatus) -> FeedStatusView:
    stale_after = ctx.config.stale_after_s
    symbol, last = status.symbol, status.last_event_at
    if last is None:
        return FeedStatusView(
            symbol=symbol,
            available=True,
            stale=True,
            stale_after_s=stale_after,
            reason="no market data yet",
            mark_price=status.mark_price,
            next_funding_time=status.next_funding_time,
        )
    # ``last`` is wall time (the tree's clock), so it is compared with wall now, not market now.
    age = max(0.0, (ctx.engine.market_time().wall_time - last).total_seconds())
    return FeedStatusView(
        symbol=symbol,
        available=True,
        last_event_at=last,
        age_s=round(age, 3),
        stale=age > stale_after,
        stale_after_s=stale_after,
        mark_price=status.mark_price,
        next_funding_time=status.next_funding_time,
    )


async def list_feeds(request: Request) -> Response:
    """Answer the feed liveness of every symbol (asked concurrently; failures are marked, not fatal)."""
    ctx = ctx_of(request)
    symbols = list(ctx.engine.symbols())
    views: dict[str, FeedStatusView] = {}

    async def one(symbol: str) -> None:
        views[symbol] = await _feed_view(ctx, symbol)

    async with trio.open_nursery() as nursery:
        for symbol in symbols:
            nursery.start_soon(one, symbol)
    return json_response([views[s] for s in symbols])


async def get_feed(request: Request) -> Response:
    """Answer the feed liveness of one symbol; 503 with the reason when its feed actor cannot answer."""
    ctx = ctx_of(request)
    symbol = str(request.path_params["symbol"])
    if symbol not in ctx.engine.symbols():
        return error_response(404, "not_found", f"symbol {symbol!r} is not traded here")
    status = await ctx.engine.feed_status(symbol, ctx.config.ask_timeout_s)  # EngineError → 503 handler
    return json_response(_feed_view_from(ctx, status))


async def inject_fault(request: Request) -> Response:
    """Inject a fault at a supervision path (dev mode only; the route does not exist otherwise)."""
    try:
        raw = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return error_response(400, "invalid_body", "expected a JSON object body")
    try:
        fault = FaultRequest.model_validate(raw)
    except ValidationError as exc:
        return validation_error(exc, "body")
    await ctx_of(request).engine.inject_fault(fault)  # UnknownActorPathError → 404, FaultRejectedError → 400
    log.warning("fault injected", path=fault.path, kind=fault.kind)
    return Response(status_code=202)


OPS_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("/health", "GET", health, "Liveness (always 200)", "ops", response=HealthBody),
    Endpoint(
        "/ready",
        "GET",
        ready,
        "Readiness of PostgreSQL, Redis and exchange sessions",
        "ops",
        response=ReadyBody,
        errors=(503,),
    ),
    Endpoint("/metrics", "GET", metrics, "Prometheus metrics", "ops", media_type=CONTENT_TYPE_LATEST),
    Endpoint(
        "/time",
        "GET",
        market_time,
        "The engine's market time, the wall time and the market speed",
        "ops",
        response=TimeBody,
    ),
    Endpoint(
        "/symbols",
        "GET",
        list_feeds,
        "Feed liveness of every symbol",
        "market",
        response=FeedStatusView,
        response_is_list=True,
    ),
    Endpoint(
        "/symbols/{symbol}/feed",
        "GET",
        get_feed,
        "Feed liveness of one symbol (asks its feed actor)",
        "market",
        response=FeedStatusView,
        errors=(404, 503),
    ),
    Endpoint(
        "/admin/supervision",
        "GET",
        supervision,
        "The live supervision tree",
        "admin",
        response=SupervisionNode,
        errors=(503,),
    ),
)

FAULT_ENDPOINT = Endpoint(
    "/admin/faults",
    "POST",
    inject_fault,
    "Inject a fault (dev.fault_injection only)",
    "admin",
    body=FaultRequest,
    errors=(400, 404, 422),
)
