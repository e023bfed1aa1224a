"""Tiny real-socket stand-ins for Bybit used until/besides the simulator: an h11 HTTP server and a
trio-websocket server, both on loopback with scripted replies. Not mocks: the adapter talks real HTTP and
real WebSocket frames to them."""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import h11
import trio
import trio_websocket

from exchange.bybit.signing import rest_signature

SHARED = Path("/work/shared/fixtures/bybit")
LOCAL = Path(__file__).parent / "fixtures"


def shared_fixture(name: str) -> Any:
    return json.loads((SHARED / name).read_text())


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the socket without answering (lost response)


Handler = Callable[[Request], Reply]


def ok(result: Any) -> Reply:
    return Reply(body={"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": 1})


def err(code: int, msg: str = "error", headers: dict[str, str] | None = None) -> Reply:
    return Reply(
        body={"retCode": code, "retMsg": msg, "result": {}, "retExtInfo": {}, "time": 1},
        headers=headers or {},
    )


class FakeRest:
    """Routes ``(method, path)`` to handlers; checks X-BAPI signatures when ``secret`` is set."""

    def __init__(self, secret: str | None = None) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[Request] = []
        self.secret = secret
        self.url = ""

    def route(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method, path)] = handler

    def _dispatch(self, req: Request) -> Reply:
        if self.secret is not None and "x-bapi-sign" in req.headers:
            payload = urlsplit(req.path).query if req.method == "GET" else req.body.decode()
            expected = rest_signature(
                self.secret,
                int(req.headers["x-bapi-timestamp"]),
                req.headers["x-bapi-api-key"],
                int(req.headers["x-bapi-recv-window"]),
                payload,
            )
            if expected != req.headers["x-bapi-sign"]:
                return err(10004, "error sign!")
        handler = self.routes.get((req.method, urlsplit(req.path).path))
        if handler is None:
            return Reply(status=404, body={"retCode": 10017, "retMsg": "route not found"})
        return handler(req)

    async def _serve(self, stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                head: h11.Request | None = None
                body = b""
                while True:
                    event = conn.next_event()
                    if event is h11.NEED_DATA:
                        data = await stream.receive_some(65536)
                        if not data:
                            return
                        conn.receive_data(data)
                        continue
                    if isinstance(event, h11.Request):
                        head = event
                    elif isinstance(event, h11.Data):
                        body += bytes(event.data)
                    elif isinstance(event, h11.EndOfMessage):
                        break
                    elif isinstance(event, h11.ConnectionClosed):
                        return
                assert head is not None
                target = head.target.decode()
                req = Request(
                    head.method.decode(),
                    target,
                    dict(parse_qsl(urlsplit(target).query)),
                    {k.decode().lower(): v.decode() for k, v in head.headers},
                    body,
                )
                self.requests.append(req)
                reply = self._dispatch(req)
                if reply.drop:
                    await stream.aclose()
                    return
                payload = json.dumps(reply.body).encode()
                headers = [("content-type", "application/json"), ("content-length", str(len(payload)))]
                headers += list(reply.headers.items())
                await stream.send_all(conn.send(h11.Response(status_code=reply.status, headers=headers)))
                await stream.send_all(conn.send(h11.Data(data=payload)))
                await stream.send_all(conn.send(h11.EndOfMessage()))
                conn.start_next_cycle()
        except (trio.BrokenResourceError, trio.ClosedResourceError, h11.RemoteProtocolError):
            return

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if urlsplit(r.path).path == path]


@asynccontextmanager
async def running_rest(fake: FakeRest) -> AsyncIterator[FakeRest]:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(functools.partial(trio.serve_tcp, fake._serve, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        fake.url = f"http://127.0.0.1:{port}"
        yield fake
        nursery.cancel_scope.cancel()


class FakeWs:
    """A WS endpoint: records every frame received per connection; tests push frames or cut links."""

    def __init__(self) -> None:
        self.connections: list[trio_websocket.WebSocketConnection] = []
        self.received: list[list[dict[str, Any]]] = []
        self.on_message: Callable[[int, dict[str, Any]], list[Any]] = lambda i, m: []
        self.url = ""
        self.mute = False  # half-open: keep the socket, answer nothing

    async def _handler(self, request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept()
        index = len(self.connections)
        self.connections.append(ws)
        self.received.append([])
        try:
            while True:
                msg = json.loads(await ws.get_message())
                self.received[index].append(msg)
                if self.mute:
                    continue
                for reply in self.on_message(index, msg):
                    await ws.send_message(reply if isinstance(reply, str) else json.dumps(reply))
        except trio_websocket.ConnectionClosed:
            return

    async def push(self, payload: Any, connection: int = -1) -> None:
        await self.connections[connection].send_message(
            payload if isinstance(payload, str) else json.dumps(payload)
        )

    async def cut(self, connection: int = -1) -> None:
        await self.connections[connection].aclose()

    def subscribed_args(self, connection: int = -1) -> list[str]:
        return [a for m in self.received[connection] if m.get("op") == "subscribe" for a in m["args"]]


@asynccontextmanager
async def running_ws(fake: FakeWs) -> AsyncIterator[FakeWs]:
    async with trio.open_nursery() as nursery:
        server = await nursery.start(trio_websocket.serve_websocket, fake._handler, "127.0.0.1", 0, None)
        fake.url = f"ws://127.0.0.1:{server.port}"
        yield fake
        nursery.cancel_scope.cancel()


class ListSink:
    """An ``EventSink`` collecting events in order."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def publish(self, event: Any) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]
