"""The public (``/v5/public/linear``) and private (``/v5/private``) WebSocket endpoints.

Requests follow Bybit v5: ``{"op": "subscribe" | "unsubscribe" | "ping" | "auth", "args": [...],
"req_id": ...}``; acks are ``{"success", "ret_msg", "conn_id", "req_id", "op"}``; the private pong is
``{"req_id", "op": "pong", "args": [ms], "conn_id"}``. The private socket must authenticate with
``[api_key, expires, hex(HMAC_SHA256(secret, "GET/realtime" + expires))]`` before subscribing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from typing import Any

import orjson
import structlog
import trio
from starlette.websockets import WebSocket

from exchange.simulator.accounts import Account
from exchange.simulator.clock import wall_ms
from exchange.simulator.faults import Faults
from exchange.simulator.hub import Connection, Hub, Kind

__all__ = ["PRIVATE_TOPICS", "PUBLIC_TOPIC", "WsEndpoints"]

log = structlog.get_logger(__name__)

PUBLIC_TOPIC = re.compile(r"^(orderbook\.50|kline\.5|publicTrade|tickers)\.([A-Z0-9]+)$")
PRIVATE_TOPICS = frozenset(
    {"order", "execution", "position", "wallet", "order.linear", "execution.linear", "position.linear"}
)

SnapshotFn = Callable[[str], dict[str, Any] | None]


class WsEndpoints:
    """Serve both WebSocket paths for one simulator.

    Args:
        hub: the connection registry.
        faults: fault knobs (half-open is applied by each connection's writer).
        accounts: API key → account, for private authentication.
        snapshot: topic → the snapshot message sent right after a subscription (book, ticker), or None.
        symbols: listed symbols (subscriptions to others are refused).
    """

    def __init__(
        self, hub: Hub, faults: Faults, accounts: dict[str, Account], snapshot: SnapshotFn, symbols: set[str]
    ) -> None:
        self._hub = hub
        self._faults = faults
        self._accounts = accounts
        self._snapshot = snapshot
        self._symbols = symbols

    async def public(self, websocket: WebSocket) -> None:
        """Serve one public connection."""
        await self._serve(websocket, "public")

    async def private(self, websocket: WebSocket) -> None:
        """Serve one private connection."""
        await self._serve(websocket, "private")

    async def _serve(self, websocket: WebSocket, kind: Kind) -> None:
        await websocket.accept()
        if kind == "public" and self._faults.refuse_public:
            log.info("public websocket refused (fault)")
            await websocket.close(code=1013)  # try again later
            return
        conn, outbox = self._hub.open(kind)
        log.debug("websocket opened", conn_id=conn.conn_id, kind=kind)
        try:
            async with trio.open_nursery() as nursery:
                conn.scope = nursery.cancel_scope
                nursery.start_soon(self._writer, websocket, outbox, conn)
                await self._reader(websocket, conn)
                nursery.cancel_scope.cancel()
        finally:
            self._hub.close(conn)
        if conn.dropped:
            log.info("websocket dropped", conn_id=conn.conn_id)
            try:
                await websocket.close(code=1001)
            except Exception:
                log.debug("websocket close failed", conn_id=conn.conn_id)

    async def _writer(
        self, websocket: WebSocket, outbox: trio.MemoryReceiveChannel[str], conn: Connection
    ) -> None:
        async for text in outbox:
            if self._faults.half_open or conn.silent:
                continue  # half-open: keep the socket, send nothing
            await websocket.send({"type": "websocket.send", "text": text})

    async def _reader(self, websocket: WebSocket, conn: Connection) -> None:
        while True:
            event = await websocket.receive()
            if event["type"] == "websocket.disconnect":
                return
            raw = event.get("text") or event.get("bytes") or b""
            try:
                request = orjson.loads(raw)
            except orjson.JSONDecodeError:
                self._reply(conn, None, "", success=False, ret_msg="error:invalid json")
                continue
            if not isinstance(request, dict):
                self._reply(conn, None, "", success=False, ret_msg="error:invalid request")
                continue
            self._handle(conn, request)

    # ----------------------------------------------------------------------------- ops
    def _handle(self, conn: Connection, request: dict[str, Any]) -> None:
        op = request.get("op")
        req_id = request.get("req_id")
        args = request.get("args") or []
        if op == "ping":
            if conn.kind == "private":
                conn.push(
                    orjson.dumps(
                        {
                            "req_id": req_id or "",
                            "op": "pong",
                            "args": [str(wall_ms())],
                            "conn_id": conn.conn_id,
                        }
                    ).decode()
                )
            else:
                self._reply(conn, req_id, "ping", success=True, ret_msg="pong")
        elif op == "auth" and conn.kind == "private":
            self._auth(conn, req_id, args)
        elif op == "subscribe":
            self._subscribe(conn, req_id, args)
        elif op == "unsubscribe":
            for topic in args:
                conn.topics.discard(str(topic))
            self._reply(conn, req_id, "unsubscribe", success=True, ret_msg="")
        else:
            self._reply(conn, req_id, str(op), success=False, ret_msg=f"error:handler not found,op:{op}")

    def _reply(self, conn: Connection, req_id: Any, op: str, *, success: bool, ret_msg: str) -> None:
        message: dict[str, Any] = {
            "success": success,
            "ret_msg": ret_msg,
            "conn_id": conn.conn_id,
            "req_id": req_id if req_id is not None else "",
            "op": op,
        }
        conn.push(orjson.dumps(message).decode())

    def _auth(self, conn: Connection, req_id: Any, args: list[Any]) -> None:
        if len(args) != 3:
            self._reply(conn, req_id, "auth", success=False, ret_msg="error:params error")
            return
        api_key, expires, signature = str(args[0]), args[1], str(args[2])
        account = self._accounts.get(api_key)
        if account is None:
            self._reply(conn, req_id, "auth", success=False, ret_msg="error:api_key not found")
            return
        if not isinstance(expires, int | str) or not str(expires).isdigit() or int(expires) <= wall_ms():
            self._reply(conn, req_id, "auth", success=False, ret_msg="error:request expired")
            return
        expected = hmac.new(account.api_secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256)
        if not hmac.compare_digest(expected.hexdigest(), signature):
            self._reply(conn, req_id, "auth", success=False, ret_msg="error:signature verification failed")
            return
        conn.account = account
        self._reply(conn, req_id, "auth", success=True, ret_msg="")

    def _subscribe(self, conn: Connection, req_id: Any, args: list[Any]) -> None:
        if conn.kind == "private" and conn.account is None:
            self._reply(conn, req_id, "subscribe", success=False, ret_msg="Request not authorized")
            return
        bad = [str(t) for t in args if not self._valid(conn.kind, str(t))]
        dup = [str(t) for t in args if str(t) in conn.topics]
        if bad or dup or not args:
            what = f"error:handler not found,topic:{bad[0]}" if bad else "error:already subscribed"
            self._reply(
                conn, req_id, "subscribe", success=False, ret_msg=what if args else "error:args empty"
            )
            return
        self._reply(conn, req_id, "subscribe", success=True, ret_msg="")
        for topic in args:
            conn.topics.add(str(topic))
            snapshot = self._snapshot(str(topic)) if conn.kind == "public" else None
            if snapshot is not None:
                conn.push(orjson.dumps(snapshot).decode())

    def _valid(self, kind: Kind, topic: str) -> bool:
        if kind == "private":
            return topic in PRIVATE_TOPICS
        match = PUBLIC_TOPIC.match(topic)
        return match is not None and match.group(2) in self._symbols
