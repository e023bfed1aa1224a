"""The wsproto-driven WebSocket client over real sockets: a scripted raw server for byte-exact cases (frames
split at every byte, fragments with a ping between them, close, masked/oversized frames, bad UTF-8, bad
upgrades) and trio-websocket's server, plain and over TLS with a self-signed certificate (interoperability).

Text messages arrive as ``str`` (wsproto validated their UTF-8), binary ones as ``bytes``."""

from __future__ import annotations

import base64
import datetime
import hashlib
import ssl
import struct
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import trio
import trio_websocket
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from exchange.bybit.ws_transport import WsClosedError, WsConnection, WsProtocolError, open_ws

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
Script = Callable[[trio.SocketStream], Awaitable[None]]


def frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = False, rsv: int = 0) -> bytes:
    """Return one server frame (unmasked unless told)."""
    n = len(payload)
    first = (0x80 if fin else 0) | rsv | opcode
    mask_bit = 0x80 if masked else 0
    if n < 126:
        head = struct.pack("!BB", first, mask_bit | n)
    elif n < 65536:
        head = struct.pack("!BBH", first, mask_bit | 126, n)
    else:
        head = struct.pack("!BBQ", first, mask_bit | 127, n)
    return head + (b"\0\0\0\0" + payload if masked else payload)


async def read_client_frame(stream: trio.SocketStream, buf: bytearray) -> tuple[int, bytes]:
    """Read one masked client frame; return (opcode, unmasked payload)."""
    while True:
        if len(buf) >= 6:
            n = buf[1] & 0x7F
            assert buf[1] & 0x80, "client frames must be masked"
            start = 2 + {126: 2, 127: 8}.get(n, 0)
            if n >= 126:
                n = int.from_bytes(buf[2:start], "big")
            if len(buf) >= start + 4 + n:
                key = buf[start : start + 4]
                data = bytes(b ^ key[i % 4] for i, b in enumerate(buf[start + 4 : start + 4 + n]))
                opcode = buf[0] & 0x0F
                del buf[: start + 4 + n]
                return opcode, data
        chunk = await stream.receive_some(4096)
        assert chunk, "client closed early"
        buf += chunk


async def accept_upgrade(
    stream: trio.SocketStream, *, accept: bytes | None = None, status: int = 101, extra: bytes = b""
) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        data += await stream.receive_some(4096)
    key = next(
        line.split(b":", 1)[1].strip()
        for line in data.split(b"\r\n")
        if line.lower().startswith(b"sec-websocket-key")
    )
    token = accept if accept is not None else base64.b64encode(hashlib.sha1(key + GUID).digest())
    await stream.send_all(
        f"HTTP/1.1 {status} Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n".encode()
        + b"Sec-WebSocket-Accept: "
        + token
        + b"\r\n"
        + extra
        + b"\r\n"
    )


async def serve(nursery: trio.Nursery, script: Script) -> str:
    async def handler(stream: trio.SocketStream) -> None:
        async with stream:
            await script(stream)

    listeners = await nursery.start(trio.serve_tcp, handler, 0)
    port = listeners[0].socket.getsockname()[1]
    return f"ws://127.0.0.1:{port}/v5/public/linear"


async def collect(conn: WsConnection) -> tuple[list[str | bytes], WsClosedError]:
    got: list[str | bytes] = []
    with pytest.raises(WsClosedError) as info:
        await conn.pump(got.append)
    return got, info.value


async def test_messages_of_every_length_class_split_across_reads_are_reassembled_in_order() -> None:
    sizes = [0, 5, 125, 126, 300, 65535, 70000]
    payloads = [chr(65 + i % 26) * n for i, n in enumerate(sizes)]

    async def script(stream: trio.SocketStream) -> None:
        await accept_upgrade(stream)
        await stream.send_all(b"".join(frame(0x1, p.encode()) for p in payloads) + frame(0x8, b"\x03\xe8"))
        await read_client_frame(stream, bytearray())

    async with trio.open_nursery() as nursery:
        url = await serve(nursery, script)
        async with open_ws(url, receive_buffer_size=3) as conn:  # every header and payload crosses reads
            first = await conn.receive_message()
            rest, closed = await collect(conn)
        nursery.cancel_scope.cancel()
    assert [first, *rest] == payloads
    assert closed.code == 1000


