"""A client WebSocket on trio streams: wsproto does the protocol, the session reader drives it inline (D-03).

``wsproto.WSConnection`` (python-hyper's sans-IO RFC 6455 implementation, also under trio-websocket) does all
the protocol work: the upgrade request and the check of the answer, frame parsing and building, masking,
fragments, UTF-8 validation of text, ping → pong, the close handshake and the close codes of violations.
This module only moves bytes. Why not trio-websocket's connection object: it runs a reader task of its own
and hands each message over a memory channel, one task switch and one scheduler checkpoint per message, which
at order-book rates costs more than parsing and applying the update (bench/ws_ingest.py measures both). Here
the session's reader calls ``pump(handler)``: one ``receive_some`` feeds ``receive_data``, the events are
iterated at once and every complete message goes to ``handler`` (``str`` for text, ``bytes`` for binary)
without leaving the task.

Time slices: the trio thread is shared (storage round trips, work-queue jobs, the gateway), and one
``receive_some`` of 64 KiB can hold a hundred order-book deltas — several milliseconds of parsing during
which nothing else in the thread runs. ``pump`` therefore stops iterating after ``slice_ms`` of work and
yields to the scheduler (``trio.lowlevel.checkpoint``) before going on with the events still buffered in
wsproto, so every other task waits at most one slice behind a burst (a bar close of every symbol waiting
behind a book burst was part of the close → signal tail in bench/pipeline.py).

No extensions are offered. A message over ``max_message_size`` (1009) or any violation wsproto reports
(1002, 1007 for bad UTF-8) fails the connection with ``WsProtocolError``; a close from the peer or a broken
socket raises ``WsClosedError``. Both are ``ExchangeTransportError`` s, so the session reconnects.
"""

from __future__ import annotations

import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import cast
from urllib.parse import urlsplit

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from exchange.errors import ExchangeTransportError

__all__ = ["WsClosedError", "WsConnection", "WsProtocolError", "open_ws"]

_HANDSHAKE_READ_BYTES = 4096
_STREAM_ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)
_OPEN = ConnectionState.OPEN

Handler = Callable[[str | bytes], None]


