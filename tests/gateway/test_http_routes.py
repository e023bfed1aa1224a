"""Every route over real HTTP against a real hypercorn server, wired by ``serve_gateway`` to the real
supervision tree and real storage (G-01, G-02).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from gw_kit import Stack, make_signal

from tests.support import eventually_async


async def test_health_answers_200_quickly(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.elapsed.total_seconds() < 0.1


async def test_ready_when_postgres_redis_and_exchange_are_up(client: httpx.AsyncClient) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ready"] is True
    assert set(body["checks"]) == {"postgres", "redis", "supervision", "exchange_public"}


async def test_ready_names_what_is_not_ready(client: httpx.AsyncClient, stack: Stack) -> None:
    stack.engine_checks["exchange_public"] = "public session not connected"
    response = await client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["not_ready"] == ["exchange_public"]
    assert body["checks"]["exchange_public"]["reason"] == "public session not connected"


async def test_signals_filters_and_pages_from_postgres(client: httpx.AsyncClient, stack: Stack) -> None:
    await client.get("/health")
    for symbol, side, p in [("ETHUSDT", "long", 0.7), ("ETHUSDT", "short", 0.55), ("ETHUSDT", "long", 0.4)]:
        await stack.store(make_signal(symbol, side, p))
    response = await client.get("/signals", params={"symbol": "ETHUSDT", "direction": "long"})
    assert response.status_code == 200
    items = response.json()["items"]
    assert [i["side"] for i in items] == ["long", "long"]
    response = await client.get("/signals", params={"symbol": "ETHUSDT", "min_probability": "0.5"})
    assert sorted(i["probability"] for i in response.json()["items"]) == [0.55, 0.7]
    page = (await client.get("/signals", params={"symbol": "ETHUSDT", "limit": 2})).json()
    assert len(page["items"]) == 2
    assert page["next_offset"] == 2
    rest = (await client.get("/signals", params={"symbol": "ETHUSDT", "limit": 2, "offset": 2})).json()
    assert len(rest["items"]) == 1
    assert rest["next_offset"] is None


async def test_signals_rejects_bad_query_with_reason(client: httpx.AsyncClient) -> None:
    response = await client.get("/signals", params={"direction": "up", "limit": 0})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_query"
    assert "direction" in body["reason"]
    assert "limit" in body["reason"]
    unknown = await client.get("/signals", params={"colour": "red"})
    assert unknown.status_code == 422
    assert "colour" in unknown.json()["reason"]


async def test_signal_by_id_and_its_copy_levels(client: httpx.AsyncClient, stack: Stack) -> None:
    signal = make_signal("BTCUSDT", "short", 0.66)
    await stack.store(signal)
    one = await client.get(f"/signals/{signal.id}")
    assert one.status_code == 200
    assert one.json()["entry"] == f"{signal.entry:f}"
    levels = (await client.get(f"/signals/{signal.id}/levels")).json()
    assert levels["text"] == (
        f"Entry: {signal.entry:f}, TP1: {signal.tp1:f}, TP2: {signal.tp2:f}, "
        f"TP3: {signal.tp3:f}, SL: {signal.sl:f}"
    )
    missing = await client.get("/signals/6f1c1f0e-0000-4000-8000-000000000000/levels")
    assert missing.status_code == 404
    assert "no signal" in missing.json()["reason"]


def feed_nodes(tree: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the feed nodes of a ``root → symbols → <SYM> → feed`` tree."""
    [symbols] = tree["children"]
    return [c["children"][0] for c in symbols["children"] if c["children"]]


