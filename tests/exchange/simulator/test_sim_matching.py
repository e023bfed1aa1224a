"""Orders match against the simulated book with Bybit's semantics, fees and rejections."""

# ruff: noqa: PT018  # compound asserts read as one sentence about one message
from __future__ import annotations

from decimal import Decimal

from sim_helpers import API_KEY, API_SECRET, Bybit, freeze

from exchange.simulator import Simulator

TAKER = Decimal("0.00055")
MAKER = Decimal("0.0002")


def _best_ask(sim: Simulator) -> tuple[Decimal, Decimal]:
    market = sim.market("BTCUSDT")
    price = min(market.book.asks)
    return market.spec.price_of(price), market.spec.qty_of(market.book.asks[price])


async def _executions(bybit: Bybit, order_id: str) -> list[dict]:
    body = (await bybit.get("/v5/execution/list", category="linear", orderId=order_id)).json()
    return body["result"]["list"]  # type: ignore[no-any-return]


async def test_market_buy_fills_and_charges_the_exact_taker_fee(sim: Simulator, bybit: Bybit) -> None:
    await freeze(sim)
    body = await bybit.order(side="Buy", orderType="Market", qty="0.050", orderLinkId="m-1")
    assert body["retCode"] == 0
    fills = await _executions(bybit, body["result"]["orderId"])
    assert sum(Decimal(f["execQty"]) for f in fills) == Decimal("0.050")
    for fill in fills:
        assert fill["execType"] == "Trade" and fill["isMaker"] is False
        assert Decimal(fill["execFee"]) == Decimal(fill["execPrice"]) * Decimal(fill["execQty"]) * TAKER
        assert fill["orderLinkId"] == "m-1"
    wallet = (await bybit.get("/v5/account/wallet-balance", accountType="UNIFIED")).json()["result"]["list"][
        0
    ]
    fees = sum(Decimal(f["execFee"]) for f in fills)
    assert Decimal(wallet["totalWalletBalance"]) == Decimal("10000") - fees


async def test_ioc_limit_fills_what_the_book_has_and_cancels_the_rest(sim: Simulator, bybit: Bybit) -> None:
    sim.add_account(API_KEY, API_SECRET, Decimal("10000000"))
    await freeze(sim)
    price, size = _best_ask(sim)
    body = await bybit.order(
        side="Buy",
        orderType="Limit",
        price=str(price),
        qty=str(size + Decimal("0.5")),
        timeInForce="IOC",
        orderLinkId="ioc-1",
    )
    assert body["retCode"] == 0
    order = (await bybit.get("/v5/order/realtime", category="linear", orderLinkId="ioc-1")).json()
    order = order["result"]["list"][0]
    assert order["orderStatus"] == "Cancelled"
    assert Decimal(order["cumExecQty"]) == size
    assert Decimal(order["leavesQty"]) == 0
    fills = await _executions(bybit, body["result"]["orderId"])
    assert [Decimal(f["execPrice"]) for f in fills] == [price]


async def test_gtc_limit_rests_then_fills_as_maker_when_the_book_crosses(
    sim: Simulator, bybit: Bybit
) -> None:
    await freeze(sim)
    price, _ = _best_ask(sim)
    below = price - Decimal("50.00")
    body = await bybit.order(
        side="Buy", orderType="Limit", price=str(below), qty="0.010", orderLinkId="gtc-1"
    )
    assert body["retCode"] == 0
    open_orders = (await bybit.get("/v5/order/realtime", category="linear", symbol="BTCUSDT")).json()
    assert [o["orderLinkId"] for o in open_orders.get("result", {}).get("list", [])] == ["gtc-1"], (
        body,
        open_orders,
    )
    market = sim.market("BTCUSDT")
    below_ticks = int(below / market.spec.tick_size)
    market.book.asks[below_ticks] = 1000  # a seller arrives at our price
    order_id = body["result"]["orderId"]

    async def filled() -> bool:
        return len(await _executions(bybit, order_id)) > 0

    from sim_helpers import eventually

    await eventually(filled)
    fill = (await _executions(bybit, order_id))[0]
    assert fill["isMaker"] is True and Decimal(fill["execPrice"]) == below
    assert Decimal(fill["execFee"]) == below * Decimal("0.010") * MAKER


async def test_reduce_only_cannot_increase_and_is_truncated_to_the_position(
    sim: Simulator, bybit: Bybit
) -> None:
    await freeze(sim)
    rejected = await bybit.order(side="Sell", orderType="Market", qty="0.010", reduceOnly=True)
    assert rejected["retCode"] == 110017
    assert (await bybit.order(side="Buy", orderType="Market", qty="0.010"))["retCode"] == 0
    same_side = await bybit.order(side="Buy", orderType="Market", qty="0.010", reduceOnly=True)
    assert same_side["retCode"] == 110017
    closing = await bybit.order(
        side="Sell", orderType="Market", qty="0.050", reduceOnly=True, orderLinkId="ro"
    )
    assert closing["retCode"] == 0
    order = (await bybit.get("/v5/order/realtime", category="linear", orderLinkId="ro")).json()["result"][
        "list"
    ][0]
    assert order["qty"] == "0.010" and order["orderStatus"] == "Filled"
    position = (await bybit.get("/v5/position/list", category="linear", symbol="BTCUSDT")).json()
    assert position["result"]["list"][0]["size"] == "0"
    pnl = (await bybit.get("/v5/position/closed-pnl", category="linear", symbol="BTCUSDT")).json()
    record = pnl["result"]["list"][0]
    assert record["closedSize"] == "0.010" and record["orderId"] == closing["result"]["orderId"]


