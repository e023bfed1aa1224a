"""Every fault knob misbehaves as documented, from Python and over the admin endpoint."""

# ruff: noqa: PT018  # compound asserts read as one sentence about one message
from __future__ import annotations

import itertools
import time

import httpx
import orjson
import pytest
import trio
from sim_helpers import API_SECRET, Bybit, eventually, recv_json, recv_topic, sign
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url

from exchange.simulator import Faults, Simulator


async def _book(ws: WebSocketConnection) -> int:
    await ws.send_message('{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}')
    await recv_json(ws)
    snapshot = await recv_json(ws)
    return int(snapshot["data"]["u"])


async def _drain_forever(ws: WebSocketConnection) -> None:
    while True:
        await ws.get_message()


async def test_drop_connections_closes_every_socket(sim: Simulator) -> None:
    async with open_websocket_url(sim.ws_public_url) as ws:
        await _book(ws)
        assert sim.drop_connections("public") == 1
        with pytest.raises(ConnectionClosed), trio.fail_after(5):
            await _drain_forever(ws)


async def test_admin_drop_endpoint_closes_private_sockets(sim: Simulator, bybit: Bybit) -> None:
    async with open_websocket_url(sim.ws_private_url) as ws:
        await eventually(lambda: any(c.kind == "private" for c in sim._hub.connections))
        body = (await bybit.http.post("/sim/drop", json={"kind": "private"})).json()
        assert body == {"dropped": 1}
        with pytest.raises(ConnectionClosed), trio.fail_after(5):
            await ws.get_message()


async def test_half_open_keeps_the_socket_but_sends_nothing(sim: Simulator) -> None:
    async with open_websocket_url(sim.ws_public_url) as ws:
        await _book(ws)
        sim.faults.half_open = True
        await eventually(
            lambda: (
                sim._hub.connections
                and all(c.outbox.statistics().current_buffer_used == 0 for c in sim._hub.connections)
            )
        )
        while True:  # drain what was in flight before the switch
            with trio.move_on_after(0.1):
                await ws.get_message()
                continue
            break
        steps = sim.steps
        await ws.send_message('{"op":"ping"}')
        with trio.move_on_after(0.3) as quiet:
            await ws.get_message()
        assert quiet.cancelled_caught, "a half-open socket must stay silent"
        assert sim.steps > steps + 3 and not ws.closed
        sim.faults.half_open = False
        assert (await recv_json(ws))["topic"] == "orderbook.50.BTCUSDT"


async def test_seq_gap_skips_one_u(sim: Simulator) -> None:
    async with open_websocket_url(sim.ws_public_url) as ws:
        u = await _book(ws)
        sim.faults.seq_gap = 1
        gaps = 0
        for _ in range(6):
            msg = await recv_json(ws)
            gaps += msg["data"]["u"] - u - 1
            u = msg["data"]["u"]
        assert gaps == 1 and sim.faults.seq_gap == 0


async def test_u_reset_sends_a_snapshot_with_u_1(sim: Simulator) -> None:
    async with open_websocket_url(sim.ws_public_url) as ws:
        await _book(ws)
        await recv_json(ws)
        sim.faults.u_reset = 1
        msg = await recv_json(ws)
        while msg["type"] == "delta" and msg["data"]["u"] != 1:
            msg = await recv_json(ws)
        assert msg["type"] == "snapshot" and msg["data"]["u"] == 1
        following = await recv_json(ws)
        assert following["type"] == "delta" and following["data"]["u"] == 2


async def test_duplicate_sends_the_same_message_twice(sim: Simulator) -> None:
    async with open_websocket_url(sim.ws_public_url) as ws:
        await _book(ws)
        sim.faults.duplicate = 1
        messages = [await ws.get_message() for _ in range(4)]
        assert any(a == b for a, b in itertools.pairwise(messages))


