"""The trading routes over real HTTP (E-01, E-02, E-06, E-07, G-01 positions): the pre-trade preview, the
click, the close, the position reads and the ``position`` SSE events.

The gateway runs through ``serve_gateway`` and the production engine view (``SupervisionEngineView``) over a
real supervision tree in which small real actors sit at the contract's paths: ``DeskPosition`` at
``root/symbols/<SYM>/position`` answers ``PlaceOrderFromSignal`` / ``ClosePosition`` through their
``ReplyFuture`` and publishes ``PositionChanged``; ``PreviewRisk`` at ``root/risk`` answers ``PreviewTrade``
(see gw_kit). They stand in for the PositionActor and RiskActor of the position room so that every HTTP
answer — each status and reason — can be provoked on demand; the real PositionActor over the simulator is
exercised in tests/e2e. Positions are read from real PostgreSQL (``storage.position_views``).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal

import httpx
import trio
from gw_kit import Stack, make_signal, read_sse

from storage import Storage
from tests.support import eventually_async


async def _store_position(
    storage: Storage, position_id: str, status: str = "open", symbol: str = "BTCUSDT"
) -> None:
    """Commit the row the PositionActor's repository commits before it answers (E-04)."""
    closed = status == "closed"
    await storage.db.execute(
        "INSERT INTO positions (id, symbol, side, status, requested_size_base, executed_size_base, "
        "fill_ratio, avg_entry_price, risk_usd, closed_at, close_reason) "
        "VALUES ($1, $5, 'long', $2, 0.1, 0.1, 1, 65000, 25, $3, $4) "
        "ON CONFLICT (id) DO UPDATE SET status = $2, closed_at = $3, close_reason = $4",
        uuid.UUID(position_id),
        status,
        dt.datetime.now(dt.UTC) if closed else None,
        "manual" if closed else None,
        symbol,
    )


# ------------------------------------------------------------------------------------------------ preview


async def test_preview_answers_size_risk_heat_and_the_verdict_without_reserving(
    desk_client: httpx.AsyncClient, desk_stack: Stack
) -> None:
    signal = make_signal("BTCUSDT", "long")
    await desk_stack.store(signal)

    response = await desk_client.get(f"/signals/{signal.id}/preview")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["signal_id"] == str(signal.id)
    assert Decimal(body["quantity"]) == Decimal("0.099")  # 25 USD / 250.5 down to the default 0.001 step
    assert Decimal(body["notional_usd"]) == Decimal("0.099") * signal.entry
    assert Decimal(body["heat_after_r"]) == Decimal("0.99198")
    assert (body["positions_after"], body["base_usage_after"], body["base_limit"]) == (1, 1, 2)
    assert body["verdict"] == "allowed"
    assert body["reason"] is None
    assert desk_stack.desk is not None
    [asked] = desk_stack.desk.log.previews
    assert (asked.symbol, asked.side, asked.entry, asked.sl) == ("BTCUSDT", "long", signal.entry, signal.sl)
    assert asked.signal_id == str(signal.id)
    assert desk_stack.desk is not None
    assert desk_stack.desk.log.clicks == []  # a preview places nothing
    again = await desk_client.get(f"/signals/{signal.id}/preview")
    assert again.json() == body  # and reserves nothing


async def test_preview_tells_the_risk_actors_denial_and_its_reason(
    desk_client: httpx.AsyncClient, desk_stack: Stack
) -> None:
    for _ in range(2):
        placed = make_signal("BTCUSDT")
        await desk_stack.store(placed)
        assert (
            await desk_client.post("/positions/open", json={"signal_id": str(placed.id)})
        ).status_code == 200
    signal = make_signal("BTCUSDT")
    await desk_stack.store(signal)

    body = (await desk_client.get(f"/signals/{signal.id}/preview")).json()

    assert body["verdict"] == "denied"
    assert body["reason_code"] == "max_positions_per_base"
    assert body["reason"] == "Two positions on this base already: the limit is 2."
    assert (body["positions_after"], body["base_usage_after"]) == (3, 3)