class WsClosedError(ExchangeTransportError):
    """Raise when the WebSocket is closed: by the peer (its close code) or by a broken socket (1006)."""

    def __init__(self, message: str, *, code: int = 1006, reason: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


class WsProtocolError(WsClosedError):
    """Raise when the peer broke RFC 6455 (bad upgrade, malformed frame, bad UTF-8, oversized message)."""


async def _handshake(stream: trio.abc.Stream, host: str, target: str) -> WSConnection:
    """Send wsproto's upgrade request and feed it the answer until it accepts or rejects.

    Frames that arrive with the answer stay inside wsproto (its trailing data) for the first ``events()``.
    """
    ws = WSConnection(ConnectionType.CLIENT)
    request = Request(host=host, target=target, extra_headers=[(b"User-Agent", b"algogrid")])
    await stream.send_all(ws.send(request))
    while True:
        chunk = await stream.receive_some(_HANDSHAKE_READ_BYTES)
        if not chunk:
            raise WsClosedError("the server closed the socket during the WebSocket upgrade")
        try:
            ws.receive_data(bytes(chunk))
        except RemoteProtocolError as exc:
            raise WsProtocolError(f"expected a valid WebSocket upgrade answer: {exc}", code=1002) from exc
        for event in ws.events():
            if isinstance(event, AcceptConnection):
                return ws  # leave the generator here: later events belong to the open connection
            if isinstance(event, RejectConnection):
                raise WsProtocolError(
                    f"expected HTTP 101 from the WebSocket upgrade, got {event.status_code}", code=1002
                )


class WsConnection:
    """An open client WebSocket: read with ``pump`` (hot path) or ``receive_message``; write with ``send``."""

    def __init__(
        self,
        stream: trio.abc.Stream,
        ws: WSConnection,
        *,
        receive_buffer_size: int,
        max_message_size: int,
        slice_ms: float = 1.0,
    ) -> None:
        if slice_ms <= 0:
            raise ValueError(f"expected a positive slice_ms, got {slice_ms}")
        self._stream = stream
        self._slice_ns = int(slice_ms * 1_000_000)
        self._ws = ws
        self._receive_size = receive_buffer_size
        self._max_size = max_message_size
        self._send_lock = trio.StrictFIFOLock()
        self._inbox: deque[str | bytes] = deque()
        self._parts: list[str | bytes] = []
        self._parts_size = 0
        self._outbox: list[bytes] = []
        self._failure: WsClosedError | None = None

    # ------------------------------------------------------------------ reading
    async def pump(self, handler: Handler) -> None:
        """Hand every data message to ``handler`` in arrival order until the connection ends.

        Raises:
            WsClosedError: the peer closed the connection or the socket broke (always, eventually).
        """
        inbox = self._inbox
        while inbox:
            handler(inbox.popleft())
        receive, size = self._stream.receive_some, self._receive_size
        feed = self._ws.receive_data
        while True:
            while self._drain(handler, time.perf_counter_ns() + self._slice_ns):
                await trio.lowlevel.checkpoint()  # the slice is spent: let the thread's other tasks run
            if self._outbox:
                await self._flush_outbox()
            if self._failure is not None:
                raise self._failure
            try:
                data = await receive(size)
            except _STREAM_ERRORS as exc:
                raise self._lost(f"the WebSocket stream broke: {exc!r}") from exc
            if not data:
                raise self._lost("the server closed the socket without a close frame")
            feed(bytes(data))  # no copy: trio's socket streams return bytes

    async def receive_message(self) -> str | bytes:
        """Return the next data message (used before the reader runs, e.g. for the auth reply)."""
        inbox = self._inbox
        while not inbox:
            self._drain(inbox.append, None)
            if self._outbox:
                await self._flush_outbox()
            if inbox:
                break
            if self._failure is not None:
                raise self._failure
            try:
                data = await self._stream.receive_some(self._receive_size)
            except _STREAM_ERRORS as exc:
                raise self._lost(f"the WebSocket stream broke: {exc!r}") from exc
            if not data:
                raise self._lost("the server closed the socket without a close frame")
            self._ws.receive_data(bytes(data))
        return inbox.popleft()

    def _drain(self, handler: Handler, deadline_ns: int | None) -> bool:
        """Iterate wsproto's pending events; complete messages go to ``handler``, the rest to ``_event``.

        Returns True when ``deadline_ns`` (``perf_counter_ns``) passed with events possibly left: wsproto
        parses frames lazily from its buffer, so leaving the iteration loses nothing.
        """
        max_size = self._max_size
        clock = time.perf_counter_ns
        for event in self._ws.events():
            if type(event) is TextMessage or type(event) is BytesMessage:
                data = event.data
                if event.message_finished and not self._parts and len(data) <= max_size:
                    handler(data)  # type: ignore[arg-type]  # wsproto hands bytes; its type says bytearray too
                    if deadline_ns is not None and clock() >= deadline_ns:
                        return True
                    continue
            self._event(event, handler)
            if self._failure is not None:
                return False
        return False

    def _event(self, event: object, handler: Handler) -> None:
        """Handle what the fast path does not: fragments, oversized messages, ping, close, violations."""
        if isinstance(event, TextMessage | BytesMessage):
            self._add_part(event, handler)
        elif isinstance(event, Ping):
            if self._ws.state is _OPEN:
                self._outbox.append(self._ws.send(event.response()))
        elif isinstance(event, CloseConnection):
            self._closed(event)
        # a Pong needs nothing: any traffic feeds the session's silence watchdog

    def _add_part(self, event: TextMessage | BytesMessage, handler: Handler) -> None:
        data = event.data
        self._parts_size += len(data)  # characters for text: never more than its UTF-8 bytes
        if self._parts_size > self._max_size:
            self._fail(1009, f"expected messages of at most {self._max_size} bytes")
            return
        self._parts.append(bytes(data) if isinstance(data, bytearray) else data)
        if event.message_finished:
            parts, self._parts, self._parts_size = self._parts, [], 0
            if isinstance(data, str):
                handler("".join(cast(list[str], parts)))
            else:
                handler(b"".join(cast(list[bytes], parts)))

    def _closed(self, event: CloseConnection) -> None:
        """Answer the peer's close, or fail when wsproto reports a violation (its state is still open)."""
        ws = self._ws
        if ws.state is _OPEN:  # wsproto could not parse the stream: no close frame came from the peer
            self._fail(event.code, f"expected a valid WebSocket stream: {event.reason}")
            return
        if ws.state is ConnectionState.REMOTE_CLOSING:
            self._outbox.append(ws.send(CloseConnection(code=event.code)))
        reason = event.reason or ""
        self._failure = WsClosedError(
            f"the server closed the WebSocket ({event.code} {reason})".strip(), code=event.code, reason=reason
        )

    def _lost(self, message: str) -> WsClosedError:
        """Record that the socket is gone (code 1006) and return the error to raise."""
        if self._failure is None:
            self._failure = WsClosedError(message)
        return self._failure

    def _fail(self, code: int, message: str) -> None:
        if self._ws.state is _OPEN:
            self._outbox.append(self._ws.send(CloseConnection(code=code)))
        self._failure = WsProtocolError(message, code=code)

    async def _flush_outbox(self) -> None:
        frames, self._outbox = self._outbox, []
        try:
            async with self._send_lock:
                await self._stream.send_all(b"".join(frames))
        except _STREAM_ERRORS as exc:
            if self._failure is None:
                raise self._lost(f"the WebSocket stream broke: {exc!r}") from exc

    # ------------------------------------------------------------------ writing
    async def send(self, message: str | bytes) -> None:
        """Send one text message (``bytes`` must be UTF-8, e.g. from orjson).

        Raises:
            WsClosedError: the connection is closing or the socket broke.
        """
        if self._failure is not None:
            raise WsClosedError(f"the WebSocket is closed: {self._failure}", code=self._failure.code)
        text = message if isinstance(message, str) else message.decode()
        try:
            data = self._ws.send(TextMessage(data=text))  # built before the FIFO lock: frames keep order
        except LocalProtocolError as exc:
            raise WsClosedError("the WebSocket is closing") from exc
        try:
            async with self._send_lock:
                await self._stream.send_all(data)
        except _STREAM_ERRORS as exc:
            raise self._lost(f"the WebSocket stream broke: {exc!r}") from exc

    async def aclose(self, code: int = 1000, timeout_s: float = 1.0) -> None:
        """Send a close frame (best effort, shielded, bounded by ``timeout_s``) and close the socket."""
        with trio.move_on_after(timeout_s, shield=True):
            if self._ws.state is _OPEN:
                data = self._ws.send(CloseConnection(code=code))
                try:
                    async with self._send_lock:
                        await self._stream.send_all(data)
                except _STREAM_ERRORS:
                    pass
        await trio.aclose_forcefully(self._stream)


@asynccontextmanager
async def open_ws(
    url: str,
    *,
    connect_timeout_s: float = 10.0,
    receive_buffer_size: int = 65536,
    max_message_size: int = 4 * 1024 * 1024,
    ssl_context: ssl.SSLContext | None = None,
    slice_ms: float = 1.0,
) -> AsyncIterator[WsConnection]:
    """Connect to ``ws://`` or ``wss://`` ``url``, upgrade, yield the connection and close it on exit.

    Raises:
        WsClosedError: the upgrade failed (``WsProtocolError`` when the answer broke RFC 6455).
        OSError: the TCP/TLS connection could not be made.
        trio.TooSlowError: connect + upgrade took longer than ``connect_timeout_s``.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"expected a ws:// or wss:// URL, got {url!r}")
    secure = parts.scheme == "wss"
    port = parts.port or (443 if secure else 80)
    host = parts.hostname
    host_header = host if parts.port is None else f"{host}:{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    with trio.fail_after(connect_timeout_s):
        stream: trio.abc.Stream
        if secure:
            context = ssl_context or ssl.create_default_context()
            stream = await trio.open_ssl_over_tcp_stream(
                host, port, ssl_context=context, https_compatible=True
            )
        else:
            stream = await trio.open_tcp_stream(host, port)
        try:
            ws = await _handshake(stream, host_header, target)
        except BaseException:
            await trio.aclose_forcefully(stream)
            raise
    conn = WsConnection(
        stream,
        ws,
        receive_buffer_size=receive_buffer_size,
        max_message_size=max_message_size,
        slice_ms=slice_ms,
    )
    try:
        yield conn
    finally:
        await conn.aclose()
