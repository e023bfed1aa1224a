"""The simulated REST API: Bybit v5 paths, envelopes, errors and rate-limit headers.

Rejections are HTTP 200 with a non-zero ``retCode`` and ``result: {}`` as on Bybit. The REST fault knobs
(latency, 429, 5xx, 10006 bursts, lost order-create responses) are applied here, before the handler runs,
except the lost response, which is applied after the order has been executed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog
import trio
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from exchange.simulator.accounts import Account
from exchange.simulator.config import SimulatorConfig
from exchange.simulator.errors import BybitRejection
from exchange.simulator.faults import Faults
from exchange.simulator.matching import MatchingEngine
from exchange.simulator.rest_auth import RateLimiter, authenticate
from exchange.simulator.rest_market import MarketApi
from exchange.simulator.rest_trade import TradeApi
from exchange.simulator.wire import envelope

__all__ = ["RestApi"]

OrderHook = Callable[[str, dict[str, Any]], None]
"""A test hook on ``/v5/order/create``: called with ``"received"`` (before the order exists) and
``"executed"`` (created and matched, its private pushes sent, the HTTP answer not yet) and the request's
parameters."""

log = structlog.get_logger(__name__)

Handler = Callable[[dict[str, Any], Account | None], dict[str, Any]]
LOST_RESPONSE_HOLD_S = 60.0


class RestApi:
    """Build the Starlette routes of the REST API.

    Args:
        config: venue configuration (rate limits).
        faults: fault knobs.
        engine: accounts and matching.
        market_api / trade_api: the endpoint handlers.
        flush: sends queued private pushes after a trading request.
        stopping: set when the simulator stops (releases held "lost" responses).
    """

    def __init__(  # noqa: PLR0917 - built in one place, by the server
        self,
        config: SimulatorConfig,
        faults: Faults,
        engine: MatchingEngine,
        market_api: MarketApi,
        trade_api: TradeApi,
        flush: Callable[[], None],
        stopping: trio.Event,
        order_hooks: list[OrderHook] | None = None,
    ) -> None:
        self._config = config
        self._order_hooks = order_hooks if order_hooks is not None else []
        self._faults = faults
        self._engine = engine
        self._limiter = RateLimiter()
        self._flush = flush
        self._stopping = stopping
        m, t = market_api, trade_api
        self._table: list[tuple[str, str, str, Handler]] = [
            ("GET", "/v5/market/time", "public", m.time),
            ("GET", "/v5/market/kline", "public", m.kline),
            ("GET", "/v5/market/orderbook", "public", m.orderbook),
            ("GET", "/v5/market/tickers", "public", m.tickers),
            ("GET", "/v5/market/instruments-info", "public", m.instruments),
            ("POST", "/v5/order/create", "order", t.create),
            ("POST", "/v5/order/amend", "order", t.amend),
            ("POST", "/v5/order/cancel", "order", t.cancel),
            ("POST", "/v5/order/cancel-all", "order", t.cancel_all),
            ("GET", "/v5/order/realtime", "read", t.realtime),
            ("GET", "/v5/order/history", "read", t.history),
            ("GET", "/v5/execution/list", "read", t.executions),
            ("GET", "/v5/position/list", "read", t.positions),
            ("GET", "/v5/position/closed-pnl", "read", t.closed_pnl),
            ("GET", "/v5/account/info", "read", t.account_info),
            ("GET", "/v5/account/wallet-balance", "read", t.wallet_balance),
        ]

    def routes(self) -> list[Route]:
        """Return one Starlette route per endpoint."""
        return [
            Route(path, self._endpoint(method, path, kind, fn), methods=[method])
            for method, path, kind, fn in self._table
        ]

    def _endpoint(
        self, method: str, path: str, kind: str, fn: Handler
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await self._handle(request, method, path, kind, fn)

        return endpoint

    async def _handle(self, request: Request, method: str, path: str, kind: str, fn: Handler) -> Response:
        faults = self._faults
        if faults.latency_ms:
            await trio.sleep(faults.latency_ms / 1000)
        if path.startswith(faults.rest_path_prefix):
            if faults.take("http_429"):
                return _json(envelope({}, 10006, "Too many visits!"), status=429)
            if faults.take("http_5xx"):
                return PlainTextResponse("service unavailable", status_code=faults.http_5xx_status)
            if faults.take("rate_limit_10006"):
                limit = self._limit(kind)
                return _json(
                    envelope({}, 10006, "Too many visits!"), headers=self._limiter.exhausted(limit).headers()
                )
        body = await request.body()
        raw_query = request.scope.get("query_string", b"").decode()
        headers: dict[str, str] = {}
        try:
            params = _body_params(body) if method == "POST" else dict(request.query_params)
            account: Account | None = None
            if kind != "public":
                payload = body.decode() if method == "POST" else raw_query
                account = authenticate(request.headers, payload, self._engine.accounts)
                verdict = self._limiter.check(account.api_key, kind, self._limit(kind))
                headers = verdict.headers()
                if not verdict.allowed:
                    raise BybitRejection(10006, "Too many visits!")  # noqa: TRY301 - same envelope path
            creating = path == "/v5/order/create"
            if creating:
                self._hook("received", params)
            result = fn(params, account)
        except BybitRejection as rejection:
            log.debug("request rejected", path=path, ret_code=rejection.ret_code)
            self._flush()
            return _json(envelope({}, rejection.ret_code, rejection.ret_msg), headers=headers)
        self._flush()
        if creating:
            self._hook("executed", params)  # matched, private pushes sent; the HTTP answer not yet
        if path == "/v5/order/create" and faults.take("drop_order_create_responses"):
            log.info("order create response dropped", order_id=result.get("orderId"))
            with trio.move_on_after(LOST_RESPONSE_HOLD_S):
                await self._stopping.wait()
            return PlainTextResponse("gateway timeout", status_code=504)
        return _json(envelope(result), headers=headers)

    def _hook(self, stage: str, params: dict[str, Any]) -> None:
        for hook in list(self._order_hooks):
            hook(stage, params)

    def _limit(self, kind: str) -> int:
        if kind == "order":
            return self._config.order_rate_limit_per_s
        return self._config.read_rate_limit_per_s


def _body_params(body: bytes) -> dict[str, Any]:
    try:
        params = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError as exc:
        raise BybitRejection(10001, "params error: request body is not valid JSON") from exc
    if not isinstance(params, dict):
        raise BybitRejection(10001, "params error: request body must be a JSON object")
    return params


def _json(payload: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json", headers=headers)