async def test_out_of_order_swaps_two_messages_of_a_topic(sim: Simulator) -> None:
    async with open_websocket_url(sim.ws_public_url) as ws:
        u = await _book(ws)
        sim.faults.out_of_order = 1
        us = [u] + [(await recv_json(ws))["data"]["u"] for _ in range(5)]
        assert any(b < a for a, b in itertools.pairwise(us))
        assert sorted(us) == list(range(us[0], us[0] + 6))


async def test_stale_repeats_the_same_ticker_timestamp(sim: Simulator) -> None:
    async with open_websocket_url(sim.ws_public_url) as ws:
        await ws.send_message('{"op":"subscribe","args":["tickers.BTCUSDT"]}')
        await recv_json(ws)
        await recv_topic(ws, "tickers")
        sim.faults.stale = True
        first = await recv_topic(ws, "tickers")
        while first["type"] != "snapshot":
            first = await recv_topic(ws, "tickers")
        again = [await recv_topic(ws, "tickers") for _ in range(3)]
        assert all(m["ts"] == first["ts"] and m["data"] == first["data"] for m in again)


async def test_http_429_5xx_and_10006_bursts(sim: Simulator, bybit: Bybit) -> None:
    sim.faults.update({"http_429": 1, "http_5xx": 1, "rate_limit_10006": 1})
    first = await bybit.public("/v5/market/time")
    assert first.status_code == 429
    second = await bybit.public("/v5/market/time")
    assert second.status_code == 503
    third = await bybit.get("/v5/account/info")
    assert third.status_code == 200 and third.json()["retCode"] == 10006
    assert third.headers["X-Bapi-Limit-Status"] == "0"
    assert (await bybit.public("/v5/market/time")).json()["retCode"] == 0


async def test_rest_faults_can_target_one_path(sim: Simulator, bybit: Bybit) -> None:
    sim.faults.update({"http_5xx": 1, "rest_path_prefix": "/v5/order/"})
    assert (await bybit.public("/v5/market/time")).status_code == 200
    response = await bybit.post(
        "/v5/order/create",
        {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market", "qty": "0.001"},
    )
    assert response.status_code == 503 and sim.faults.http_5xx == 0


async def test_dropped_order_create_response_still_creates_exactly_one_order(
    sim: Simulator, bybit: Bybit
) -> None:
    sim.faults.drop_order_create_responses = 1
    with pytest.raises(httpx.TimeoutException):
        await bybit.http.post(
            "/v5/order/create",
            timeout=0.5,
            content=orjson.dumps(
                body := {
                    "category": "linear",
                    "symbol": "BTCUSDT",
                    "side": "Buy",
                    "orderType": "Market",
                    "qty": "0.001",
                    "orderLinkId": "lost-1",
                }
            ),
            headers=sign(API_SECRET, orjson.dumps(body).decode()),
        )
    found = (await bybit.get("/v5/order/realtime", category="linear", orderLinkId="lost-1")).json()
    assert [o["orderStatus"] for o in found["result"]["list"]] == ["Filled"]
    again = await bybit.order(side="Buy", orderType="Market", qty="0.001", orderLinkId="lost-1")
    assert again["retCode"] == 110072


async def test_latency_delays_rest_responses(sim: Simulator, bybit: Bybit) -> None:
    sim.faults.latency_ms = 150
    began = time.perf_counter()
    await bybit.public("/v5/market/time")
    assert time.perf_counter() - began >= 0.15


async def test_admin_endpoint_sets_validates_and_resets_knobs(sim: Simulator, bybit: Bybit) -> None:
    body = (await bybit.http.post("/sim/faults", json={"http_5xx": 2, "half_open": False})).json()
    assert body["http_5xx"] == 2 and sim.faults.http_5xx == 2
    bad = await bybit.http.post("/sim/faults", json={"no_such_knob": 1})
    assert bad.status_code == 400 and "no_such_knob" in bad.json()["error"]
    assert (await bybit.http.post("/sim/faults", json={"seq_gap": -1})).status_code == 400
    reset = (await bybit.http.post("/sim/faults/reset")).json()
    assert reset == Faults().as_dict()
    assert (await bybit.http.get("/sim/faults")).json() == Faults().as_dict()