async def test_preview_of_an_unknown_signal_is_404(desk_client: httpx.AsyncClient) -> None:
    for missing in (str(uuid.uuid4()), "not-a-uuid"):
        response = await desk_client.get(f"/signals/{missing}/preview")
        assert response.status_code == 404
        assert response.json()["error"] == "unknown_signal"
        assert missing in response.json()["reason"]


# ------------------------------------------------------------------------------------------------ the click


async def test_a_click_answers_the_fill_and_the_position_and_a_second_click_the_same(
    desk_client: httpx.AsyncClient, desk_stack: Stack
) -> None:
    signal = make_signal("ETHUSDT", "short")
    await desk_stack.store(signal)

    first = await desk_client.post("/positions/open", json={"signal_id": str(signal.id)})

    assert first.status_code == 200, first.text
    body = first.json()
    assert body["order"] == {"status": "filled", "fill_ratio": "1", "avg_price": f"{signal.entry:f}"}
    assert body["position"]["status"] == "open"
    assert body["position"]["side"] == "short"
    assert body["position_id"] == body["position"]["id"]
    assert body["message"] == "Filled in full at the entry price."
    second = await desk_client.post("/positions/open", json={"signal_id": str(signal.id)})
    assert second.status_code == 200
    assert second.json()["position_id"] == body["position_id"]
    assert desk_stack.desk is not None
    me = (await desk_client.get("/auth/me")).json()["id"]
    assert [c.requested_by for c in desk_stack.desk.log.clicks] == [me, me]  # the logged-in user's id


async def test_an_exchange_rejection_is_answered_in_plain_words(
    desk_client: httpx.AsyncClient, desk_stack: Stack
) -> None:
    signal = make_signal("BTCUSDT")
    await desk_stack.store(signal)
    desk_stack.script(signal, "rejected")

    response = await desk_client.post("/positions/open", json={"signal_id": str(signal.id)})

    assert response.status_code == 200
    body = response.json()
    assert body["order"]["status"] == "rejected"
    assert body["position"] is None
    assert body["message"] == "The exchange rejected the order: the balance is too low for this size."
    assert body["reason_code"] == "insufficient_balance"


async def test_refusals_before_any_order_are_404_409_with_the_reason(
    desk_client: httpx.AsyncClient, desk_stack: Stack
) -> None:
    unknown = await desk_client.post("/positions/open", json={"signal_id": str(uuid.uuid4())})
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "unknown_signal"

    expired, denied = make_signal("BTCUSDT"), make_signal("BTCUSDT")
    for signal, outcome in ((expired, "signal_expired"), (denied, "risk_denied:heat")):
        await desk_stack.store(signal)
        desk_stack.script(signal, outcome)
    gone = await desk_client.post("/positions/open", json={"signal_id": str(expired.id)})
    assert gone.status_code == 409
    assert gone.json() == {
        "error": "signal_not_open",
        "reason": "Not placed: signal expired.",
        "details": None,
    }
    refused = await desk_client.post("/positions/open", json={"signal_id": str(denied.id)})
    assert refused.status_code == 409
    assert refused.json()["error"] == "risk_denied"
    assert refused.json()["reason"] == "Not placed: risk denied:heat."

    forgotten, unruled = make_signal("ETHUSDT"), make_signal("ETHUSDT")
    for signal, outcome in ((forgotten, "unknown_signal"), (unruled, "instrument_unavailable")):
        await desk_stack.store(signal)
        desk_stack.script(signal, outcome)
    lost = await desk_client.post("/positions/open", json={"signal_id": str(forgotten.id)})
    assert (lost.status_code, lost.json()["error"]) == (404, "unknown_signal")
    blind = await desk_client.post("/positions/open", json={"signal_id": str(unruled.id)})
    assert (blind.status_code, blind.json()["error"]) == (503, "instrument_unavailable")
    assert blind.json()["reason"] == "Not placed: instrument unavailable."


