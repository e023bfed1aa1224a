"""Helpers for the simulator tests: a tiny signed Bybit v5 REST client and WebSocket helpers.

These clients are written here on purpose (not the adapter's) so the simulator is checked against the wire
contract itself.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
import trio
from trio_websocket import WebSocketConnection, open_websocket_url

from exchange.simulator import Simulator, SimulatorConfig

API_KEY = "test-key"
API_SECRET = "test-secret"
FAST = SimulatorConfig(symbols=("BTCUSDT", "ETHUSDT"), speed=3000, book_interval_ms=20, history_bars=50)


def sign(secret: str, payload: str) -> dict[str, str]:
    """Return Bybit v5 auth headers for ``payload`` (query string or raw body)."""
    ts = str(time.time_ns() // 1_000_000)
    window = "5000"
    digest = hmac.new(secret.encode(), f"{ts}{API_KEY}{window}{payload}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-BAPI-API-KEY": API_KEY,
        "X-BAPI-TIMESTAMP": ts,
        "X-BAPI-RECV-WINDOW": window,
        "X-BAPI-SIGN": digest,
    }


class Bybit:
    """A minimal signed client over httpx."""

    def __init__(self, client: httpx.AsyncClient, secret: str = API_SECRET) -> None:
        self.http = client
        self.secret = secret

    async def public(self, path: str, **params: str) -> httpx.Response:
        return await self.http.get(path, params=params)

    async def get(self, path: str, **params: str) -> httpx.Response:
        query = urlencode(params)
        return await self.http.get(f"{path}?{query}", headers=sign(self.secret, query))

    async def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        raw = orjson.dumps(body).decode()
        headers = sign(self.secret, raw) | {"Content-Type": "application/json"}
        return await self.http.post(path, content=raw, headers=headers)

    async def order(self, **fields: Any) -> dict[str, Any]:
        body = {"category": "linear", "symbol": "BTCUSDT"} | fields
        return (await self.post("/v5/order/create", body)).json()  # type: ignore[no-any-return]


async def eventually(check: Callable[[], Awaitable[bool]] | Callable[[], bool], within: float = 5.0) -> None:
    """Poll ``check`` until it is true (no fixed sleeps); fail after ``within`` seconds."""
    with trio.fail_after(within):
        while True:
            result = check()
            if not isinstance(result, bool):
                result = await result
            if result:
                return
            await trio.sleep(0.01)


async def recv_json(ws: WebSocketConnection, within: float = 5.0) -> dict[str, Any]:
    """Receive one message as JSON."""
    with trio.fail_after(within):
        return orjson.loads(await ws.get_message())  # type: ignore[no-any-return]


async def recv_topic(ws: WebSocketConnection, prefix: str, within: float = 5.0) -> dict[str, Any]:
    """Receive messages until one whose topic starts with ``prefix``."""
    with trio.fail_after(within):
        while True:
            msg = await recv_json(ws, within)
            if str(msg.get("topic", "")).startswith(prefix):
                return msg


async def freeze(sim: Simulator) -> None:
    """Pause exchange time and wait until every market has caught up with it (then nothing moves)."""
    sim.clock.pause()
    frozen = sim.clock.now_ms()
    await eventually(lambda: all(sim.market(s).now_ms == frozen for s in sim.config.symbols))
    done = sim.steps
    await eventually(lambda: sim.steps >= done + 2)  # later steps publish the last changes


def auth_message(secret: str = API_SECRET, expires: int | None = None) -> str:
    """Return the private WebSocket ``auth`` request signed with ``secret``."""
    expires = expires or int(time.time() * 1000) + 10_000
    signature = hmac.new(secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()
    return orjson.dumps({"req_id": "a1", "op": "auth", "args": [API_KEY, expires, signature]}).decode()


@asynccontextmanager
async def private_ws(
    sim: Simulator, topics: tuple[str, ...] = ("order", "execution", "position", "wallet")
) -> AsyncIterator[WebSocketConnection]:
    """Open an authenticated private socket subscribed to ``topics``."""
    async with open_websocket_url(sim.ws_private_url) as ws:
        await ws.send_message(auth_message())
        assert (await recv_json(ws))["success"] is True
        await ws.send_message(orjson.dumps({"op": "subscribe", "args": list(topics)}).decode())
        assert (await recv_json(ws))["success"] is True
        yield ws


async def wait_order(bybit: Bybit, link: str, status: str, within: float = 5.0) -> dict[str, Any]:
    """Poll ``/v5/order/realtime`` until order ``link`` has ``status``; return it."""
    found: dict[str, Any] = {}

    async def reached() -> bool:
        nonlocal found
        body = (await bybit.get("/v5/order/realtime", category="linear", orderLinkId=link)).json()
        rows = body["result"]["list"]
        found = rows[0] if rows else {}
        return found.get("orderStatus") == status

    await eventually(reached, within)
    return found