async def test_supervision_tree_is_live_json(client: httpx.AsyncClient) -> None:
    tree = (await client.get("/admin/supervision")).json()
    assert tree["path"] == "root"
    feeds = feed_nodes(tree)
    assert {f["path"] for f in feeds} == {f"root/symbols/{s}/feed" for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT")}
    assert all(f["status"] == "running" and f["restarts"] == 0 for f in feeds)


async def _feed_restarts(client: httpx.AsyncClient, path: str) -> int:
    tree = (await client.get("/admin/supervision")).json()
    return next(int(f["restarts"]) for f in feed_nodes(tree) if f["path"] == path)


async def test_crash_fault_restarts_the_actor(client: httpx.AsyncClient) -> None:
    path = "root/symbols/BTCUSDT/feed"
    response = await client.post("/admin/faults", json={"path": path, "kind": "crash"})
    assert response.status_code == 202

    async def restarted() -> bool:
        return await _feed_restarts(client, path) == 1

    await eventually_async(restarted)
    assert (await client.get("/symbols/BTCUSDT/feed")).status_code == 200
    metrics = (await client.get("/metrics")).text
    assert 'actor_restarts_total{kind="feed"} 1.0' in metrics
    assert 'actor_crashes_total{kind="feed"} 1.0' in metrics


async def test_faults_refuse_bad_input_with_reasons(client: httpx.AsyncClient) -> None:
    unknown = await client.post("/admin/faults", json={"path": "root/nowhere", "kind": "crash"})
    assert unknown.status_code == 404
    assert "root/nowhere" in unknown.json()["reason"]
    invalid = await client.post(
        "/admin/faults", json={"path": "root/symbols/BTCUSDT/feed", "kind": "explode"}
    )
    assert invalid.status_code == 422
    assert "kind" in invalid.json()["reason"]
    not_json = await client.post(
        "/admin/faults", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400
    wrong_type = await client.post("/admin/faults", content=b"{nope")
    assert wrong_type.status_code == 415
    refused = await client.post(
        "/admin/faults",
        json={"path": "root/symbols/BTCUSDT/feed", "kind": "crash_on_next", "message_type": "NoSuchMessage"},
    )
    assert refused.status_code == 400
    assert "NoSuchMessage" in refused.json()["reason"]


async def test_feed_of_a_slow_actor_answers_503(client: httpx.AsyncClient) -> None:
    path = "root/symbols/ETHUSDT/feed"
    armed = await client.post("/admin/faults", json={"path": path, "kind": "delay_next", "delay_s": 5})
    assert armed.status_code == 202
    response = await client.get("/symbols/ETHUSDT/feed")
    assert response.status_code == 503
    assert response.json()["reason"] == "the feed of ETHUSDT did not answer within 0.5 s"


async def test_feed_of_a_crashed_actor_answers_503(client: httpx.AsyncClient, stack: Stack) -> None:
    # SOLUSDT's feed is a temporary child in this tree: once crashed it is gone for good.
    await client.post("/admin/faults", json={"path": "root/symbols/SOLUSDT/feed", "kind": "crash"})

    gone = {
        "error": "engine_unavailable",
        "reason": "the feed of SOLUSDT is not running (no actor at root/symbols/SOLUSDT/feed)",
        "details": None,
    }

    # On its way out the feed answers 503 "... got failed" for a moment; wait for the final answer.
    async def is_gone() -> bool:
        response = await client.get("/symbols/SOLUSDT/feed")
        return response.status_code == 503 and response.json() == gone

    await eventually_async(is_gone)
    feeds = {f["symbol"]: f for f in (await client.get("/symbols")).json()}
    assert feeds["SOLUSDT"]["available"] is False
    assert feeds["SOLUSDT"]["stale"] is True
    assert feeds["BTCUSDT"]["available"] is True


async def test_feed_reports_age_and_staleness(client: httpx.AsyncClient, stack: Stack) -> None:
    stack.tick("BTCUSDT")
    stack.tick("ETHUSDT", dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))

    async def fresh() -> bool:
        return (await client.get("/symbols/BTCUSDT/feed")).json()["stale"] is False

    await eventually_async(fresh)
    eth = (await client.get("/symbols/ETHUSDT/feed")).json()
    assert eth["stale"] is True
    assert eth["age_s"] >= 300
    assert (await client.get("/symbols/DOGEUSDT/feed")).status_code == 404


async def test_metrics_expose_http_latency_per_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/signals/00000000-0000-4000-8000-000000000000")
    text = (await client.get("/metrics")).text
    assert (
        'http_request_duration_ms_count{method="GET",route="/signals/{signal_id}",status="404"} 1.0' in text
    )
    assert "sse_clients 0.0" in text


async def test_openapi_and_ui_are_served(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    assert doc["openapi"] == "3.1.0"
    assert "/signals/{signal_id}/levels" in doc["paths"]
    ui = await client.get("/ui/")
    assert ui.status_code == 200
    assert "<title>algogrid" in ui.text
    assert (await client.get("/nowhere")).json()["reason"] == "no such route"