async def test_a_malformed_body_is_422_with_the_reason(
    desk_client: httpx.AsyncClient, desk_stack: Stack
) -> None:
    not_json = await desk_client.post(
        "/positions/open", content=b"{signal", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422
    assert not_json.json()["reason"] == "invalid body: expected a JSON object"
    missing = await desk_client.post("/positions/open", json={"signal": "x"})
    assert missing.status_code == 422
    assert missing.json()["error"] == "invalid_body"
    assert "signal_id" in missing.json()["reason"]
    assert "signal" in missing.json()["reason"]  # the unknown field is named too
    assert (await desk_client.post("/positions/open", json=["x"])).status_code == 422
    assert desk_stack.desk is not None
    assert desk_stack.desk.log.clicks == []


async def test_an_outcome_that_does_not_come_in_time_is_503_pointing_at_the_positions(
    desk_client: httpx.AsyncClient, desk_stack: Stack
) -> None:
    signal = make_signal("SOLUSDT")
    await desk_stack.store(signal)
    desk_stack.script(signal, "silent")

    response = await desk_client.post("/positions/open", json={"signal_id": str(signal.id)})

    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "engine_unavailable"
    assert "did not finish placing the order within 1 s" in body["reason"]
    assert "GET /positions" in body["reason"]
    assert response.elapsed.total_seconds() >= 1.0


# ------------------------------------------------------------------------------------------------ close


async def test_close_answers_the_outcome_then_409_and_404(
    desk_client: httpx.AsyncClient, desk_stack: Stack
) -> None:
    signal = make_signal("BTCUSDT")
    await desk_stack.store(signal)
    opened = (await desk_client.post("/positions/open", json={"signal_id": str(signal.id)})).json()
    position_id = opened["position_id"]
    await _store_position(desk_stack.storage, position_id)

    closed = await desk_client.post(f"/positions/{position_id}/close", json={"reason": "manual"})

    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["status"] == "closed"
    assert body["position"]["close_reason"] == "manual"
    assert body["pnl_usd"] == "0"
    again = await desk_client.post(f"/positions/{position_id}/close", json={"reason": "manual"})
    assert again.status_code == 409  # the actor knows (the table may lag): already closed
    assert again.json()["error"] == "position_closed"
    await _store_position(desk_stack.storage, position_id, "closed")
    stored = await desk_client.post(f"/positions/{position_id}/close", json={"reason": "time_exit"})
    assert stored.status_code == 409
    assert stored.json()["reason"] == f"position {position_id} is closed already"
    missing = await desk_client.post(f"/positions/{uuid.uuid4()}/close", json={"reason": "manual"})
    assert missing.status_code == 404
    assert missing.json()["error"] == "unknown_position"
    bad = await desk_client.post(f"/positions/{position_id}/close", json={"reason": "bored"})
    assert bad.status_code == 422
    assert "reason" in bad.json()["reason"]


# ------------------------------------------------------------------------------------------------ reads


async def test_positions_list_and_one_position_come_from_postgres(
    desk_client: httpx.AsyncClient, desk_stack: Stack
) -> None:
    open_id, closed_id = str(uuid.uuid4()), str(uuid.uuid4())
    await _store_position(desk_stack.storage, open_id)
    await _store_position(desk_stack.storage, closed_id, "closed")

    open_ids = [p["id"] for p in (await desk_client.get("/positions?status=open")).json()["items"]]
    closed_ids = [p["id"] for p in (await desk_client.get("/positions?status=closed")).json()["items"]]
    assert open_id in open_ids
    assert closed_id not in open_ids
    assert closed_id in closed_ids
    assert open_id not in closed_ids
    detail = await desk_client.get(f"/positions/{open_id}")
    assert detail.status_code == 200
    body = detail.json()
    assert body["position"]["id"] == open_id
    assert body["position"]["requested_size"] == "0.1"
    assert body["orders"] == body["fills"] == body["slippage"] == []
    assert (await desk_client.get(f"/positions/{uuid.uuid4()}")).status_code == 404
    bad = await desk_client.get("/positions?status=pending")
    assert bad.status_code == 422
    assert "status" in bad.json()["reason"]


async def test_a_closed_position_lists_its_pnl_fees_funding_and_slippage(
    desk_client: httpx.AsyncClient, desk_stack: Stack
) -> None:
    closed_id = str(uuid.uuid4())
    await _store_position(desk_stack.storage, closed_id, "closed")
    await desk_stack.storage.db.execute(
        "UPDATE positions SET pnl_usd = 12.5, fees_usd = 1.25, funding_usd = -0.5, "
        "slippage_entry_bps = 1.5, slippage_exit_bps = -2 WHERE id = $1",
        uuid.UUID(closed_id),
    )
    items = (await desk_client.get("/positions?status=closed")).json()["items"]
    row = next(p for p in items if p["id"] == closed_id)
    money = {k: Decimal(row[k]) for k in ("pnl_usd", "fees_usd", "funding_usd")}
    assert money == {"pnl_usd": Decimal("12.5"), "fees_usd": Decimal("1.25"), "funding_usd": Decimal("-0.5")}
    assert Decimal(row["slippage_entry_bps"]) == Decimal("1.5")  # the closed list's slippage column
    assert Decimal(row["slippage_exit_bps"]) == Decimal(-2)


async def test_position_changes_reach_sse_clients_and_replay_after_last_event_id(
    desk_client: httpx.AsyncClient, desk_stack: Stack
) -> None:
    signal = make_signal("ETHUSDT")
    await desk_stack.store(signal)
    async with desk_client.stream("GET", "/stream") as response:
        lines = response.aiter_lines()
        await read_sse(lines, 1, names=("heartbeat",))
        placed = (await desk_client.post("/positions/open", json={"signal_id": str(signal.id)})).json()
        with trio.fail_after(5):
            [event] = await read_sse(lines, 1, names=("position",))
    data = json.loads(event.data)
    assert data["id"] == placed["position_id"]
    assert data["status"] == "open"
    assert event.id is not None
    await _store_position(desk_stack.storage, placed["position_id"], symbol="ETHUSDT")
    closed = await desk_client.post(f"/positions/{placed['position_id']}/close", json={"reason": "manual"})
    assert closed.status_code == 200, closed.text
    headers = {"Last-Event-ID": event.id}

    async def replays_the_close() -> bool:
        async with desk_client.stream("GET", "/stream", headers=headers) as again:
            with trio.fail_after(5):
                [missed] = await read_sse(again.aiter_lines(), 1, names=("position",))
        return bool(json.loads(missed.data)["status"] == "closed")

    assert await eventually_async(replays_the_close)


# ------------------------------------------------------------------------------------------------ engine down


async def test_without_risk_and_position_actors_the_routes_answer_503_with_the_reason(
    client: httpx.AsyncClient, stack: Stack
) -> None:
    signal = make_signal("BTCUSDT")
    await stack.store(signal)  # the plain stack: root → symbols → <SYM> → feed only

    preview = await client.get(f"/signals/{signal.id}/preview")
    assert preview.status_code == 503
    assert preview.json() == {
        "error": "engine_unavailable",
        "reason": "the risk actor is not running (no actor at root/risk)",
        "details": None,
    }
    placed = await client.post("/positions/open", json={"signal_id": str(signal.id)})
    assert placed.status_code == 503
    assert placed.json()["reason"] == (
        "the position actor of BTCUSDT is not running (no actor at root/symbols/BTCUSDT/position)"
    )
