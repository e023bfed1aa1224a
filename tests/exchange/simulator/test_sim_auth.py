"""Signed requests are checked like Bybit does: key, recv window, signature, rate limits."""

# ruff: noqa: PT018  # compound asserts read as one sentence about one message
from __future__ import annotations

import time

from sim_helpers import API_KEY, API_SECRET, Bybit, freeze, sign

from exchange.simulator import Simulator


async def test_a_correct_signature_is_accepted_for_get_and_post(bybit: Bybit) -> None:
    assert (await bybit.get("/v5/account/info")).json()["retCode"] == 0
    body = await bybit.order(side="Buy", orderType="Market", qty="0.001")
    assert body["retCode"] == 0


async def test_a_wrong_signature_is_rejected_with_10004(bybit: Bybit) -> None:
    wrong = Bybit(bybit.http, secret="not-the-secret")
    body = (await wrong.get("/v5/position/list", category="linear", symbol="BTCUSDT")).json()
    assert body["retCode"] == 10004
    assert body["result"] == {}
    assert API_SECRET not in body["retMsg"]
    body = (await wrong.post("/v5/order/create", {"category": "linear"})).json()
    assert body["retCode"] == 10004


async def test_a_signature_over_another_query_is_rejected(bybit: Bybit) -> None:
    headers = sign(API_SECRET, "category=linear&symbol=ETHUSDT")
    response = await bybit.http.get("/v5/position/list?category=linear&symbol=BTCUSDT", headers=headers)
    assert response.json()["retCode"] == 10004


async def test_an_old_timestamp_is_rejected_with_10002(bybit: Bybit) -> None:
    query = "category=linear&symbol=BTCUSDT"
    headers = sign(API_SECRET, query)
    headers["X-BAPI-TIMESTAMP"] = str(int(time.time() * 1000) - 10_000)
    response = await bybit.http.get(f"/v5/position/list?{query}", headers=headers)
    assert response.json()["retCode"] == 10002


async def test_an_unknown_api_key_is_rejected_with_10003(bybit: Bybit) -> None:
    headers = sign(API_SECRET, "") | {"X-BAPI-API-KEY": "someone-else"}
    response = await bybit.http.get("/v5/account/info", headers=headers)
    assert response.json()["retCode"] == 10003


async def test_order_rate_limit_answers_10006_with_limit_headers(sim: Simulator, bybit: Bybit) -> None:
    await freeze(sim)
    seen = []
    for _ in range(40):
        response = await bybit.post(
            "/v5/order/cancel", {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "absent"}
        )
        seen.append((response.json()["retCode"], response.headers))
    codes = [code for code, _ in seen]
    assert 10006 in codes and 110001 in codes
    first = seen[0][1]
    assert first["X-Bapi-Limit"] == "10"
    assert int(first["X-Bapi-Limit-Status"]) <= 9
    assert int(first["X-Bapi-Limit-Reset-Timestamp"]) > time.time() * 1000 - 1000
    limited = next(h for code, h in seen if code == 10006)
    assert limited["X-Bapi-Limit-Status"] == "0"
    assert API_KEY  # the key identifies the bucket; a second key would have its own
