"""A minimal RFC 6455 WebSocket client on trio streams, read inline by the session's reader (D-03).

Why not trio-websocket's connection object: it runs its own reader task and hands every message to the
caller through a memory channel, i.e. one task switch and one scheduler checkpoint per message, plus
wsproto's event objects per frame. At order-book rates that costs more than parsing and applying the
update (bench/ws_ingest.py measures both). Here the session's reader calls ``pump(handler)``: one
``receive_some`` fills a buffer with many frames, which are cut out and handed to ``handler`` as ``bytes``
(orjson decodes bytes and validates their UTF-8) without leaving the task.

Scope: the client side only; no extensions are offered, so a server may use none; text and binary messages,
fragmented or not; ping → pong; the close handshake. An oversized message (close code 1009) or any protocol
violation (1002) fails the connection with ``WsProtocolError``; a close from the peer or a broken socket
raises ``WsClosedError``. Both are ``ExchangeTransportError`` s, so the session reconnects.
"""

from __future__ import annotations

import base64
import hashlib
import os
import ssl
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import trio

from exchange.errors import ExchangeTransportError

__all__ = ["WsClosedError", "WsConnection", "WsProtocolError", "open_ws"]

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_MAX_HANDSHAKE_BYTES = 16384
OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_FIN = 0x80
_FAST_FIRST_BYTES = (_FIN | OP_TEXT, _FIN | OP_BINARY)  # a final text or binary frame, no RSV bits
_STREAM_ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)

Handler = Callable[[bytes], None]


