"""Conditional (trigger) orders and amend behave as on Bybit: Untriggered until the price crosses, then a
normal order; reduce-only never flips a position; amend moves the trigger; errors carry Bybit retCodes."""

# ruff: noqa: PT018  # compound asserts read as one sentence about one message
from __future__ import annotations

from decimal import Decimal
from typing import Any

from sim_helpers import Bybit, freeze, private_ws, recv_json, wait_order

from exchange.simulator import Simulator

SYMBOL = "BTCUSDT"


def _last(sim: Simulator) -> Decimal:
    return sim.market(SYMBOL).last_price()


async def _position(bybit: Bybit) -> dict[str, Any]:
    body = (await bybit.get("/v5/position/list", category="linear", symbol=SYMBOL)).json()
    return body["result"]["list"][0]  # type: ignore[no-any-return]


async def _open_long(bybit: Bybit, qty: str = "0.010") -> None:
    body = await bybit.order(side="Buy", orderType="Market", qty=qty)
    assert body["retCode"] == 0, body


async def _stop_loss(bybit: Bybit, trigger: Decimal, link: str, qty: str = "0.010") -> dict[str, Any]:
    return await bybit.order(
        side="Sell",
        orderType="Market",
        qty=qty,
        triggerPrice=str(trigger),
        triggerDirection=2,
        reduceOnly=True,
        closeOnTrigger=True,
        orderLinkId=link,
    )


async def test_stop_loss_waits_untriggered_then_closes_the_position_reduce_only(
    sim: Simulator, bybit: Bybit
) -> None:
    await freeze(sim)
    async with private_ws(sim, ("order", "execution")) as ws:
        await _open_long(bybit)
        sl_price = _last(sim) - Decimal("100.00")
        body = await _stop_loss(bybit, sl_price, "sl-1", qty="0.050")
        assert body["retCode"] == 0, body
        order = await wait_order(bybit, "sl-1", "Untriggered")
        assert order["stopOrderType"] == "Stop" and Decimal(order["triggerPrice"]) == sl_price
        assert order["triggerDirection"] == 2 and order["reduceOnly"] is True and order["closeOnTrigger"]
        assert order["qty"] == "0.010"  # capped to the position
        assert Decimal((await _position(bybit))["size"]) == Decimal("0.010")

        sim.set_price(SYMBOL, sl_price - Decimal("20.00"))
        closed = await wait_order(bybit, "sl-1", "Filled")
        assert Decimal(closed["cumExecQty"]) == Decimal("0.010")
        assert (await _position(bybit))["size"] == "0"
        rows: list[dict[str, Any]] = []
        pushed: list[dict[str, Any]] = []
        while not rows or rows[-1]["orderStatus"] != "Filled":
            msg = await recv_json(ws)
            mine = [o for o in msg.get("data", []) if o.get("orderLinkId") == "sl-1"]
            (rows if msg.get("topic") == "order" else pushed).extend(mine)
        assert [o["orderStatus"] for o in rows] == ["Untriggered", "Triggered", "Filled"]
        assert all(o["stopOrderType"] == "Stop" and Decimal(o["triggerPrice"]) == sl_price for o in rows)
        assert rows[0]["lastPriceOnCreated"] and rows[-1]["reduceOnly"] is True
        assert pushed and all(e["execType"] == "Trade" and e["stopOrderType"] == "Stop" for e in pushed)
        assert all(e["createType"] == "CreateByStopOrder" for e in pushed)
    fills = (await bybit.get("/v5/execution/list", category="linear", orderLinkId="sl-1")).json()
    assert all(f["stopOrderType"] == "Stop" for f in fills["result"]["list"])
    assert sum(Decimal(f["closedSize"]) for f in fills["result"]["list"]) == Decimal("0.010")


async def test_a_conditional_order_refuses_a_trigger_already_crossed(sim: Simulator, bybit: Bybit) -> None:
    await freeze(sim)
    await _open_long(bybit)
    last = _last(sim)
    falling = await _stop_loss(bybit, last + Decimal("10.00"), "bad-fall")
    assert falling["retCode"] == 110093 and "expect Falling" in falling["retMsg"]
    rising = await bybit.order(
        side="Buy", orderType="Market", qty="0.010", triggerPrice=str(last - 10), triggerDirection=1
    )
    assert rising["retCode"] == 110092
    no_direction = await bybit.order(side="Buy", orderType="Market", qty="0.010", triggerPrice=str(last + 10))
    assert no_direction["retCode"] == 10001


async def test_reduce_only_conditional_needs_a_position_to_reduce(sim: Simulator, bybit: Bybit) -> None:
    await freeze(sim)
    body = await _stop_loss(bybit, _last(sim) - Decimal("100.00"), "no-pos")
    assert body["retCode"] == 110017


async def test_a_triggered_conditional_limit_rests_as_a_normal_order(sim: Simulator, bybit: Bybit) -> None:
    await freeze(sim)
    last = _last(sim)
    body = await bybit.order(
        side="Buy",
        orderType="Limit",
        qty="0.010",
        price=str(last - Decimal("500.00")),
        triggerPrice=str(last + Decimal("50.00")),
        triggerDirection=1,
        orderLinkId="breakout",
    )
    assert body["retCode"] == 0, body
    await wait_order(bybit, "breakout", "Untriggered")
    sim.set_price(SYMBOL, last + Decimal("60.00"))
    order = await wait_order(bybit, "breakout", "New")
    assert order["stopOrderType"] == "Stop" and order["cumExecQty"] == "0"


