"""``GET /stream``: Server-Sent Events of signals with a heartbeat and ``Last-Event-ID`` replay (G-03).

Exactly-once across a reconnect: the client is subscribed to the live hub *before* the Redis Stream is read
for the replay, so nothing published in between is missed; live events whose id is not after the last
replayed id are skipped, so nothing is sent twice. Ids are Redis stream ids, hence strictly increasing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import structlog
import trio
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gateway.context import ctx_of, error_response
from gateway.endpoint import Endpoint
from gateway.errors import EventLogError
from gateway.events import StreamEvent, parse_event_id
from gateway.hub import Subscription

__all__ = ["STREAM_ENDPOINT"]

log = structlog.get_logger(__name__)


async def _events(
    sub: Subscription, replay: list[StreamEvent], after: tuple[int, int] | None, retry_ms: int
) -> AsyncIterator[bytes]:
    with sub:
        yield f"retry: {retry_ms}\n\n".encode()
        for event in replay:
            yield event.encode()
        if replay:
            after = replay[-1].key
        while True:
            try:
                event = await sub.receive.receive()
            except (trio.EndOfChannel, trio.ClosedResourceError):
                return
            if after is not None and event.id is not None:
                if event.key <= after:
                    continue  # already replayed from the stream
                after = None  # live events are past the replay from here on: stop comparing
            yield event.encode()


async def stream(request: Request) -> Response:
    """Stream ``signal`` events (ids = stream ids) and heartbeats; replay after ``Last-Event-ID``."""
    ctx = ctx_of(request)
    raw_last = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    after: tuple[int, int] | None = None
    if raw_last:
        try:
            after = parse_event_id(raw_last)
        except ValueError as exc:
            return error_response(400, "invalid_last_event_id", str(exc))
    if ctx.hub.closed:
        return error_response(503, "shutting_down", "the gateway is shutting down")
    sub = ctx.hub.subscribe()
    replay: list[StreamEvent] = []
    if raw_last:
        try:
            replay = await ctx.events.read_after(raw_last.strip())
        except EventLogError as exc:
            sub.close()
            return error_response(503, "event_log_unavailable", str(exc))
    log.debug("sse client connected", replay=len(replay), clients=ctx.hub.clients)
    return StreamingResponse(
        _events(sub, replay, after, ctx.options.sse_retry_ms),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


STREAM_ENDPOINT = Endpoint(
    "/stream",
    "GET",
    stream,
    "Server-Sent Events: `signal` events and `heartbeat`; Last-Event-ID replay",
    "stream",
    media_type="text/event-stream",
    errors=(400, 503),
)
