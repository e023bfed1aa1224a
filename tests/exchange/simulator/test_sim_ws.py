"""Public and private WebSocket topics follow Bybit v5's formats and sequencing."""

# ruff: noqa: PT018  # compound asserts read as one sentence about one message
from __future__ import annotations

import hashlib
import hmac
import itertools
import time
from decimal import Decimal

import orjson
from sim_helpers import API_KEY, API_SECRET, Bybit, recv_json, recv_topic
from trio_websocket import open_websocket_url

from exchange.simulator import Simulator


def _auth(secret: str = API_SECRET, expires: int | None = None) -> str:
    expires = expires or int(time.time() * 1000) + 10_000
    signature = hmac.new(secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()
    return orjson.dumps({"req_id": "a1", "op": "auth", "args": [API_KEY, expires, signature]}).decode()


async def test_subscribe_acks_then_book_snapshot_then_deltas_with_consecutive_u(sim: Simulator) -> None:
    async with open_websocket_url(sim.ws_public_url) as ws:
        await ws.send_message('{"req_id":"r1","op":"subscribe","args":["orderbook.50.BTCUSDT"]}')
        ack = await recv_json(ws)
        assert ack["success"] is True and ack["op"] == "subscribe" and ack["req_id"] == "r1"
        snapshot = await recv_json(ws)
        assert snapshot["type"] == "snapshot" and snapshot["topic"] == "orderbook.50.BTCUSDT"
        assert len(snapshot["data"]["b"]) == 50 and len(snapshot["data"]["a"]) == 50
        u, seq = snapshot["data"]["u"], snapshot["data"]["seq"]
        for _ in range(5):
            delta = await recv_json(ws)
            assert delta["type"] == "delta" and delta["data"]["s"] == "BTCUSDT"
            assert delta["data"]["u"] == u + 1 and delta["data"]["seq"] > seq
            assert all(Decimal(size) >= 0 for _, size in delta["data"]["b"] + delta["data"]["a"])
            u, seq = delta["data"]["u"], delta["data"]["seq"]


async def test_kline_confirms_each_bar_exactly_once(sim: Simulator) -> None:
    async with open_websocket_url(sim.ws_public_url) as ws:
        await ws.send_message('{"op":"subscribe","args":["kline.5.BTCUSDT"]}')
        await recv_json(ws)
        confirmed: list[int] = []
        updates: dict[int, int] = {}
        while len(confirmed) < 4:
            msg = await recv_topic(ws, "kline.5.BTCUSDT")
            bar = msg["data"][0]
            assert bar["end"] - bar["start"] == 299_999 and bar["interval"] == "5"
            if bar["confirm"]:
                assert bar["start"] not in confirmed
                confirmed.append(bar["start"])
            else:
                assert bar["start"] not in confirmed  # no update after the confirm
                updates[bar["start"]] = updates.get(bar["start"], 0) + 1
        assert all(b - a == 300_000 for a, b in itertools.pairwise(confirmed))


async def test_trades_and_tickers_arrive_in_bybit_shapes(sim: Simulator) -> None:
    async with open_websocket_url(sim.ws_public_url) as ws:
        await ws.send_message('{"op":"subscribe","args":["publicTrade.ETHUSDT","tickers.ETHUSDT"]}')
        await recv_json(ws)
        ticker = await recv_topic(ws, "tickers.ETHUSDT")
        assert ticker["type"] == "snapshot"
        assert {"fundingRate", "nextFundingTime", "bid1Price", "ask1Price", "markPrice"} <= set(
            ticker["data"]
        )
        trade = (await recv_topic(ws, "publicTrade.ETHUSDT"))["data"][0]
        assert set(trade) == {"T", "s", "S", "v", "p", "L", "i", "BT", "seq"}
        assert Decimal(trade["p"]) % Decimal("0.01") == 0 and trade["S"] in ("Buy", "Sell")
        delta = await recv_topic(ws, "tickers.ETHUSDT")
        assert delta["type"] == "delta" and delta["data"]["symbol"] == "ETHUSDT"


async def test_ping_gets_pong_and_bad_topics_are_refused(sim: Simulator) -> None:
    async with open_websocket_url(sim.ws_public_url) as ws:
        await ws.send_message('{"req_id":"p","op":"ping"}')
        pong = await recv_json(ws)
        assert pong["op"] == "ping" and pong["ret_msg"] == "pong" and pong["success"] is True
        await ws.send_message('{"op":"subscribe","args":["orderbook.50.NOPEUSDT"]}')
        refused = await recv_json(ws)
        assert refused["success"] is False and "NOPEUSDT" in refused["ret_msg"]


async def test_private_socket_authenticates_and_pushes_order_execution_position_wallet(
    sim: Simulator, bybit: Bybit
) -> None:
    async with open_websocket_url(sim.ws_private_url) as ws:
        await ws.send_message('{"op":"subscribe","args":["order"]}')
        early = await recv_json(ws)
        assert early["success"] is False
        await ws.send_message(_auth())
        auth = await recv_json(ws)
        assert auth == {
            "success": True,
            "ret_msg": "",
            "conn_id": auth["conn_id"],
            "req_id": "a1",
            "op": "auth",
        }
        await ws.send_message('{"op":"subscribe","args":["order","execution","position","wallet"]}')
        assert (await recv_json(ws))["success"] is True
        await ws.send_message('{"req_id":"pp","op":"ping"}')
        pong = await recv_json(ws)
        assert pong["op"] == "pong" and pong["req_id"] == "pp"
        body = await bybit.order(side="Buy", orderType="Market", qty="0.002", orderLinkId="ws-1")
        topics: dict[str, dict] = {}
        while len(topics) < 4:
            msg = await recv_json(ws)
            assert {"id", "topic", "creationTime", "data"} <= set(msg)
            topics.setdefault(msg["topic"], msg["data"][0])
        assert topics["order"]["orderId"] == body["result"]["orderId"]
        assert topics["order"]["orderStatus"] == "Filled"
        assert topics["execution"]["orderLinkId"] == "ws-1"
        assert topics["position"]["size"] == "0.002" and topics["position"]["side"] == "Buy"
        assert topics["wallet"]["accountType"] == "UNIFIED"


async def test_private_auth_with_a_wrong_signature_or_expired_is_refused(sim: Simulator) -> None:
    async with open_websocket_url(sim.ws_private_url) as ws:
        await ws.send_message(_auth(secret="wrong"))
        assert (await recv_json(ws))["success"] is False
        await ws.send_message(_auth(expires=int(time.time() * 1000) - 1000))
        assert (await recv_json(ws))["success"] is False