async def test_a_stream_fed_one_byte_per_read_yields_the_same_messages() -> None:
    text = "caf\u00e9 \u20ac \U0001f600" * 9  # multi-byte UTF-8, cut inside characters by 1-byte reads
    stream_bytes = (
        frame(0x1, b"")
        + frame(0x1, b'{"topic":"a"}')
        + frame(0x1, text.encode())  # 16-bit length
        + frame(0x2, bytes(range(200)))
        + frame(0x1, text.encode()[:7], fin=False)  # fragment boundary inside a character
        + frame(0x9, b"p")
        + frame(0x0, text.encode()[7:])
        + frame(0x8, b"\x03\xe8")
    )

    async def script(stream: trio.SocketStream) -> None:
        await accept_upgrade(stream)
        await stream.send_all(stream_bytes)
        buf = bytearray()
        assert await read_client_frame(stream, buf) == (0xA, b"p")
        await read_client_frame(stream, buf)

    async with trio.open_nursery() as nursery:
        url = await serve(nursery, script)
        async with open_ws(url, receive_buffer_size=1) as conn:  # every byte is a read of its own
            got, closed = await collect(conn)
        nursery.cancel_scope.cancel()
    assert got == ["", '{"topic":"a"}', text, bytes(range(200)), text]
    assert closed.code == 1000


async def test_fragments_with_a_ping_between_them_and_the_pong_reply() -> None:
    seen: list[tuple[int, bytes]] = []

    async def script(stream: trio.SocketStream) -> None:
        await accept_upgrade(stream)
        await stream.send_all(
            frame(0x1, b'{"a":', fin=False) + frame(0x9, b"hi") + frame(0x0, b"1}") + frame(0x2, b"bin")
        )
        buf = bytearray()
        seen.append(await read_client_frame(stream, buf))
        await stream.send_all(frame(0x8, b"\x03\xe9bye"))
        seen.append(await read_client_frame(stream, buf))

    async with trio.open_nursery() as nursery:
        url = await serve(nursery, script)
        async with open_ws(url) as conn:
            got, closed = await collect(conn)
        nursery.cancel_scope.cancel()
    assert got == ['{"a":1}', b"bin"]
    assert seen == [(0xA, b"hi"), (0x8, b"\x03\xe9")]
    assert (closed.code, closed.reason) == (1001, "bye")


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (frame(0x1, b"x", masked=True), 1002),
        (frame(0x1, b"x", rsv=0x40), 1002),
        (frame(0x0, b"x"), 1002),
        (frame(0x3, b"x"), 1002),
        (frame(0x9, b"x" * 126), 1002),
        (frame(0x1, b"x" * 2000), 1009),
        (frame(0x1, b"x" * 600, fin=False) + frame(0x0, b"x" * 600), 1009),
        (frame(0x1, b"\xc3\x28"), 1007),
        (frame(0x1, b"\xe2\x82", fin=False) + frame(0x0, b"(", fin=True), 1007),
        (frame(0x8, b"\x03"), 1002),
    ],
)
async def test_protocol_violations_fail_the_connection_with_a_close_code(bad: bytes, code: int) -> None:
    replies: list[tuple[int, bytes]] = []

    async def script(stream: trio.SocketStream) -> None:
        await accept_upgrade(stream)
        await stream.send_all(frame(0x1, b"ok") + bad)
        replies.append(await read_client_frame(stream, bytearray()))

    async with trio.open_nursery() as nursery:
        url = await serve(nursery, script)
        async with open_ws(url, max_message_size=1024) as conn:
            got, error = await collect(conn)
        nursery.cancel_scope.cancel()
    assert got == ["ok"]
    assert isinstance(error, WsProtocolError)
    assert error.code == code
    assert replies == [(0x8, code.to_bytes(2, "big"))]


@pytest.mark.parametrize(
    "answer",
    [
        {"accept": b"d3Jvbmc="},
        {"status": 403},
        {"extra": b"Sec-WebSocket-Extensions: permessage-deflate\r\n"},  # none was offered
    ],
)
async def test_a_bad_upgrade_answer_is_refused(answer: dict[str, object]) -> None:
    async def script(stream: trio.SocketStream) -> None:
        await accept_upgrade(stream, **answer)  # type: ignore[arg-type]
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        url = await serve(nursery, script)
        with pytest.raises(WsProtocolError):
            async with open_ws(url):
                pass
        nursery.cancel_scope.cancel()


