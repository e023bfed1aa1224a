"""The REST client over real HTTP to a scripted loopback server: typed results, signing, retries, the
error map, limit headers, clock skew and unknown-outcome order creates."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import trio
from bybit_fakes import FakeRest, Reply, Request, err, ok, running_rest, shared_fixture

from exchange.bybit.models import OrderRequest
from exchange.bybit.rest import BybitRestClient
from exchange.bybit.retcodes import RetCode
from exchange.config import Credentials, ExchangeConfig
from exchange.errors import BybitApiError, ExchangeTransportError, OrderOutcomeUnknownError

CREDS = Credentials(api_key="test-key", api_secret="test-secret")  # type: ignore[arg-type]


def config(url: str, **kw: Any) -> ExchangeConfig:
    values: dict[str, Any] = {
        "retry_backoff_min_s": 0.001,
        "retry_backoff_max_s": 0.01,
        "request_timeout_s": 2.0,
    }
    values.update(kw)
    return ExchangeConfig(rest_url=url, **values)


def fixture_result(name: str) -> Reply:
    return Reply(body=shared_fixture(f"rest/{name}"))


async def test_market_endpoints_return_typed_decimal_results() -> None:
    fake = FakeRest()
    fake.route("GET", "/v5/market/time", lambda r: fixture_result("market_time.json"))
    fake.route("GET", "/v5/market/kline", lambda r: fixture_result("market_kline_inverse_BTCUSD_docs.json"))
    fake.route("GET", "/v5/market/orderbook", lambda r: fixture_result("market_orderbook_BTCUSDT_docs.json"))
    fake.route(
        "GET", "/v5/market/tickers", lambda r: fixture_result("market_tickers_inverse_BTCUSD_docs.json")
    )
    fake.route(
        "GET",
        "/v5/market/instruments-info",
        lambda r: fixture_result("market_instruments_info_linear_BTCUSDT_docs.json"),
    )
    async with running_rest(fake), BybitRestClient(config(fake.url)) as client:
        assert (await client.get_server_time()).epoch_ms == 1688639403423
        candles = await client.get_klines("BTCUSD", "60", limit=3)
        assert [c.start for c in candles] == sorted(c.start for c in candles)
        assert candles[-1].close == Decimal("17055.5")
        book = await client.get_orderbook("BTCUSDT")
        assert book.asks[0] == (Decimal("65557.7"), Decimal("16.606555"))
        assert book.u == 230704
        [t] = await client.get_tickers("BTCUSD")
        assert t.funding_rate == Decimal("0.0001")
        assert t.next_funding_time == 1760371200000
        [inst] = await client.get_instruments("BTCUSDT")
        assert inst.tick_size == Decimal("0.10")
        assert inst.qty_step == Decimal("0.001")
        assert inst.min_order_qty == Decimal("0.001")
    kline_req = fake.hits("/v5/market/kline")[0]
    assert kline_req.query == {"category": "linear", "symbol": "BTCUSD", "interval": "60", "limit": "3"}
    assert "x-bapi-sign" not in kline_req.headers


async def test_private_endpoints_are_signed_and_typed() -> None:
    fake = FakeRest(secret="test-secret")
    fake.route("GET", "/v5/order/realtime", lambda r: fixture_result("order_realtime_linear_ETHUSDT.json"))
    fake.route(
        "GET", "/v5/position/list", lambda r: fixture_result("position_list_linear_XRPUSDT_docs_2023.json")
    )
    fake.route("GET", "/v5/position/closed-pnl", lambda r: fixture_result("position_closed_pnl_linear.json"))
    fake.route("GET", "/v5/account/info", lambda r: fixture_result("account_info.json"))
    fake.route(
        "GET", "/v5/account/wallet-balance", lambda r: fixture_result("account_wallet_balance_unified.json")
    )
    fake.route(
        "GET",
        "/v5/execution/list",
        lambda r: ok(
            {"list": [shared_fixture("ws_private/execution_push.json")["data"][0]], "nextPageCursor": ""}
        ),
    )
    fake.route("POST", "/v5/order/cancel", lambda r: ok({"orderId": "abc", "orderLinkId": "l1"}))
    async with running_rest(fake), BybitRestClient(config(fake.url), CREDS) as client:
        [order] = await client.get_open_orders("ETHUSDT")
        assert order.order_link_id == "test-000005"
        assert order.price == Decimal("1600.00")
        [pos] = await client.get_positions("XRPUSDT")
        assert pos.size == Decimal("100")
        assert pos.entry_price == Decimal("0.3615")
        [pnl] = await client.get_closed_pnl()
        assert pnl.closed_pnl == Decimal("-47.4065323")
        assert pnl.fill_count == 4
        assert (await client.get_account_info()).unified_margin_status == 4
        [wallet] = await client.get_wallet_balance()
        assert wallet.total_equity == Decimal("3.31216591")
        execs = await client.get_executions_between(1, 2)
        assert execs[0].exec_id == "0ab1bdf7-4219-438b-b30a-32ec863018f7"
        ack = await client.cancel_order("BTCUSDT", order_link_id="l1")
        assert ack.order_id == "abc"
    assert all(r.headers.get("x-bapi-api-key") == "test-key" for r in fake.requests)
    cancel = fake.hits("/v5/order/cancel")[0]
    assert json.loads(cancel.body) == {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "l1"}


async def test_a_wrong_secret_is_rejected_as_a_signature_error() -> None:
    fake = FakeRest(secret="the-real-secret")
    fake.route("GET", "/v5/account/info", lambda r: fixture_result("account_info.json"))
    async with running_rest(fake), BybitRestClient(config(fake.url), CREDS) as client:
        with pytest.raises(BybitApiError) as info:
            await client.get_account_info()
    assert info.value.code is RetCode.SIGNATURE_ERROR
    assert not info.value.retryable
    assert len(fake.requests) == 1  # never retried


async def test_rate_limit_burst_is_retried_with_backoff_then_succeeds() -> None:
    fake = FakeRest()
    replies = [
        err(10006, "Too many visits!"),
        Reply(status=429, body={}),
        Reply(status=503, body={}),
        fixture_result("market_time.json"),
    ]
    fake.route("GET", "/v5/market/time", lambda r: replies.pop(0))
    async with running_rest(fake), BybitRestClient(config(fake.url)) as client:
        assert (await client.get_server_time()).time_second == 1688639403
        assert client.stats.retries == 3
    assert len(fake.requests) == 4


async def test_retries_stop_after_five_attempts() -> None:
    fake = FakeRest()
    fake.route("GET", "/v5/market/time", lambda r: err(10016, "server error"))
    async with running_rest(fake), BybitRestClient(config(fake.url)) as client:
        with pytest.raises(BybitApiError) as info:
            await client.get_server_time()
    assert info.value.code is RetCode.SERVER_ERROR
    assert len(fake.requests) == 5


async def test_exhausted_limit_headers_delay_the_next_request_until_reset() -> None:
    fake = FakeRest()
    clock = {"now": 1_000_000}
    fake.route(
        "GET",
        "/v5/market/time",
        lambda r: Reply(
            body=shared_fixture("rest/market_time.json"),
            headers={
                "X-Bapi-Limit": "10",
                "X-Bapi-Limit-Status": "0",
                "X-Bapi-Limit-Reset-Timestamp": str(clock["now"] + 50),
            },
        ),
    )
    async with (
        running_rest(fake),
        BybitRestClient(
            config(fake.url, retry_backoff_max_s=1.0), wall_clock_ms=lambda: clock["now"]
        ) as client,
    ):
        await client.get_server_time()
        start = trio.current_time()
        await client.get_server_time()
        assert trio.current_time() - start >= 0.045


async def test_timestamp_out_of_window_resyncs_the_clock_and_retries() -> None:
    fake = FakeRest()
    calls = {"n": 0}

    def account(r: Request) -> Reply:
        calls["n"] += 1
        return (
            err(10002, "invalid request, please check your server timestamp")
            if calls["n"] == 1
            else fixture_result("account_info.json")
        )

    server_ms = 1688639403423
    fake.route("GET", "/v5/account/info", account)
    fake.route("GET", "/v5/market/time", lambda r: fixture_result("market_time.json"))
    async with (
        running_rest(fake),
        BybitRestClient(config(fake.url), CREDS, wall_clock_ms=lambda: server_ms - 7000) as client,
    ):
        await client.get_account_info()
        assert client.clock_offset_ms == 7000
        assert client.now_ms() == server_ms
    stamps = [int(r.headers["x-bapi-timestamp"]) for r in fake.hits("/v5/account/info")]
    assert stamps == [server_ms - 7000, server_ms]


class _Venue:
    """Records orders by orderLinkId like the exchange does (duplicates rejected with 110072)."""

    def __init__(self, drop_first: int) -> None:
        self.orders: dict[str, str] = {}
        self.drop_first = drop_first

    def create(self, r: Request) -> Reply:
        body = json.loads(r.body)
        link = body["orderLinkId"]
        if link in self.orders:
            return err(110072, "OrderLinkedID is duplicate")
        self.orders[link] = f"oid-{len(self.orders) + 1}"
        if self.drop_first > 0:
            self.drop_first -= 1
            return Reply(drop=True)
        return ok({"orderId": self.orders[link], "orderLinkId": link})

    def realtime(self, r: Request) -> Reply:
        link = r.query.get("orderLinkId")
        rows = []
        if link in self.orders:
            row = dict(shared_fixture("rest/order_realtime_linear_ETHUSDT.json")["result"]["list"][0])
            row.update(orderId=self.orders[link], orderLinkId=link)
            rows.append(row)
        return ok({"list": rows, "nextPageCursor": "", "category": "linear"})


async def test_lost_create_response_is_resolved_by_order_link_id_with_exactly_one_order() -> None:
    venue = _Venue(drop_first=1)
    fake = FakeRest(secret="test-secret")
    fake.route("POST", "/v5/order/create", venue.create)
    fake.route("GET", "/v5/order/realtime", venue.realtime)
    request = OrderRequest(
        symbol="BTCUSDT",
        side="Buy",
        order_type="Limit",
        qty=Decimal("0.010"),
        price=Decimal("25000.0"),
        order_link_id="link-1",
    )
    async with running_rest(fake), BybitRestClient(config(fake.url), CREDS) as client:
        ack = await client.create_order(request)
        assert client.stats.unknown_outcomes == 1
    assert ack.order_id == "oid-1"
    assert ack.order_link_id == "link-1"
    assert len(venue.orders) == 1
    assert len(fake.hits("/v5/order/create")) == 1
    assert fake.hits("/v5/order/realtime")[0].query["orderLinkId"] == "link-1"
    body = json.loads(fake.hits("/v5/order/create")[0].body)
    assert body["qty"] == "0.010"
    assert body["price"] == "25000.0"
    assert body["orderLinkId"] == "link-1"


async def test_order_create_server_error_is_never_blindly_resubmitted() -> None:
    fake = FakeRest(secret="test-secret")
    fake.route("POST", "/v5/order/create", lambda r: Reply(status=502, body={}))
    fake.route("GET", "/v5/order/realtime", lambda r: ok({"list": [], "nextPageCursor": ""}))
    request = OrderRequest(
        symbol="BTCUSDT", side="Sell", order_type="Market", qty=Decimal("1"), order_link_id="x2"
    )
    async with (
        running_rest(fake),
        BybitRestClient(config(fake.url, outcome_query_attempts=2), CREDS) as client,
    ):
        with pytest.raises(OrderOutcomeUnknownError) as info:
            await client.create_order(request)
    assert info.value.order_link_id == "x2"
    # one create, absence confirmed twice, one resubmit with the same orderLinkId, absence confirmed again
    assert len(fake.hits("/v5/order/create")) == 2
    assert len(fake.hits("/v5/order/realtime")) == 4


async def test_rejections_are_mapped_and_not_retried() -> None:
    fake = FakeRest(secret="test-secret")
    fake.route("POST", "/v5/order/create", lambda r: err(110007, "ab not enough for new order"))
    request = OrderRequest(
        symbol="BTCUSDT", side="Buy", order_type="Market", qty=Decimal("1"), order_link_id="x3"
    )
    async with running_rest(fake), BybitRestClient(config(fake.url), CREDS) as client:
        with pytest.raises(BybitApiError) as info:
            await client.create_order(request)
    assert info.value.code is RetCode.AVAILABLE_BALANCE_INSUFFICIENT
    assert len(fake.requests) == 1


async def test_unreachable_server_raises_transport_error_after_retries() -> None:
    async with BybitRestClient(config("http://127.0.0.1:1")) as client:
        with pytest.raises(ExchangeTransportError):
            await client.get_server_time()
        assert client.stats.requests == 5
