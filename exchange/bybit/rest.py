"""Bybit v5 REST client on httpx + trio: signing, clock skew, retries and the error map (E-07, E-08).

Every call goes through ``_call``: take a rate-limit token, sign, send, translate. 429 / 5xx / retCodes
whose action says ``retry`` are retried with exponential backoff and jitter, at most
``config.max_attempts`` times in all, never sooner than ``X-Bapi-Limit-Reset-Timestamp`` when the
exchange says the limit is used up. An order create whose outcome is unknown is settled by querying its
``orderLinkId`` (``create_order``), never by blind resubmission.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
import structlog
import trio

from exchange.bybit.events import BookSnapshot, ExecutionReport, OrderUpdate, PositionUpdate, WalletUpdate
from exchange.bybit.messages import (
    book_levels,
    execution_from_raw,
    order_from_raw,
    position_from_raw,
    wallet_from_raw,
)
from exchange.bybit.models import (
    AccountInfo,
    Candle,
    Instrument,
    OrderAck,
    OrderRequest,
    ServerTime,
    Ticker,
)
from exchange.bybit.ratelimit import EvalClient, RateLimiter
from exchange.bybit.rest_orders import OrderEndpoints
from exchange.bybit.retcodes import RetCode, action_for, classify_http_status, to_retcode
from exchange.bybit.signing import signed_headers
from exchange.config import Credentials, ExchangeConfig
from exchange.errors import (
    BybitApiError,
    ExchangeConfigError,
    ExchangeTransportError,
    MessageParseError,
    OrderOutcomeUnknownError,
)

__all__ = ["BybitRestClient", "ExecutionPage", "RestStats"]

log = structlog.get_logger(__name__)


_LIMIT_CODES = frozenset({RetCode.HTTP_RATE_LIMITED, RetCode.TOO_MANY_VISITS})
_UNKNOWN_OUTCOME_CODES = frozenset({RetCode.HTTP_SERVER_ERROR, RetCode.SERVER_ERROR, RetCode.SERVER_TIMEOUT})


class _OutcomeUnknownError(Exception):
    """The request may or may not have taken effect (internal to this module)."""


@dataclass(slots=True)
class RestStats:
    """Counters for metrics."""

    requests: int = 0
    retries: int = 0
    errors: int = 0
    unknown_outcomes: int = 0
    clock_syncs: int = 0


@dataclass(frozen=True, slots=True)
class ExecutionPage:
    """One page of ``/v5/execution/list``."""

    items: tuple[ExecutionReport, ...]
    next_cursor: str


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class BybitRestClient(OrderEndpoints):
    """A Bybit v5 REST client; use as ``async with BybitRestClient(config, creds) as client``.

    Order management beyond create/cancel (amend, cancel-all, history, one order, closed-PnL pages) comes
    from ``OrderEndpoints`` (``exchange.bybit.rest_orders``).
    """

    def __init__(
        self,
        config: ExchangeConfig,
        credentials: Credentials | None = None,
        rate_limiter: RateLimiter | None = None,
        http_client: httpx.AsyncClient | None = None,
        *,
        wall_clock_ms: Callable[[], int] = _wall_ms,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self._credentials = credentials
        self._limiter = rate_limiter
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            base_url=config.rest_url, timeout=config.request_timeout_s
        )
        self._wall_ms = wall_clock_ms
        self._rng = rng or random.Random()
        self.clock_offset_ms = 0
        self._blocked_until_ms: dict[str, int] = {}
        self.stats = RestStats()

    @classmethod
    def with_shared_limits(
        cls, config: ExchangeConfig, redis: EvalClient, credentials: Credentials | None = None
    ) -> BybitRestClient:
        """Return the client as the composition root builds it: every call draws from the Redis buckets.

        ``redis`` is the storage room's client (``storage.redis``); sessions built on this client take their
        ``ws`` subscription tokens from the same limiter (E-08).
        """
        return cls(config, credentials, RateLimiter.for_redis(redis, config))

    @property
    def rate_limiter(self) -> RateLimiter | None:
        """Return the limiter every call draws from (``None``: unlimited); sessions reuse it for ``ws``."""
        return self._limiter

    async def __aenter__(self) -> BybitRestClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the owned HTTP connection pool."""
        if self._owns_http:
            await self._http.aclose()

    def now_ms(self) -> int:
        """Return the exchange's estimated clock in epoch milliseconds (wall clock + measured skew)."""
        return self._wall_ms() + self.clock_offset_ms

    # ----------------------------------------------------------------- core
    def _backoff_s(self, attempt: int, reset_ms: int | None) -> float:
        cfg = self.config
        base = min(cfg.retry_backoff_max_s, cfg.retry_backoff_min_s * 2.0**attempt)
        delay = base / 2 + self._rng.random() * base / 2
        if reset_ms is not None:
            delay = max(delay, min(cfg.retry_backoff_max_s * 2, (reset_ms - self.now_ms()) / 1000))
        return delay

    def _note_limits(self, path: str, headers: httpx.Headers) -> int | None:
        """Remember ``X-Bapi-Limit-*``: a spent limit blocks the path until its reset time."""
        status, reset = headers.get("X-Bapi-Limit-Status"), headers.get("X-Bapi-Limit-Reset-Timestamp")
        if reset is None or not reset.isdigit():
            return None
        reset_ms = int(reset)
        if status is not None and status.strip() == "0":
            self._blocked_until_ms[path] = reset_ms
        return reset_ms

    async def _respect_block(self, path: str) -> None:
        until = self._blocked_until_ms.pop(path, None)
        if until is not None:
            wait = (until - self.now_ms()) / 1000
            if wait > 0:
                await trio.sleep(min(wait, self.config.retry_backoff_max_s * 2))

    def _build(
        self, method: str, path: str, clean: dict[str, Any], signed: bool
    ) -> tuple[str, str | None, dict[str, str]]:
        """Return the URL, body and headers (signed over the exact query string or JSON body)."""
        url, content, payload = path, None, ""
        if method == "GET":
            payload = urlencode({k: str(v) for k, v in clean.items()})
            url = f"{path}?{payload}" if payload else path
        else:
            content = payload = orjson.dumps(clean).decode()
        headers = {"Content-Type": "application/json"}
        if signed:
            if self._credentials is None:
                raise ExchangeConfigError(f"expected credentials for the private endpoint {path}")
            headers.update(
                signed_headers(
                    self._credentials.api_secret.get_secret_value(),
                    self._credentials.api_key,
                    self.now_ms(),
                    self.config.recv_window_ms,
                    payload,
                )
            )
        return url, content, headers

    @staticmethod
    def _envelope(response: httpx.Response, path: str, unsafe: bool) -> tuple[RetCode | None, int, str, Any]:
        """Return ``(code or None on success, retCode, retMsg, result)`` of one response."""
        code = classify_http_status(response.status_code)
        if code is not None:
            return code, -response.status_code, f"HTTP {response.status_code}", None
        try:
            body = orjson.loads(response.content)
            ret_code = int(body["retCode"])
            message = str(body.get("retMsg", ""))
            result = body.get("result")
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            if unsafe:
                raise _OutcomeUnknownError(f"POST {path} returned an unreadable body") from exc
            raise MessageParseError(f"expected a Bybit JSON envelope from {path}") from exc
        return (None if ret_code == 0 else to_retcode(ret_code)), ret_code, message, result

    async def _call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        signed: bool = False,
        bucket: str = "rest_read",
        unsafe: bool = False,
    ) -> Any:
        """Send one request with retries and return Bybit's ``result``.

        ``unsafe`` marks a non-idempotent call: transport failures and server errors raise
        ``_OutcomeUnknownError`` instead of being retried.
        """
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        attempts = self.config.max_attempts
        for attempt in range(attempts):
            last = attempt == attempts - 1
            if self._limiter is not None:
                await self._limiter.acquire(bucket)
            await self._respect_block(path)
            url, content, headers = self._build(method, path, clean, signed)
            self.stats.requests += 1
            try:
                response = await self._http.request(method, url, content=content, headers=headers)
            except httpx.HTTPError as exc:
                self.stats.errors += 1
                if unsafe:
                    raise _OutcomeUnknownError(f"{method} {path} failed in flight: {exc!r}") from exc
                if last:
                    raise ExchangeTransportError(f"{method} {path} failed after {attempts} attempts") from exc
                log.warning("rest transport error", path=path, attempt=attempt + 1, error=repr(exc))
                self.stats.retries += 1
                await trio.sleep(self._backoff_s(attempt, None))
                continue
            reset_ms = self._note_limits(path, response.headers)
            code, ret_code, message, result = self._envelope(response, path, unsafe)
            if code is None:
                return result
            action = action_for(code)
            self.stats.errors += 1
            if unsafe and code in _UNKNOWN_OUTCOME_CODES:
                raise _OutcomeUnknownError(f"{method} {path} got {message} ({ret_code})")
            if action.resync_clock:
                await self.sync_time()
            if action.retry and not last:
                delay = self._backoff_s(attempt, reset_ms if code in _LIMIT_CODES else None)
                log.warning("rest retry", path=path, ret_code=ret_code, attempt=attempt + 1, delay_s=delay)
                self.stats.retries += 1
                await trio.sleep(delay)
                continue
            getattr(log, action.log_level)("rest error", path=path, ret_code=ret_code, ret_msg=message)
            raise BybitApiError(
                f"{method} {path} failed with retCode {ret_code}: {message} — {action.user_message}",
                ret_code=ret_code,
                code=code,
                http_status=response.status_code,
            )
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    # --------------------------------------------------------------- market
    def _scope(self, symbol: str | None, settle_coin: str | None) -> dict[str, object]:
        """Return the category/symbol/settleCoin params; without either, every USDT contract."""
        if symbol is None and settle_coin is None:
            settle_coin = "USDT"
        return {"category": self.config.category, "symbol": symbol, "settleCoin": settle_coin}

    async def get_server_time(self) -> ServerTime:
        """Return ``/v5/market/time``."""
        return ServerTime.model_validate(await self._call("GET", "/v5/market/time"))

    async def sync_time(self) -> int:
        """Measure the clock offset to the exchange (midpoint of the round trip) and return it in ms."""
        before = self._wall_ms()
        server = await self.get_server_time()
        after = self._wall_ms()
        self.clock_offset_ms = server.epoch_ms - (before + after) // 2
        self.stats.clock_syncs += 1
        log.info("clock synced", offset_ms=self.clock_offset_ms)
        return self.clock_offset_ms

    async def get_klines(
        self,
        symbol: str,
        interval: str = "5",
        *,
        start: int | None = None,
        end: int | None = None,
        limit: int = 200,
    ) -> list[Candle]:
        """Return candles oldest first (Bybit sends newest first)."""
        result = await self._call(
            "GET",
            "/v5/market/kline",
            {
                "category": self.config.category,
                "symbol": symbol,
                "interval": interval,
                "start": start,
                "end": end,
                "limit": limit,
            },
        )
        return sorted((Candle.from_row(row) for row in result["list"]), key=lambda c: c.start)

    async def get_orderbook(self, symbol: str, limit: int = 50) -> BookSnapshot:
        """Return a REST order book snapshot (used for gap resync and silence fallback)."""
        r = await self._call(
            "GET",
            "/v5/market/orderbook",
            {"category": self.config.category, "symbol": symbol, "limit": limit},
        )
        try:
            return BookSnapshot(
                r["s"],
                book_levels(r["b"]),
                book_levels(r["a"]),
                int(r["u"]),
                int(r.get("seq", 0)),
                int(r["ts"]),
                None if r.get("cts") is None else int(r["cts"]),
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise MessageParseError(f"malformed orderbook for {symbol}: {exc!r}") from exc

    async def get_tickers(self, symbol: str | None = None) -> list[Ticker]:
        """Return tickers with mark price, funding rate and next funding time."""
        r = await self._call(
            "GET", "/v5/market/tickers", {"category": self.config.category, "symbol": symbol}
        )
        return [Ticker.model_validate(row) for row in r["list"]]

    async def get_instruments(self, symbol: str | None = None) -> list[Instrument]:
        """Return instruments with tick size, qty step and minimums."""
        r = await self._call(
            "GET", "/v5/market/instruments-info", {"category": self.config.category, "symbol": symbol}
        )
        return [Instrument.model_validate(row) for row in r["list"]]

    # ---------------------------------------------------------------- trade
    async def create_order(self, request: OrderRequest) -> OrderAck:
        """Place an order; if its outcome is unknown, settle it by ``orderLinkId`` (exactly one order).

        Raises:
            BybitApiError: the exchange rejected the order.
            OrderOutcomeUnknownError: neither the create nor the follow-up queries gave an answer.
        """
        link = request.order_link_id
        for round_ in range(2):
            try:
                r = await self._call(
                    "POST",
                    "/v5/order/create",
                    request.to_body(),
                    signed=True,
                    bucket="rest_order",
                    unsafe=True,
                )
                return OrderAck.model_validate(r)
            except _OutcomeUnknownError as exc:
                self.stats.unknown_outcomes += 1
                log.warning("order outcome unknown", order_link_id=link, error=str(exc))
            except BybitApiError as exc:
                if exc.code is not RetCode.ORDER_LINK_ID_DUPLICATE:
                    raise
                log.info("order link id already placed", order_link_id=link)
            for attempt in range(self.config.outcome_query_attempts):
                try:
                    found = await self.get_open_orders(request.symbol, order_link_id=link)
                except (ExchangeTransportError, BybitApiError) as exc:
                    log.warning("order outcome query failed", order_link_id=link, error=str(exc))
                    found = []
                if found:
                    return OrderAck(order_id=found[0].order_id, order_link_id=link)
                await trio.sleep(self._backoff_s(attempt, None))
            log.warning("order absent after unknown outcome", order_link_id=link, round=round_ + 1)
        raise OrderOutcomeUnknownError(
            f"expected order {link!r} to be found or rejected, got no answer", order_link_id=link
        )

    async def cancel_order(
        self, symbol: str, *, order_id: str | None = None, order_link_id: str | None = None
    ) -> OrderAck:
        """Cancel one order by exchange id or client id."""
        if order_id is None and order_link_id is None:
            raise ValueError("expected order_id or order_link_id")
        r = await self._call(
            "POST",
            "/v5/order/cancel",
            {
                "category": self.config.category,
                "symbol": symbol,
                "orderId": order_id,
                "orderLinkId": order_link_id,
            },
            signed=True,
            bucket="rest_order",
        )
        return OrderAck.model_validate(r)

    async def get_open_orders(
        self,
        symbol: str | None = None,
        *,
        order_id: str | None = None,
        order_link_id: str | None = None,
        settle_coin: str | None = None,
    ) -> list[OrderUpdate]:
        """Return ``/v5/order/realtime`` rows (open orders, or one recent order by id)."""
        r = await self._call(
            "GET",
            "/v5/order/realtime",
            {
                **self._scope(symbol, settle_coin),
                "orderId": order_id,
                "orderLinkId": order_link_id,
            },
            signed=True,
        )
        return [order_from_raw(row, self.config.category) for row in r["list"]]

    async def get_executions(
        self,
        *,
        symbol: str | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int = 100,
        cursor: str | None = None,
        order_id: str | None = None,
        order_link_id: str | None = None,
        exec_type: str | None = None,
    ) -> ExecutionPage:
        """Return one page of ``/v5/execution/list`` (fills and ``Funding`` settlements, newest first)."""
        r = await self._call(
            "GET",
            "/v5/execution/list",
            {
                "category": self.config.category,
                "symbol": symbol,
                "orderId": order_id,
                "orderLinkId": order_link_id,
                "execType": exec_type,
                "startTime": start_time,
                "endTime": end_time,
                "limit": limit,
                "cursor": cursor or None,
            },
            signed=True,
        )
        items = tuple(execution_from_raw(row, self.config.category) for row in r["list"])
        return ExecutionPage(items, str(r.get("nextPageCursor") or ""))

    async def get_executions_between(
        self, start_time: int, end_time: int, max_pages: int = 20
    ) -> list[ExecutionReport]:
        """Return every execution in ``[start_time, end_time]`` following cursors (backfill)."""
        out: list[ExecutionReport] = []
        cursor: str | None = None
        for _ in range(max_pages):
            page = await self.get_executions(start_time=start_time, end_time=end_time, cursor=cursor)
            out.extend(page.items)
            if not page.next_cursor or not page.items:
                break
            cursor = page.next_cursor
        return out

    # ------------------------------------------------------ position/account
    async def get_positions(
        self, symbol: str | None = None, settle_coin: str = "USDT"
    ) -> list[PositionUpdate]:
        """Return ``/v5/position/list``."""
        r = await self._call(
            "GET",
            "/v5/position/list",
            {
                "category": self.config.category,
                "symbol": symbol,
                "settleCoin": None if symbol else settle_coin,
            },
            signed=True,
        )
        return [position_from_raw(row, self.config.category) for row in r["list"]]

    async def get_account_info(self) -> AccountInfo:
        """Return ``/v5/account/info``."""
        return AccountInfo.model_validate(await self._call("GET", "/v5/account/info", signed=True))

    async def get_wallet_balance(
        self, account_type: str = "UNIFIED", coin: str | None = None
    ) -> list[WalletUpdate]:
        """Return ``/v5/account/wallet-balance``."""
        r = await self._call(
            "GET", "/v5/account/wallet-balance", {"accountType": account_type, "coin": coin}, signed=True
        )
        return [wallet_from_raw(row) for row in r["list"]]