async def test_a_socket_closed_without_a_close_frame_raises_closed() -> None:
    async def script(stream: trio.SocketStream) -> None:
        await accept_upgrade(stream)
        await stream.send_all(frame(0x1, b"last"))

    async with trio.open_nursery() as nursery:
        url = await serve(nursery, script)
        async with open_ws(url) as conn:
            got, closed = await collect(conn)
            with pytest.raises(WsClosedError):
                await conn.send("{}")
        nursery.cancel_scope.cancel()
    assert got == ["last"]
    assert closed.code == 1006


async def test_aclose_sends_a_close_frame_and_later_sends_are_refused() -> None:
    seen: list[tuple[int, bytes]] = []

    async def script(stream: trio.SocketStream) -> None:
        await accept_upgrade(stream)
        buf = bytearray()
        seen.append(await read_client_frame(stream, buf))
        seen.append(await read_client_frame(stream, buf))

    async with trio.open_nursery() as nursery:
        url = await serve(nursery, script)
        async with open_ws(url) as conn:
            await conn.send(b'{"op":"ping"}')
            await conn.aclose(code=1001)
            with pytest.raises(WsClosedError):
                await conn.send("{}")
        nursery.cancel_scope.cancel()
    assert seen == [(0x1, b'{"op":"ping"}'), (0x8, b"\x03\xe9")]


def _self_signed(tmp: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cafile=str(cert_path))
    return server, client


@pytest.mark.parametrize("secure", [False, True])
async def test_interoperates_with_trio_websocket_server_plain_and_tls(secure: bool, tmp_path: Path) -> None:
    server_ctx, client_ctx = _self_signed(tmp_path) if secure else (None, None)

    async def echo(request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept()
        try:
            while True:
                message = await ws.get_message()
                await ws.send_message(message)
                await ws.send_message(b"x" * 100_000)
        except trio_websocket.ConnectionClosed:
            pass

    async with trio.open_nursery() as nursery:
        server = await nursery.start(trio_websocket.serve_websocket, echo, "127.0.0.1", 0, server_ctx)
        scheme = "wss" if secure else "ws"
        async with open_ws(f"{scheme}://localhost:{server.port}/x", ssl_context=client_ctx) as conn:
            for text in ("hello", '{"op":"ping"}'):
                await conn.send(text)
                assert await conn.receive_message() == text
                assert await conn.receive_message() == b"x" * 100_000
        nursery.cancel_scope.cancel()


async def _ticks_seen_during_one_burst(slice_ms: float) -> tuple[list[str | bytes], set[int]]:
    """Send 200 messages in one write; a busy handler records how often another task ran meanwhile."""
    messages = [f'{{"n":{i}}}' for i in range(200)]
    ticks = 0
    seen_ticks: set[int] = set()
    got: list[str | bytes] = []

    async def script(stream: trio.SocketStream) -> None:
        await accept_upgrade(stream)
        await stream.send_all(b"".join(frame(0x1, m.encode()) for m in messages) + frame(0x8, b"\x03\xe8"))
        await read_client_frame(stream, bytearray())

    def busy_handler(message: str | bytes) -> None:
        deadline = time.perf_counter_ns() + 50_000  # 50 µs of work per message: 10 ms for the burst
        while time.perf_counter_ns() < deadline:
            pass
        got.append(message)
        seen_ticks.add(ticks)

    async def other_task() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        url = await serve(nursery, script)
        async with open_ws(url, slice_ms=slice_ms) as conn:
            nursery.start_soon(other_task)
            with pytest.raises(WsClosedError):
                await conn.pump(busy_handler)
        nursery.cancel_scope.cancel()
    assert got == messages  # slicing never drops, duplicates or reorders a message
    return got, seen_ticks


async def test_the_reader_yields_to_other_tasks_after_each_time_slice_of_a_burst() -> None:
    # 10 ms of handling in 0.5 ms slices: other tasks run between slices (about 20 times during the burst)
    _, sliced = await _ticks_seen_during_one_burst(0.5)
    # one slice as long as the burst: the burst runs in one scheduler step, nobody else runs meanwhile
    _, unsliced = await _ticks_seen_during_one_burst(60_000)
    assert len(sliced) >= 8
    assert len(unsliced) <= 2


def test_a_non_positive_slice_is_refused() -> None:
    with pytest.raises(ValueError, match="slice_ms"):
        WsConnection(None, None, receive_buffer_size=4096, max_message_size=1024, slice_ms=0)  # type: ignore[arg-type]