async def test_amend_moves_the_stop_loss_trigger(sim: Simulator, bybit: Bybit) -> None:
    await freeze(sim)
    await _open_long(bybit)
    entry = _last(sim)
    await _stop_loss(bybit, entry - Decimal("100.00"), "sl-be")
    moved = await bybit.post(
        "/v5/order/amend",
        {"category": "linear", "symbol": SYMBOL, "orderLinkId": "sl-be", "triggerPrice": str(entry - 30)},
    )
    assert moved.json()["retCode"] == 0 and moved.json()["result"]["orderLinkId"] == "sl-be"
    order = await wait_order(bybit, "sl-be", "Untriggered")
    assert Decimal(order["triggerPrice"]) == entry - 30
    sim.set_price(SYMBOL, entry - Decimal("50.00"))  # below the new trigger, above the old one
    await wait_order(bybit, "sl-be", "Filled")
    assert (await _position(bybit))["size"] == "0"


async def test_amend_errors_carry_bybit_ret_codes(sim: Simulator, bybit: Bybit) -> None:
    await freeze(sim)
    await _open_long(bybit)
    last = _last(sim)
    await _stop_loss(bybit, last - Decimal("100.00"), "sl-x")

    async def amend(**fields: Any) -> dict[str, Any]:
        body = {"category": "linear", "symbol": SYMBOL} | fields
        return (await bybit.post("/v5/order/amend", body)).json()  # type: ignore[no-any-return]

    assert (await amend(orderLinkId="nope", triggerPrice=str(last - 50)))["retCode"] == 110001
    assert (await amend(orderLinkId="sl-x", triggerPrice=str(last - 100)))["retCode"] == 34040
    assert (await amend(orderLinkId="sl-x", triggerPrice=str(last + 10)))["retCode"] == 110093
    assert (await amend(orderLinkId="sl-x", qty="0.0005"))["retCode"] == 10001
    assert (await amend(orderLinkId="sl-x", price="1000.00"))["retCode"] == 10001  # a Market order
    assert (await amend())["retCode"] == 10001
    filled = await bybit.order(side="Buy", orderType="Market", qty="0.001", orderLinkId="done")
    assert filled["retCode"] == 0
    assert (await amend(orderLinkId="done", qty="0.002"))["retCode"] == 110001


async def test_amend_changes_a_resting_limit_and_a_crossing_price_fills_at_once(
    sim: Simulator, bybit: Bybit
) -> None:
    await freeze(sim)
    last = _last(sim)
    body = await bybit.order(
        side="Buy", orderType="Limit", qty="0.010", price=str(last - 200), orderLinkId="lim"
    )
    assert body["retCode"] == 0
    amended = await bybit.post(
        "/v5/order/amend", {"category": "linear", "symbol": SYMBOL, "orderLinkId": "lim", "qty": "0.004"}
    )
    assert amended.json()["retCode"] == 0
    order = await wait_order(bybit, "lim", "New")
    assert order["qty"] == "0.004" and order["leavesQty"] == "0.004"
    crossing = await bybit.post(
        "/v5/order/amend",
        {"category": "linear", "symbol": SYMBOL, "orderId": order["orderId"], "price": str(last + 200)},
    )
    assert crossing.json()["retCode"] == 0
    filled = await wait_order(bybit, "lim", "Filled")
    assert Decimal(filled["cumExecQty"]) == Decimal("0.004")


async def test_cancelling_an_untriggered_order_deactivates_it_and_cancel_all_filters(
    sim: Simulator, bybit: Bybit
) -> None:
    await freeze(sim)
    await _open_long(bybit)
    last = _last(sim)
    await _stop_loss(bybit, last - 100, "sl-c")
    await bybit.order(side="Sell", orderType="Limit", qty="0.005", price=str(last + 300), orderLinkId="tp-c")
    open_stops = (await bybit.get("/v5/order/realtime", category="linear", orderFilter="StopOrder")).json()
    assert [o["orderLinkId"] for o in open_stops["result"]["list"]] == ["sl-c"]
    plain = (await bybit.get("/v5/order/realtime", category="linear", orderFilter="Order")).json()
    assert [o["orderLinkId"] for o in plain["result"]["list"]] == ["tp-c"]
    stops = (
        await bybit.post(
            "/v5/order/cancel-all", {"category": "linear", "symbol": SYMBOL, "orderFilter": "StopOrder"}
        )
    ).json()
    assert stops["retCode"] == 0 and [o["orderLinkId"] for o in stops["result"]["list"]] == ["sl-c"]
    assert stops["result"]["success"] == "1"
    history = (await bybit.get("/v5/order/history", category="linear", orderLinkId="sl-c")).json()
    assert history["result"]["list"][0]["orderStatus"] == "Deactivated"
    rest = (await bybit.post("/v5/order/cancel-all", {"category": "linear", "symbol": SYMBOL})).json()
    assert [o["orderLinkId"] for o in rest["result"]["list"]] == ["tp-c"]
    open_orders = (await bybit.get("/v5/order/realtime", category="linear", symbol=SYMBOL)).json()
    assert open_orders["result"]["list"] == []