class WsClosedError(ExchangeTransportError):
    """Raise when the WebSocket is closed: by the peer (its close code) or by a broken socket (1006)."""

    def __init__(self, message: str, *, code: int = 1006, reason: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


class WsProtocolError(WsClosedError):
    """Raise when the peer broke RFC 6455 (bad handshake, masked or malformed frame, oversized message)."""


def _mask(payload: bytes, key: bytes) -> bytes:
    """Return ``payload`` XOR-ed with the repeating 4-byte ``key`` (RFC 6455 §5.3), as one big-int XOR."""
    n = len(payload)
    if not n:
        return b""
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


def encode_client_frame(opcode: int, payload: bytes, key: bytes | None = None) -> bytes:
    """Return one final, masked client frame (clients must mask every frame, §5.1)."""
    key = os.urandom(4) if key is None else key
    n = len(payload)
    if n < 126:
        head = bytes((_FIN | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((_FIN | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((_FIN | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    return head + key + _mask(payload, key)


def _parse_response_head(head: bytes, key: bytes) -> None:
    """Check the server's upgrade answer (§4.1): status 101, Upgrade, Connection and the accept token."""
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ", 2)
    if len(status) < 2 or not status[0].startswith("HTTP/1.") or status[1] != "101":
        raise WsProtocolError(f"expected HTTP 101 from the WebSocket upgrade, got {lines[0]!r}", code=1002)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    accept = base64.b64encode(hashlib.sha1(key + _GUID).digest()).decode()  # noqa: S324 - mandated by RFC 6455
    if headers.get("upgrade", "").lower() != "websocket":
        raise WsProtocolError("expected 'Upgrade: websocket' in the upgrade answer", code=1002)
    if "upgrade" not in {t.strip().lower() for t in headers.get("connection", "").split(",")}:
        raise WsProtocolError("expected 'Connection: Upgrade' in the upgrade answer", code=1002)
    if headers.get("sec-websocket-accept") != accept:
        raise WsProtocolError("expected a matching Sec-WebSocket-Accept token", code=1002)
    if headers.get("sec-websocket-extensions"):
        raise WsProtocolError("expected no extensions (none were offered)", code=1002)


async def _handshake(stream: trio.abc.Stream, host: str, target: str) -> bytes:
    """Send the upgrade request, check the answer and return the bytes already read past it."""
    key = base64.b64encode(os.urandom(16))
    request = (
        f"GET {target} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key.decode()}\r\nSec-WebSocket-Version: 13\r\n"
        "User-Agent: algogrid\r\n\r\n"
    )
    await stream.send_all(request.encode("latin-1"))
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > _MAX_HANDSHAKE_BYTES:
            raise WsProtocolError("expected the upgrade answer within 16 KiB", code=1002)
        chunk = await stream.receive_some(4096)
        if not chunk:
            raise WsClosedError("the server closed the socket during the WebSocket upgrade")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    _parse_response_head(head, key)
    return rest


class WsConnection:
    """An open client WebSocket: read with ``pump`` (hot path) or ``receive_message``; write with ``send``."""

    def __init__(
        self, stream: trio.abc.Stream, buffered: bytes, *, receive_buffer_size: int, max_message_size: int
    ) -> None:
        self._stream = stream
        self._buf = buffered
        self._receive_size = receive_buffer_size
        self._max_size = max_message_size
        self._send_lock = trio.StrictFIFOLock()
        self._inbox: deque[bytes] = deque()
        self._fragments: list[bytes] = []
        self._fragment_size = 0
        self._outbox: list[bytes] = []
        self._failure: WsClosedError | None = None
        self._close_sent = False
        self.received = 0

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
        while True:
            self._drain(handler)
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
            self._buf = self._buf + data if self._buf else bytes(data)

    async def receive_message(self) -> bytes:
        """Return the next data message (used before the reader runs, e.g. for the auth reply)."""
        inbox = self._inbox
        while not inbox:
            self._drain(inbox.append)
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
            self._buf += bytes(data)
        return inbox.popleft()

    def _drain(self, handler: Handler) -> None:
        """Cut every complete frame out of the buffer; data messages go to ``handler``."""
        buf = self._buf
        n = len(buf)
        pos = 0
        max_size = self._max_size
        try:
            while n - pos >= 2 and self._failure is None:
                b0 = buf[pos]
                b1 = buf[pos + 1]
                size = b1 & 0x7F
                start = pos + 2
                if size == 126:
                    if n - start < 2:
                        break
                    size = (buf[start] << 8) | buf[start + 1]
                    start += 2
                elif size == 127:
                    if n - start < 8:
                        break
                    size = int.from_bytes(buf[start : start + 8], "big")
                    start += 8
                if b1 & 0x80:
                    self._fail(1002, "expected unmasked frames from the server")
                    break
                if size > max_size:
                    self._fail(1009, f"expected messages of at most {max_size} bytes, got {size}")
                    break
                end = start + size
                if end > n:
                    break
                pos = end
                self.received += 1
                if b0 in _FAST_FIRST_BYTES and not self._fragments:
                    handler(buf[start:end])
                else:
                    self._frame(b0, buf[start:end], handler)
        finally:
            self._buf = buf[pos:] if pos else buf

    def _frame(self, b0: int, payload: bytes, handler: Handler) -> None:
        """Handle a frame off the fast path: fragments, control frames and violations."""
        opcode = b0 & 0x0F
        fin = bool(b0 & _FIN)
        if b0 & 0x70:
            self._fail(1002, "expected no RSV bits (no extension was negotiated)")
        elif opcode >= OP_CLOSE:
            self._control(opcode, fin, payload)
        elif opcode == OP_CONTINUATION:
            if not self._fragments:
                self._fail(1002, "expected a data frame before a continuation frame")
                return
            self._add_fragment(payload, fin, handler)
        elif opcode in (OP_TEXT, OP_BINARY):
            if self._fragments:
                self._fail(1002, "expected a continuation frame inside a fragmented message")
                return
            self._add_fragment(payload, fin, handler)
        else:
            self._fail(1002, f"expected a known opcode, got {opcode:#x}")

    def _add_fragment(self, payload: bytes, fin: bool, handler: Handler) -> None:
        self._fragment_size += len(payload)
        if self._fragment_size > self._max_size:
            self._fail(1009, f"expected messages of at most {self._max_size} bytes")
            return
        self._fragments.append(payload)
        if fin:
            message = b"".join(self._fragments)
            self._fragments.clear()
            self._fragment_size = 0
            handler(message)

    def _control(self, opcode: int, fin: bool, payload: bytes) -> None:
        if not fin or len(payload) > 125:
            self._fail(1002, "expected control frames to be final and at most 125 bytes")
        elif opcode == OP_PING:
            self._outbox.append(encode_client_frame(OP_PONG, payload))
        elif opcode == OP_CLOSE:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            reason = payload[2:].decode("utf-8", "replace")
            if not self._close_sent:
                self._outbox.append(encode_client_frame(OP_CLOSE, payload[:2]))
                self._close_sent = True
            self._failure = WsClosedError(
                f"the server closed the WebSocket ({code} {reason})".strip(), code=code, reason=reason
            )
        elif opcode != OP_PONG:
            self._fail(1002, f"expected a known control opcode, got {opcode:#x}")

    def _lost(self, message: str) -> WsClosedError:
        """Record that the socket is gone (code 1006) and return the error to raise."""
        if self._failure is None:
            self._failure = WsClosedError(message)
        return self._failure

    def _fail(self, code: int, message: str) -> None:
        if not self._close_sent:
            self._outbox.append(encode_client_frame(OP_CLOSE, code.to_bytes(2, "big")))
            self._close_sent = True
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
        """Send one text message.

        Raises:
            WsClosedError: the connection is closing or the socket broke.
        """
        if self._failure is not None:
            raise WsClosedError(f"the WebSocket is closed: {self._failure}", code=self._failure.code)
        if self._close_sent:
            raise WsClosedError("the WebSocket is closing")
        payload = message.encode() if isinstance(message, str) else message
        try:
            async with self._send_lock:
                await self._stream.send_all(encode_client_frame(OP_TEXT, payload))
        except _STREAM_ERRORS as exc:
            raise self._lost(f"the WebSocket stream broke: {exc!r}") from exc

    async def aclose(self, code: int = 1000, timeout_s: float = 1.0) -> None:
        """Send a close frame (best effort, shielded, bounded by ``timeout_s``) and close the socket."""
        with trio.move_on_after(timeout_s, shield=True):
            if not self._close_sent:
                self._close_sent = True
                try:
                    async with self._send_lock:
                        await self._stream.send_all(encode_client_frame(OP_CLOSE, code.to_bytes(2, "big")))
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
            buffered = await _handshake(stream, host_header, target)
        except BaseException:
            await trio.aclose_forcefully(stream)
            raise
    conn = WsConnection(
        stream, buffered, receive_buffer_size=receive_buffer_size, max_message_size=max_message_size
    )
    try:
        yield conn
    finally:
        await conn.aclose()
