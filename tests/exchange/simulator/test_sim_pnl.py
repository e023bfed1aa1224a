"""Closing fills, closed-PnL records and funding reconcile to the cent in Decimal, as on Bybit:
``closedPnl = ±(cumExitValue − cumEntryValue) − openFee − closeFee`` per closing chunk, funding apart."""

# ruff: noqa: PT018  # compound asserts read as one sentence about one message
from __future__ import annotations

from decimal import Decimal
from typing import Any

from sim_helpers import Bybit, eventually, freeze, wait_order

from exchange.simulator import Simulator

SYMBOL = "BTCUSDT"
CENT = Decimal("0.01")
EIGHT = Decimal("0.00000001")


async def _list(bybit: Bybit, path: str, **params: str) -> list[dict[str, Any]]:
    body = (await bybit.get(path, category="linear", **params)).json()
    assert body["retCode"] == 0, body
    return body["result"]["list"]  # type: ignore[no-any-return]


async def _wallet(bybit: Bybit) -> Decimal:
    body = (await bybit.get("/v5/account/wallet-balance", accountType="UNIFIED")).json()
    return Decimal(body["result"]["list"][0]["totalWalletBalance"])


def _near(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) <= 2 * EIGHT


def _sum(rows: list[dict[str, Any]], key: str) -> Decimal:
    return sum((Decimal(r[key]) for r in rows), Decimal(0))


async def test_closed_pnl_is_exit_minus_entry_minus_open_and_close_fees(sim: Simulator, bybit: Bybit) -> None:
    await freeze(sim)
    start = await _wallet(bybit)
    opened = await bybit.order(side="Buy", orderType="Market", qty="0.300", orderLinkId="open")
    assert opened["retCode"] == 0
    sim.set_price(SYMBOL, sim.market(SYMBOL).last_price() + Decimal("150.00"))
    await eventually(lambda: sim.market(SYMBOL).book.best_bid() is not None)
    closed = await bybit.order(side="Sell", orderType="Market", qty="0.300", orderLinkId="close")
    assert closed["retCode"] == 0
    entries = await _list(bybit, "/v5/execution/list", orderLinkId="open")
    exits = await _list(bybit, "/v5/execution/list", orderLinkId="close")
    assert len(exits) >= 1 and _sum(exits, "closedSize") == Decimal("0.300")
    [record] = await _list(bybit, "/v5/position/closed-pnl", symbol=SYMBOL)
    open_fee, close_fee = _sum(entries, "execFee"), _sum(exits, "execFee")
    gross = _sum(exits, "execPnl")
    # the wire rounds to 8 decimals; average prices and pro-rata fee shares are 28-digit divisions
    assert _near(Decimal(record["openFee"]), open_fee)
    assert _near(Decimal(record["closeFee"]), close_fee)
    assert _near(Decimal(record["cumEntryValue"]), _sum(entries, "execValue"))
    assert _near(Decimal(record["cumExitValue"]), _sum(exits, "execValue"))
    assert _near(gross, Decimal(record["cumExitValue"]) - Decimal(record["cumEntryValue"]))
    assert Decimal(record["closedPnl"]).quantize(CENT) == (gross - open_fee - close_fee).quantize(CENT)
    assert record["fillCount"] == str(len(exits)) and record["side"] == "Sell"
    assert record["orderId"] == closed["result"]["orderId"] and record["closedSize"] == "0.300"
    assert _near((await _wallet(bybit)) - start, gross - open_fee - close_fee)


async def test_reduce_only_take_profit_fills_partially_then_fully_as_maker(
    sim: Simulator, bybit: Bybit
) -> None:
    await freeze(sim)
    assert (await bybit.order(side="Buy", orderType="Market", qty="0.010"))["retCode"] == 0
    market = sim.market(SYMBOL)
    best_ask = market.book.best_ask()
    assert best_ask is not None
    tp_ticks = best_ask + 500
    tp = market.spec.price_of(tp_ticks)
    body = await bybit.order(
        side="Sell", orderType="Limit", qty="0.020", price=str(tp), reduceOnly=True, orderLinkId="tp1"
    )
    assert body["retCode"] == 0
    resting = await wait_order(bybit, "tp1", "New")
    assert resting["qty"] == "0.010" and resting["reduceOnly"] is True  # never more than the position

    market.book.bids[tp_ticks] = 4  # a buyer for 0.004 arrives at our price
    partial = await wait_order(bybit, "tp1", "PartiallyFilled")
    assert Decimal(partial["cumExecQty"]) == Decimal("0.004") and Decimal(partial["leavesQty"]) == Decimal(
        "0.006"
    )
    market.book.bids[tp_ticks] = 100
    done = await wait_order(bybit, "tp1", "Filled")
    assert Decimal(done["cumExecQty"]) == Decimal("0.010")
    fills = await _list(bybit, "/v5/execution/list", orderLinkId="tp1")
    assert all(f["isMaker"] is True and Decimal(f["execPrice"]) == tp for f in fills)
    records = await _list(bybit, "/v5/position/closed-pnl", symbol=SYMBOL)
    assert sorted(Decimal(r["closedSize"]) for r in records) == [Decimal("0.004"), Decimal("0.006")]
    position = (await _list(bybit, "/v5/position/list", symbol=SYMBOL))[0]
    assert position["size"] == "0" and position["side"] == ""


