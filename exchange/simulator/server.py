"""The simulator process: one trio nursery running hypercorn (REST + WebSocket) and the market loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

import orjson
import structlog
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from exchange.simulator.accounts import Account
from exchange.simulator.clock import SimClock, wall_ms
from exchange.simulator.config import SimulatorConfig
from exchange.simulator.errors import SimulatorStateError
from exchange.simulator.faults import Faults
from exchange.simulator.hub import Hub
from exchange.simulator.instruments import INSTRUMENTS
from exchange.simulator.market import Market
from exchange.simulator.matching import MatchingEngine
from exchange.simulator.publisher import Publisher
from exchange.simulator.replay import load_kline_csv
from exchange.simulator.rest_api import OrderHook, RestApi
from exchange.simulator.rest_market import MarketApi
from exchange.simulator.rest_trade import TradeApi
from exchange.simulator.ws_endpoints import WsEndpoints

__all__ = ["Simulator", "open_simulator"]

log = structlog.get_logger(__name__)


class Simulator:
    """A Bybit-v5-compatible venue on loopback. Start it with :func:`open_simulator`.

    Args:
        config: the venue configuration.

    Raises:
        SimulatorConfigError: a replay CSV cannot be read.
    """

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        replays = {s: load_kline_csv(p) for s, p in config.kline_csv.items() if s in config.symbols}
        start_ms = config.start_time_ms
        if start_ms is None:
            if replays:
                first = next(iter(replays.values()))
                start_ms = first[min(config.history_bars, len(first) - 1)].start_ms
            else:
                start_ms = wall_ms()
        self.clock = SimClock(start_ms, config.speed)
        interval_ms = config.funding_interval_hours * 3_600_000
        self._markets = {
            s: Market(INSTRUMENTS[s], config.seed, start_ms, config.history_bars, interval_ms, replays.get(s))
            for s in config.symbols
        }
        self.faults = Faults()
        self._engine = MatchingEngine(config, self._markets)
        self._hub = Hub(self.faults, config.ws_queue_size)
        self._publisher = Publisher(self._markets, self._engine, self._hub, self.faults)
        self._stopping = trio.Event()
        self._base_url: str | None = None
        self._steps = 0
        # Test hooks on order creation (``rest_api.OrderHook``), e.g. a crash of the client at a chosen point.
        self.order_hooks: list[OrderHook] = []
        self._app = Starlette(routes=self._routes())

    # ----------------------------------------------------------------------------- public API
    @property
    def rest_url(self) -> str:
        """Return ``http://HOST:PORT`` of the running venue."""
        if self._base_url is None:
            raise SimulatorStateError("expected a running simulator, got one not started yet")
        return self._base_url

    @property
    def ws_public_url(self) -> str:
        """Return the public linear WebSocket URL (``ws://…/v5/public/linear``)."""
        return self.rest_url.replace("http://", "ws://", 1) + "/v5/public/linear"

    @property
    def ws_private_url(self) -> str:
        """Return the private WebSocket URL (``ws://…/v5/private``)."""
        return self.rest_url.replace("http://", "ws://", 1) + "/v5/private"

    @property
    def steps(self) -> int:
        """Return how many market steps (publications) have run so far."""
        return self._steps

    def add_account(self, api_key: str, api_secret: str, balance: Decimal | None = None) -> Account:
        """Create (or reset) an account for ``api_key`` with a USDT wallet (default: config balance)."""
        return self._engine.add_account(
            api_key, api_secret, self.config.default_balance if balance is None else balance
        )

    def account(self, api_key: str) -> Account:
        """Return the account of ``api_key`` for inspection (its ``orders`` hold every accepted order).

        Raises:
            KeyError: no account has this key.
        """
        return self._engine.accounts[api_key]

    def market(self, symbol: str) -> Market:
        """Return the live market of ``symbol`` for inspection.

        Raises:
            KeyError: the symbol is not listed.
        """
        return self._markets[symbol]

    def set_price(self, symbol: str, price: Decimal) -> None:
        """Jump ``symbol``'s last (= mark) price to ``price``; conditional orders and resting limits react
        on the next market step, and the book and ticker changes are published then.

        Raises:
            KeyError: the symbol is not listed.
            ValueError: the price is not positive.
        """
        if price <= 0:
            raise ValueError(f"expected a positive price, got {price}")
        self._markets[symbol].jump(price)

    def drop_connections(self, kind: str | None = None) -> int:
        """Disconnect every WebSocket (``"public"``, ``"private"`` or all); return how many."""
        if kind not in (None, "public", "private"):
            raise ValueError(f"expected public, private or None, got {kind!r}")
        return self._hub.drop(kind)  # type: ignore[arg-type]

    def silence_connections(self, kind: str | None = None) -> int:
        """Make every current WebSocket (``"public"``, ``"private"`` or all) half-open: connected, silent.

        Unlike the ``half_open`` knob, only the connections open now go silent; a reconnect is served.
        """
        if kind not in (None, "public", "private"):
            raise ValueError(f"expected public, private or None, got {kind!r}")
        return self._hub.silence(kind)  # type: ignore[arg-type]

    def stop(self) -> None:
        """Stop serving; :func:`open_simulator` returns once everything is closed."""
        self._stopping.set()

    # ----------------------------------------------------------------------------- lifecycle
    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until :meth:`stop`; report readiness once the port is bound."""
        self.clock.start()
        hc = HypercornConfig()
        hc.bind = [f"{self.config.host}:{self.config.port}"]
        hc.accesslog = None
        hc.loglevel = "WARNING"
        hc.graceful_timeout = 0.1
        async with trio.open_nursery() as nursery:
            binds: list[str] = await nursery.start(partial(serve, self._app, hc))  # type: ignore[arg-type]
            self._base_url = binds[0]
            nursery.start_soon(self._market_loop)
            log.info("simulator started", rest_url=self._base_url, speed=self.config.speed)
            task_status.started()
            await self._stopping.wait()
            nursery.cancel_scope.cancel()
        log.info("simulator stopped")

    async def _market_loop(self) -> None:
        interval = self.config.book_interval_ms / 1000
        while True:
            await trio.sleep(interval)
            if self.faults.latency_ms:
                await trio.sleep(self.faults.latency_ms / 1000)
            self._publisher.step(self.clock.now_ms())
            self._engine.run_deferred(trio.current_time())
            self._flush()
            self._steps += 1

    def _flush(self) -> None:
        pushes = self._engine.drain()
        i = 0
        while i < len(pushes):
            first = pushes[i]
            j = i
            while j < len(pushes) and pushes[j].account is first.account and pushes[j].topic == first.topic:
                j += 1
            now = self._markets[next(iter(self._markets))].now_ms
            self._hub.publish_private(first.account, first.topic, [p.data for p in pushes[i:j]], now)
            i = j

    # ----------------------------------------------------------------------------- HTTP wiring
    def _routes(self) -> list[BaseRoute]:
        rest = RestApi(
            self.config,
            self.faults,
            self._engine,
            MarketApi(self._markets),
            TradeApi(self._engine, self.faults),
            self._flush,
            self._stopping,
            self.order_hooks,
        )
        ws = WsEndpoints(
            self._hub, self.faults, self._engine.accounts, self._publisher.snapshot, set(self._markets)
        )
        return [
            *rest.routes(),
            Route("/sim/faults", self._get_faults, methods=["GET"]),
            Route("/sim/faults", self._set_faults, methods=["POST"]),
            Route("/sim/faults/reset", self._reset_faults, methods=["POST"]),
            Route("/sim/drop", self._drop, methods=["POST"]),
            Route("/sim/price", self._set_price, methods=["POST"]),
            Route("/sim/accounts", self._add_account, methods=["POST"]),
            Route("/sim/health", self._health, methods=["GET"]),
            WebSocketRoute("/v5/public/linear", ws.public),
            WebSocketRoute("/v5/private", ws.private),
        ]

    async def _get_faults(self, request: Request) -> Response:
        return _json(self.faults.as_dict())

    async def _set_faults(self, request: Request) -> Response:
        try:
            changes = orjson.loads(await request.body())
            if not isinstance(changes, dict):
                raise TypeError("expected a JSON object of knob: value")  # noqa: TRY301 - one error path
            self.faults.update(changes)
        except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
            return _json({"error": str(exc)}, 400)
        log.info("faults set", knobs=sorted(changes))
        return _json(self.faults.as_dict())

    async def _reset_faults(self, request: Request) -> Response:
        self.faults.reset()
        return _json(self.faults.as_dict())

    async def _drop(self, request: Request) -> Response:
        body = await request.body()
        kind = orjson.loads(body).get("kind") if body else None
        try:
            dropped = self.drop_connections(kind)
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"dropped": dropped})

    async def _set_price(self, request: Request) -> Response:
        try:
            body: dict[str, Any] = orjson.loads(await request.body())
            symbol, price = str(body["symbol"]), Decimal(str(body["price"]))
            self.set_price(symbol, price)
        except (KeyError, ValueError, InvalidOperation, orjson.JSONDecodeError, TypeError) as exc:
            return _json({"error": f"expected a listed symbol and a positive price: {exc!r}"}, 400)
        return _json({"symbol": symbol, "price": str(self._markets[symbol].last_price())})

    async def _add_account(self, request: Request) -> Response:
        try:
            body: dict[str, Any] = orjson.loads(await request.body())
            balance = Decimal(str(body.get("balance", self.config.default_balance)))
            self.add_account(str(body["api_key"]), str(body["api_secret"]), balance)
        except (KeyError, ValueError, InvalidOperation, orjson.JSONDecodeError, AttributeError) as exc:
            return _json({"error": f"expected api_key, api_secret and an optional balance: {exc}"}, 400)
        return _json({"api_key": body["api_key"], "balance": str(balance)})

    async def _health(self, request: Request) -> Response:
        return _json(
            {
                "symbols": list(self._markets),
                "clock_ms": self.clock.now_ms(),
                "speed": self.clock.speed,
                "paused": self.clock.paused,
                "connections": len(self._hub.connections),
            }
        )


def _json(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


@asynccontextmanager
async def open_simulator(config: SimulatorConfig | None = None) -> AsyncIterator[Simulator]:
    """Run a simulator for the duration of the ``async with`` block (inside ``trio.run``).

    Raises:
        SimulatorConfigError: the configuration cannot describe a venue.
    """
    sim = Simulator(config or SimulatorConfig())
    async with trio.open_nursery() as nursery:
        await nursery.start(sim.run)
        try:
            yield sim
        finally:
            sim.stop()
