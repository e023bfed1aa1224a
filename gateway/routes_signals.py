"""Signal read routes (G-01): ``/signals``, ``/signals/{id}``, ``/signals/{id}/levels`` — PostgreSQL only."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.context import ctx_of, error_response, json_body, json_response
from gateway.endpoint import Endpoint, parse_query
from gateway.models import SignalLevels, SignalPage, SignalQuery, SignalView

__all__ = ["SIGNAL_ENDPOINTS"]

_MAX_ID = 64


async def list_signals(request: Request) -> Response:
    """Answer a page of signals filtered by symbol, direction and min_probability."""
    query = parse_query(request, SignalQuery)
    if isinstance(query, Response):
        return query
    ctx = ctx_of(request)

    async def render() -> bytes:
        items = list(await ctx.signals.list_signals(query))
        next_offset = query.offset + len(items) if len(items) == query.limit else None
        page = SignalPage.model_construct(  # items are validated SignalViews already
            items=items, limit=query.limit, offset=query.offset, next_offset=next_offset
        )
        return json_body(page)

    body = await ctx.signal_cache.get_or_load(query, render)
    return Response(body, media_type="application/json")


async def _signal_or_404(request: Request) -> SignalView | Response:
    signal_id = str(request.path_params["signal_id"])
    if not signal_id or len(signal_id) > _MAX_ID:
        return error_response(422, "invalid_path", f"expected a signal id of 1..{_MAX_ID} characters")
    signal = await ctx_of(request).signals.get_signal(signal_id)
    if signal is None:
        return error_response(404, "not_found", f"no signal with id {signal_id!r}")
    return signal


async def get_signal(request: Request) -> Response:
    """Answer one signal by id."""
    signal = await _signal_or_404(request)
    return signal if isinstance(signal, Response) else json_response(signal)


async def get_levels(request: Request) -> Response:
    """Answer the levels of one signal and the exact "Copy levels" text (G-04)."""
    signal = await _signal_or_404(request)
    return signal if isinstance(signal, Response) else json_response(SignalLevels.of(signal))


SIGNAL_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "/signals",
        "GET",
        list_signals,
        "List signals, newest first",
        "signals",
        query=SignalQuery,
        response=SignalPage,
        errors=(422,),
    ),
    Endpoint(
        "/signals/{signal_id}",
        "GET",
        get_signal,
        "Get one signal",
        "signals",
        response=SignalView,
        errors=(404, 422),
    ),
    Endpoint(
        "/signals/{signal_id}/levels",
        "GET",
        get_levels,
        "Get the levels of a signal and the copy text",
        "signals",
        response=SignalLevels,
        errors=(404, 422),
    ),
)
