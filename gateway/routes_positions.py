"""Trading routes (E-01..E-07, G-01 positions): the pre-trade preview, the click that places a signal, the
close, and the position reads.

Thin handlers: they validate HTTP into messages, read the signal or position from PostgreSQL to address the
right symbol, call the ``EngineView`` and answer; every refusal is a ``GatewayError`` answered from the one
table in ``gateway.errors``. ``POST /positions/open`` is the only way an order is ever placed (E-01: manual
only). ``requested_by`` is the authenticated user's id (U-07: trader or admin; audited with the order).
"""

from __future__ import annotations

import structlog
from starlette.requests import Request
from starlette.responses import Response

from gateway.access import principal_of
from gateway.context import ctx_of, error_response, json_response
from gateway.endpoint import Endpoint, parse_body, parse_query
from gateway.errors import PositionClosedError, UnknownPositionError, UnknownSignalError
from gateway.models import (
    CloseBody,
    CloseResult,
    OpenBody,
    PlacementResult,
    PositionDetail,
    PositionPage,
    PositionQuery,
    SignalView,
    TradePreviewView,
)

__all__ = ["POSITION_ENDPOINTS"]

log = structlog.get_logger(__name__)

_MAX_ID = 64


def _path_id(request: Request, name: str) -> str | Response:
    value = str(request.path_params[name])
    if not value or len(value) > _MAX_ID:
        return error_response(422, "invalid_path", f"expected an id of 1..{_MAX_ID} characters")
    return value


async def _signal(request: Request, signal_id: str) -> SignalView:
    signal = await ctx_of(request).signals.get_signal(signal_id)
    if signal is None:
        raise UnknownSignalError(f"no signal with id {signal_id!r}")
    return signal


async def preview(request: Request) -> Response:
    """Answer what a click on the signal would place: size, fees, risk, heat after and the risk verdict."""
    signal_id = _path_id(request, "signal_id")
    if isinstance(signal_id, Response):
        return signal_id
    ctx = ctx_of(request)
    signal = await _signal(request, signal_id)
    return json_response(await ctx.engine.preview(signal, ctx.config.ask_timeout_s))


async def open_position(request: Request) -> Response:
    """Place the clicked signal (E-01, E-02) and answer the order's outcome and the position."""
    body = await parse_body(request, OpenBody)
    if isinstance(body, Response):
        return body
    ctx = ctx_of(request)
    signal = await _signal(request, body.signal_id)
    # No status check here: the position actor decides (a second click on a placed signal answers the
    # first position; a signal neither new nor placed by us is 409 signal_not_open from the actor).
    result = await ctx.engine.open_position(
        signal, str(principal_of(request).user_id), ctx.config.order_timeout_s
    )
    log.info(
        "order placed by click",
        signal_id=signal.id,
        symbol=signal.symbol,
        status=result.order.status,
        position_id=result.position_id,
    )
    return json_response(result)


async def close_position(request: Request) -> Response:
    """Close the position reduce-only (E-06) and answer the outcome with PnL, fees and funding."""
    position_id = _path_id(request, "position_id")
    if isinstance(position_id, Response):
        return position_id
    body = await parse_body(request, CloseBody)
    if isinstance(body, Response):
        return body
    ctx = ctx_of(request)
    detail = await ctx.positions.get_position(position_id)
    if detail is None:
        raise UnknownPositionError(f"no position with id {position_id!r}")
    if detail.position.status == "closed":
        raise PositionClosedError(f"position {position_id} is closed already")
    result = await ctx.engine.close_position(
        detail.position, body.reason, str(principal_of(request).user_id), ctx.config.order_timeout_s
    )
    log.info("position close requested", position_id=position_id, reason=body.reason, status=result.status)
    return json_response(result)


async def list_positions(request: Request) -> Response:
    """Answer positions, newest first, optionally only the open or the closed ones."""
    query = parse_query(request, PositionQuery)
    if isinstance(query, Response):
        return query
    items = list(await ctx_of(request).positions.list_positions(query))
    return json_response(PositionPage(items=items))


async def get_position(request: Request) -> Response:
    """Answer one position with its orders, fills and slippage."""
    position_id = _path_id(request, "position_id")
    if isinstance(position_id, Response):
        return position_id
    detail = await ctx_of(request).positions.get_position(position_id)
    if detail is None:
        raise UnknownPositionError(f"no position with id {position_id!r}")
    return json_response(detail)


POSITION_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "/signals/{signal_id}/preview",
        "GET",
        preview,
        "Pre-trade preview of a signal: size, fees, risk, heat after and the risk verdict (nothing reserved)",
        "trading",
        response=TradePreviewView,
        errors=(404, 422, 503),
    ),
    Endpoint(
        "/positions/open",
        "POST",
        open_position,
        "Place a signal (a person's click; the only way an order is placed)",
        "trading",
        body=OpenBody,
        response=PlacementResult,
        errors=(404, 409, 422, 503),
    ),
    Endpoint(
        "/positions/{position_id}/close",
        "POST",
        close_position,
        "Close a position reduce-only",
        "trading",
        body=CloseBody,
        response=CloseResult,
        errors=(404, 409, 422, 503),
    ),
    Endpoint(
        "/positions",
        "GET",
        list_positions,
        "List positions, newest first",
        "trading",
        query=PositionQuery,
        response=PositionPage,
        errors=(422,),
    ),
    Endpoint(
        "/positions/{position_id}",
        "GET",
        get_position,
        "Get one position with its orders, fills and slippage",
        "trading",
        response=PositionDetail,
        errors=(404, 422),
    ),
)
