"""``GET /stream``: Server-Sent Events of signals with a heartbeat and ``Last-Event-ID`` replay (G-03).

Authorised like every route (the session cookie from the browser's ``EventSource``, or a Bearer header):
the stream ends when its session's access token expires, and at once when the session is revoked (logout,
reuse, password or role change, deactivation): ``SessionStreams`` holds each stream's cancel scope by
session id and ``AuthService`` tells it which sessions ended; a revocation made on another gateway is found
by ``SessionStreams.run_sweep``, which checks the open streams' sessions every ``sse_session_check_s``.
The last frame is ``event: session_ended``, so the UI refreshes its session and reconnects.

Exactly-once across a reconnect: the client is subscribed to the live hub *before* the Redis Stream is read
for the replay, so nothing published in between is missed; live events whose id is not after the last
replayed id are skipped, so nothing is sent twice. Ids are outbox ids (``<id>-0``, ``gateway.relay``), hence
strictly increasing and the same after a gateway restart. With nothing to replay there is nothing to skip:
the relay fans an event out right after appending it, so a live event the client already has cannot arrive
again (and a client holding an id from an older stream is not starved of live events).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Sequence

import structlog
import trio
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.access import principal_of
from gateway.context import ctx_of, error_response
from gateway.endpoint import Endpoint
from gateway.errors import EventLogError, GatewayError
from gateway.events import StreamEvent, parse_event_id
from gateway.hub import Subscription

__all__ = ["RAW_SEND", "STREAM_ENDPOINT", "ExposeRawSend", "SessionStreams", "SseResponse"]

log = structlog.get_logger(__name__)

_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),
]


_SESSION_ENDED = b'event: session_ended\ndata: {}\n\n'


class SessionStreams:
    """The cancel scopes of open streams by session id (closed when their session is revoked)."""

    def __init__(self) -> None:
        self._scopes: dict[uuid.UUID, set[trio.CancelScope]] = {}

    def add(self, sid: uuid.UUID, scope: trio.CancelScope) -> None:
        """Register a stream of session ``sid``."""
        self._scopes.setdefault(sid, set()).add(scope)

    def discard(self, sid: uuid.UUID, scope: trio.CancelScope) -> None:
        """Forget a finished stream."""
        scopes = self._scopes.get(sid)
        if scopes is not None:
            scopes.discard(scope)
            if not scopes:
                del self._scopes[sid]

    def close(self, user_id: uuid.UUID | None, sids: Sequence[uuid.UUID]) -> None:
        """End every stream of ``sids`` (called on the trio thread by ``AuthService`` after a revocation)."""
        for sid in sids:
            for scope in list(self._scopes.get(sid, ())):
                scope.cancel()
        if sids:
            log.info("sse streams of revoked sessions closed", user_id=str(user_id) if user_id else None)

    @property
    def open(self) -> int:
        """Return how many streams are registered."""
        return sum(len(s) for s in self._scopes.values())

    async def sweep(self, is_revoked: Callable[[uuid.UUID], Awaitable[bool]]) -> int:
        """End the streams whose session ``is_revoked`` says ended (another gateway revoked it); return how
        many sessions were closed. A session that cannot be checked now is left for the next sweep."""
        ended = []
        for sid in list(self._scopes):
            try:
                if await is_revoked(sid):
                    ended.append(sid)
            except GatewayError:
                log.warning("sse session check unavailable")
                break
        self.close(None, ended)
        return len(ended)

    async def run_sweep(
        self,
        is_revoked: Callable[[uuid.UUID], Awaitable[bool]],
        period_s: float,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Sweep every ``period_s`` until cancelled."""
        task_status.started()
        while True:
            await trio.sleep(period_s)
            await self.sweep(is_revoked)


RAW_SEND = "algogrid.raw_send"
"""Scope key holding the server's own ``send`` for ``/stream`` (set by ``ExposeRawSend``)."""


class ExposeRawSend:
    """Outermost ASGI wrapper: keep the server's ``send`` in the scope of ``GET /stream`` requests.

    Fan-out cost is per client per event, and every middleware wraps ``send``. ``SseResponse`` sends its
    ``http.response.start`` through the middleware chain (metrics, CORS headers and error handling see it)
    and its body chunks through this raw ``send``: the wrappers only ever act on the start message.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add ``RAW_SEND`` to the scope of ``/stream`` and call the app."""
        if scope["type"] == "http" and scope["path"] == "/stream":
            scope[RAW_SEND] = send
        await self.app(scope, receive, send)


