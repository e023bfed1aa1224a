"""The order-path fault knobs misbehave as documented: fills delayed, executions duplicated or swapped on the
private socket, a price moved by the admin API; all set through ``/sim/faults`` like the other knobs."""

# ruff: noqa: PT018  # compound asserts read as one sentence about one message
from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from sim_helpers import API_KEY, Bybit, freeze, private_ws, recv_topic, wait_order
from trio_websocket import WebSocketConnection

from exchange.simulator import Simulator


async def _set(bybit: Bybit, **knobs: Any) -> dict[str, Any]:
    response = await bybit.http.post("/sim/faults", json=knobs)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _exec_ids(msg: dict[str, Any]) -> list[str]:
    return [e["execId"] for e in msg["data"]]


async def _order_push(ws: WebSocketConnection, link: str) -> None:
    while True:
        msg = await recv_topic(ws, "order")
        if any(o["orderLinkId"] == link for o in msg["data"]):
            return


async def test_fill_delay_acknowledges_new_and_fills_later(sim: Simulator, bybit: Bybit) -> None:
    await freeze(sim)
    assert (await _set(bybit, fill_delay_ms=300))["fill_delay_ms"] == 300
    began = time.perf_counter()
    body = await bybit.order(side="Buy", orderType="Market", qty="0.002", orderLinkId="slow")
    assert body["retCode"] == 0
    acked = await wait_order(bybit, "slow", "New")
    assert acked["cumExecQty"] == "0"
    fills = (await bybit.get("/v5/execution/list", category="linear", orderLinkId="slow")).json()
    assert fills["result"]["list"] == []
    filled = await wait_order(bybit, "slow", "Filled")
    assert time.perf_counter() - began >= 0.3 and Decimal(filled["cumExecQty"]) == Decimal("0.002")
    assert [o.order_link_id for o in sim.account(API_KEY).orders.values()] == ["slow"]
    await _set(bybit, fill_delay_ms=0)
    quick = await bybit.order(side="Buy", orderType="Market", qty="0.002", orderLinkId="quick")
    assert quick["retCode"] == 0
    assert (await wait_order(bybit, "quick", "Filled", within=0.5))["cumExecQty"] == "0.002"


async def test_duplicate_executions_sends_the_same_fills_twice(sim: Simulator, bybit: Bybit) -> None:
    await freeze(sim)
    async with private_ws(sim, ("execution",)) as ws:
        await _set(bybit, duplicate_executions=1)
        assert (await bybit.order(side="Buy", orderType="Market", qty="0.002"))["retCode"] == 0
        first = await recv_topic(ws, "execution")
        second = await recv_topic(ws, "execution")
        assert _exec_ids(first) == _exec_ids(second) and sim.faults.duplicate_executions == 0
        assert (await bybit.order(side="Buy", orderType="Market", qty="0.002"))["retCode"] == 0
        third = await recv_topic(ws, "execution")
        assert set(_exec_ids(third)).isdisjoint(_exec_ids(first))


async def test_reorder_executions_delivers_the_next_fill_first(sim: Simulator, bybit: Bybit) -> None:
    await freeze(sim)
    async with private_ws(sim, ("order", "execution")) as ws:
        await _set(bybit, reorder_executions=1)
        assert (await bybit.order(side="Buy", orderType="Market", qty="0.002", orderLinkId="a"))[
            "retCode"
        ] == 0
        await _order_push(ws, "a")  # a's execution message is being held
        assert (await bybit.order(side="Buy", orderType="Market", qty="0.002", orderLinkId="b"))[
            "retCode"
        ] == 0
        first = await recv_topic(ws, "execution")
        second = await recv_topic(ws, "execution")
        assert {e["orderLinkId"] for e in first["data"]} == {"b"}
        assert {e["orderLinkId"] for e in second["data"]} == {"a"}
        assert sim.faults.reorder_executions == 0


async def test_new_knobs_are_validated_and_reset_like_the_others(sim: Simulator, bybit: Bybit) -> None:
    bad = await bybit.http.post("/sim/faults", json={"fill_delay_ms": -5})
    assert bad.status_code == 400
    assert (await bybit.http.post("/sim/faults", json={"duplicate_executions": "x"})).status_code == 400
    await _set(bybit, fill_delay_ms=10, duplicate_executions=2, reorder_executions=3)
    reset = (await bybit.http.post("/sim/faults/reset")).json()
    assert (reset["fill_delay_ms"], reset["duplicate_executions"], reset["reorder_executions"]) == (0, 0, 0)


async def test_admin_price_endpoint_moves_the_market(sim: Simulator, bybit: Bybit) -> None:
    await freeze(sim)
    target = sim.market("BTCUSDT").last_price() - Decimal("321.40")
    moved = (await bybit.http.post("/sim/price", json={"symbol": "BTCUSDT", "price": str(target)})).json()
    assert Decimal(moved["price"]) == target
    book = sim.market("BTCUSDT").book
    assert (
        book.best_bid() is not None and abs(sim.market("BTCUSDT").spec.price_of(book.best_bid()) - target) < 1
    )
    assert (await bybit.http.post("/sim/price", json={"symbol": "NOPE", "price": "1"})).status_code == 400
    assert (await bybit.http.post("/sim/price", json={"symbol": "BTCUSDT", "price": "-1"})).status_code == 400