async def test_position_list_reports_size_side_and_average_price(sim: Simulator, bybit: Bybit) -> None:
    await freeze(sim)
    body = await bybit.order(side="Sell", orderType="Market", qty="0.020")
    fills = await _executions(bybit, body["result"]["orderId"])
    value = sum(Decimal(f["execPrice"]) * Decimal(f["execQty"]) for f in fills)
    position = (await bybit.get("/v5/position/list", category="linear", symbol="BTCUSDT")).json()
    item = position["result"]["list"][0]
    assert item["side"] == "Sell" and Decimal(item["size"]) == Decimal("0.020")
    assert Decimal(item["avgPrice"]) == (value / Decimal("0.020")).quantize(Decimal("0.00000001"))
    every = (await bybit.get("/v5/position/list", category="linear", settleCoin="USDT")).json()
    assert [p["symbol"] for p in every["result"]["list"]] == ["BTCUSDT"]


async def test_rejections_use_bybit_ret_codes(sim: Simulator, bybit: Bybit) -> None:
    await freeze(sim)
    price, _ = _best_ask(sim)
    below_min = await bybit.order(side="Buy", orderType="Market", qty="0.0001")
    assert below_min["retCode"] == 10001 and "minimum" in below_min["retMsg"]
    off_step = await bybit.order(side="Buy", orderType="Market", qty="0.0015")
    assert off_step["retCode"] == 10001
    off_tick = await bybit.order(
        side="Buy", orderType="Limit", qty="0.001", price=str(price - Decimal("0.05"))
    )
    assert off_tick["retCode"] == 10001 and "tick" in off_tick["retMsg"].lower()
    too_big = await bybit.order(side="Buy", orderType="Limit", qty="10.000", price=str(price))
    assert too_big["retCode"] == 110007
    assert (await bybit.order(side="Buy", orderType="Market", qty="0.001", orderLinkId="dup"))["retCode"] == 0
    duplicate = await bybit.order(side="Buy", orderType="Market", qty="0.001", orderLinkId="dup")
    assert duplicate["retCode"] == 110072
    assert (
        await bybit.post(
            "/v5/order/cancel", {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "dup"}
        )
    ).json()["retCode"] == 110001


async def test_cancel_by_order_link_id_removes_the_open_order(sim: Simulator, bybit: Bybit) -> None:
    await freeze(sim)
    price, _ = _best_ask(sim)
    body = await bybit.order(
        side="Buy", orderType="Limit", qty="0.001", price=str(price - 100), orderLinkId="c-1"
    )
    assert body["retCode"] == 0
    cancel = await bybit.post(
        "/v5/order/cancel", {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "c-1"}
    )
    assert cancel.json()["result"] == {"orderId": body["result"]["orderId"], "orderLinkId": "c-1"}
    open_orders = (await bybit.get("/v5/order/realtime", category="linear", symbol="BTCUSDT")).json()
    assert open_orders["result"]["list"] == []
    closed = (await bybit.get("/v5/order/realtime", category="linear", orderLinkId="c-1")).json()
    assert closed["result"]["list"][0]["orderStatus"] == "Cancelled"


async def test_funding_is_settled_every_8_hours_on_open_positions(bybit: Bybit) -> None:
    from sim_helpers import eventually

    from exchange.simulator import SimulatorConfig, open_simulator

    eight_hours = 8 * 3_600_000
    start = (
        1_700_000_000_000 // eight_hours + 1
    ) * eight_hours - 60_000  # one exchange minute before funding
    config = SimulatorConfig(
        symbols=("BTCUSDT",),
        speed=120,
        book_interval_ms=20,
        history_bars=5,
        start_time_ms=start,
        read_rate_limit_per_s=1000,
    )
    async with open_simulator(config) as venue:
        venue.add_account(API_KEY, API_SECRET)
        client = Bybit(bybit.http)
        client.http.base_url = venue.rest_url  # type: ignore[assignment]
        assert (await client.order(side="Buy", orderType="Market", qty="0.010"))["retCode"] == 0

        async def funded() -> list[dict]:
            body = (await client.get("/v5/execution/list", category="linear", execType="Funding")).json()
            assert body["retCode"] == 0, body
            return body["result"]["list"]  # type: ignore[no-any-return]

        async def settled() -> bool:
            return bool(await funded())

        await eventually(settled, within=10)
        funding = (await funded())[0]
        assert int(funding["execTime"]) == start + 60_000
        fee = Decimal(funding["execQty"]) * Decimal(funding["execPrice"]) * Decimal(funding["feeRate"])
        assert Decimal(funding["execFee"]) == fee