class SseResponse(Response):
    """A ``text/event-stream`` answer written straight to the ASGI ``send`` (no generator machinery).

    Each wake-up writes everything queued for the client as one body chunk of pre-encoded frames; a second
    task only watches for the client's disconnect. The stream ends when the hub ends the subscription
    (shutdown, or the client was too slow) or the client goes away.
    """

    def __init__(
        self,
        sub: Subscription,
        replay: list[StreamEvent],
        after: tuple[int, int] | None,
        retry_ms: int,
        *,
        sessions: SessionStreams | None = None,
        sid: uuid.UUID | None = None,
        expires_at: float | None = None,
    ) -> None:
        super().__init__(status_code=200)
        self._sessions = sessions
        self._sid = sid
        self._expires_at = expires_at
        self._sub = sub
        self._replay = replay
        self._after = after
        self._retry_ms = retry_ms
        self.raw_headers = [*_HEADERS, *(h for h in self.raw_headers if h[0] != b"content-length")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the stream until it ends, its session ends or the client disconnects."""
        body_send = scope.get(RAW_SEND, send)
        session = trio.CancelScope()
        if self._expires_at is not None:
            session.deadline = trio.current_time() + max(0.0, self._expires_at - time.time())
        if self._sessions is not None and self._sid is not None:
            self._sessions.add(self._sid, session)
        self.started = False
        try:
            with self._sub, session:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._watch_disconnect, receive, nursery.cancel_scope)
                    await self._pump(send, body_send)
                    nursery.cancel_scope.cancel()
        finally:
            if self._sessions is not None and self._sid is not None:
                self._sessions.discard(self._sid, session)
        if session.cancelled_caught:
            if not self.started:
                await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await body_send({"type": "http.response.body", "body": _SESSION_ENDED, "more_body": False})

    @staticmethod
    async def _watch_disconnect(receive: Receive, scope: trio.CancelScope) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        scope.cancel()

    async def _pump(self, send: Send, body_send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        self.started = True
        send = body_send
        first = [f"retry: {self._retry_ms}\n\n".encode(), *(e.frame for e in self._replay)]
        await send({"type": "http.response.body", "body": b"".join(first), "more_body": True})
        after = self._replay[-1].key if self._replay else None
        receive_channel = self._sub.receive
        while True:
            batch: list[StreamEvent] = []
            ended = False
            try:
                batch.append(await receive_channel.receive())
                while True:
                    batch.append(receive_channel.receive_nowait())
            except trio.WouldBlock:
                pass
            except (trio.EndOfChannel, trio.ClosedResourceError):
                ended = True
            taken = len(batch)
            if after is not None:
                batch, after = _skip_replayed(batch, after)
            if batch:
                body = batch[0].frame if len(batch) == 1 else b"".join(e.frame for e in batch)
                await send({"type": "http.response.body", "body": body, "more_body": True})
            self._sub.written(taken)
            if ended:
                break
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _skip_replayed(
    batch: list[StreamEvent], after: tuple[int, int]
) -> tuple[list[StreamEvent], tuple[int, int] | None]:
    """Drop live events already replayed from the stream; return the rest and the new cut-off (None: past)."""
    kept: list[StreamEvent] = []
    cutoff: tuple[int, int] | None = after
    for event in batch:
        if cutoff is not None and event.id is not None:
            if event.key <= cutoff:
                continue  # already replayed from the stream
            cutoff = None  # live events are past the replay from here on: stop comparing
        kept.append(event)
    return kept, cutoff


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
    principal = principal_of(request)
    log.debug("sse client connected", replay=len(replay), clients=ctx.hub.clients)
    return SseResponse(
        sub,
        replay,
        after,
        ctx.config.sse_retry_ms,
        sessions=ctx.streams,
        sid=principal.sid,
        expires_at=float(principal.exp),
    )


STREAM_ENDPOINT = Endpoint(
    "/stream",
    "GET",
    stream,
    "Server-Sent Events: `signal` events and `heartbeat`; Last-Event-ID replay",
    "stream",
    media_type="text/event-stream",
    errors=(400, 401, 403, 503),
)