async def test_other_reduce_only_orders_are_cancelled_when_the_position_is_gone(
    sim: Simulator, bybit: Bybit
) -> None:
    await freeze(sim)
    assert (await bybit.order(side="Buy", orderType="Market", qty="0.010"))["retCode"] == 0
    last = sim.market(SYMBOL).last_price()
    await bybit.order(
        side="Sell", orderType="Limit", qty="0.010", price=str(last + 400), reduceOnly=True, orderLinkId="tp2"
    )
    assert (await bybit.order(side="Sell", orderType="Market", qty="0.006", reduceOnly=True))["retCode"] == 0
    shrunk = await wait_order(bybit, "tp2", "New")
    assert shrunk["qty"] == "0.004" and shrunk["leavesQty"] == "0.004"
    assert (await bybit.order(side="Sell", orderType="Market", qty="0.004", reduceOnly=True))["retCode"] == 0
    gone = await wait_order(bybit, "tp2", "Cancelled")
    assert gone["cancelType"] == "CancelByReduceOnly"


async def test_funding_settles_at_the_funding_time_and_everything_reconciles(
    sim: Simulator, bybit: Bybit
) -> None:
    await freeze(sim)
    start = await _wallet(bybit)
    assert (await bybit.order(side="Sell", orderType="Market", qty="0.100", orderLinkId="short"))[
        "retCode"
    ] == 0
    market = sim.market(SYMBOL)
    funding_at = market.next_funding_ms
    sim.clock.advance(funding_at - sim.clock.now_ms() + 1_000)
    funded = await _poll_funding(bybit)
    assert int(funded["execTime"]) == funding_at and funded["orderId"] == "" and funded["side"] == "Sell"
    rate, mark = Decimal(funded["feeRate"]), Decimal(funded["execPrice"])
    assert Decimal(funded["execFee"]) == -Decimal("0.100") * mark * rate  # a short receives a positive rate
    await freeze(sim)
    assert (await bybit.order(side="Buy", orderType="Market", qty="0.100", orderLinkId="cover"))[
        "retCode"
    ] == 0
    trades = await _list(bybit, "/v5/execution/list", symbol=SYMBOL, execType="Trade")
    fundings = await _list(bybit, "/v5/execution/list", symbol=SYMBOL, execType="Funding")
    [record] = await _list(bybit, "/v5/position/closed-pnl", symbol=SYMBOL)
    fees, funding = _sum(trades, "execFee"), _sum(fundings, "execFee")
    gross = _sum(trades, "execPnl")
    assert Decimal(record["closedPnl"]).quantize(CENT) == (gross - fees).quantize(CENT)  # funding apart
    change = (await _wallet(bybit)) - start
    assert change.quantize(CENT) == (gross - fees - funding).quantize(CENT)
    assert change.quantize(CENT) == (Decimal(record["closedPnl"]) - funding).quantize(CENT)


async def _poll_funding(bybit: Bybit) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    async def settled() -> bool:
        found[:] = await _list(bybit, "/v5/execution/list", symbol=SYMBOL, execType="Funding")
        return bool(found)

    await eventually(settled, within=10)
    return found[0]


async def test_order_history_lists_finished_orders_newest_first_with_filters_and_paging(
    sim: Simulator, bybit: Bybit
) -> None:
    await freeze(sim)
    last = sim.market(SYMBOL).last_price()
    for i in range(3):
        await bybit.order(side="Buy", orderType="Market", qty="0.001", orderLinkId=f"h-{i}")
    await bybit.order(side="Buy", orderType="Limit", qty="0.001", price=str(last - 300), orderLinkId="h-open")
    rows = await _list(bybit, "/v5/order/history", symbol=SYMBOL)
    assert [r["orderLinkId"] for r in rows] == ["h-2", "h-1", "h-0"]
    assert [r["orderLinkId"] for r in await _list(bybit, "/v5/order/history", orderLinkId="h-open")] == [
        "h-open"
    ]
    first = (await bybit.get("/v5/order/history", category="linear", limit="2")).json()["result"]
    assert len(first["list"]) == 2 and first["nextPageCursor"]
    second = (
        await bybit.get("/v5/order/history", category="linear", limit="2", cursor=first["nextPageCursor"])
    ).json()["result"]
    assert [r["orderLinkId"] for r in second["list"]] == ["h-0"] and second["nextPageCursor"] == ""
    assert await _list(bybit, "/v5/order/history", orderStatus="Cancelled") == []


async def test_execution_list_filters_by_order_and_time_and_pages_with_a_cursor(
    sim: Simulator, bybit: Bybit
) -> None:
    await freeze(sim)
    for i in range(3):
        assert (await bybit.order(side="Buy", orderType="Market", qty="0.001", orderLinkId=f"x-{i}"))[
            "retCode"
        ] == 0
    every = await _list(bybit, "/v5/execution/list", symbol=SYMBOL)
    assert [e["orderLinkId"] for e in every] == ["x-2", "x-1", "x-0"]  # one level each, newest first
    by_id = await _list(bybit, "/v5/execution/list", orderId=every[1]["orderId"])
    assert [e["execId"] for e in by_id] == [every[1]["execId"]]
    assert await _list(bybit, "/v5/execution/list", startTime=str(int(every[0]["execTime"]) + 1)) == []
    first = (await bybit.get("/v5/execution/list", category="linear", limit="2")).json()["result"]
    second = (
        await bybit.get("/v5/execution/list", category="linear", limit="2", cursor=first["nextPageCursor"])
    ).json()["result"]
    assert [e["execId"] for e in first["list"] + second["list"]] == [e["execId"] for e in every]
    assert second["nextPageCursor"] == ""
