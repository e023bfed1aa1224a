"""``GET /admin/audit`` (U-11): the audit trail by actor, action prefix and time range, newest first, in
pages — admin only; and ``GET /admin/calibration/runs`` (S-05): the newest calibration runs and the version in
force."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import httpx
from gw_kit import Stack

from tests.support.auth import authorise, create_user, login


async def _actions(client: httpx.AsyncClient, query: str) -> list[str]:
    answer = await client.get(f"/admin/audit?{query}")
    assert answer.status_code == 200, answer.text
    return [row["action"] for row in answer.json()["items"]]


async def test_the_audit_viewer_filters_by_actor_action_and_time_and_pages(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    me = (await client.get("/auth/me")).json()
    assert (await client.patch("/config", json={"risk": {"risk_per_trade_usd": "30"}})).status_code == 200
    await create_user(client, "viewer")  # user_created by the admin, then the viewer's own activation rows
    await stack.storage.audit.append("backup_verified", {"file": "x"}, actor="cli")

    mine = await client.get("/admin/audit", params={"actor": me["email"].upper()})
    rows = mine.json()["items"]
    assert rows, mine.text
    assert {r["actor_user_id"] for r in rows} == {me["id"]}
    assert {r["actor_email"] for r in rows} == {me["email"]}
    assert "config_changed" in [r["action"] for r in rows]

    changed = (await client.get("/admin/audit", params={"action": "config"})).json()["items"]
    assert [r["action"] for r in changed] == ["config_changed"]
    assert changed[0]["details"] == {"section": "risk", "changed": {"risk_per_trade_usd": "30"}}
    assert changed[0]["actor"] == me["id"]
    assert await _actions(client, "actor=cli") == ["backup_verified"]
    assert await _actions(client, "action=config_") == ["config_changed"]  # "_" is literal, not a wildcard
    assert await _actions(client, "action=configxchanged") == []

    every = (await client.get("/admin/audit", params={"limit": 500})).json()["items"]
    ids = [r["id"] for r in every]
    assert ids == sorted(ids, reverse=True)  # newest first
    first = await client.get("/admin/audit", params={"limit": 2})
    assert [r["id"] for r in first.json()["items"]] == ids[:2]
    assert first.json()["next_offset"] == 2
    second = await client.get("/admin/audit", params={"limit": 2, "offset": 2})
    assert [r["id"] for r in second.json()["items"]] == ids[2:4]
    last = await client.get("/admin/audit", params={"limit": 500, "offset": len(ids) - 1})
    assert last.json()["next_offset"] is None

    now = dt.datetime.now(dt.UTC)
    future = quote((now + dt.timedelta(hours=1)).isoformat())
    past = quote((now - dt.timedelta(hours=1)).isoformat())
    assert await _actions(client, f"since={future}") == []
    assert len(await _actions(client, f"since={past}&until={future}&limit=500")) == len(ids)
    assert await _actions(client, f"until={past}") == []


async def test_the_audit_viewer_refuses_bad_filters_and_non_admins(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    now = dt.datetime.now(dt.UTC)
    backwards = {"since": now.isoformat(), "until": (now - dt.timedelta(hours=1)).isoformat()}
    answer = await client.get("/admin/audit", params=backwards)
    assert (answer.status_code, answer.json()["reason"]) == (422, "invalid query: until must be after since")
    assert (await client.get("/admin/audit", params={"action": "DROP TABLE"})).status_code == 422
    assert (await client.get("/admin/audit", params={"limit": 0})).status_code == 422
    assert (await client.get("/admin/audit", params={"who": "x"})).status_code == 422
    trader = await create_user(client, "trader")
    async with httpx.AsyncClient(base_url=stack.url, timeout=10.0) as c:
        await login(c, trader)
        authorise(c, trader)
        assert (await c.get("/admin/audit")).status_code == 403
        assert (await c.get("/admin/calibration/runs")).status_code == 200  # traders run calibration (U-01)


async def test_calibration_runs_list_the_newest_first_with_the_version_in_force(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    empty = (await client.get("/admin/calibration/runs")).json()
    assert empty == {"items": [], "active_version": None}
    calibration = stack.storage.calibration
    start, end = dt.date(2024, 1, 1), dt.date(2024, 7, 1)
    first = await calibration.start_run(start, end, False, 182, {}, "cli")
    await calibration.succeed(first, {"pf": 1.4}, [], [])
    second = await calibration.start_run(start, end, True, 182, {}, "admin@example.com")
    await calibration.progress(second, 40)

    body = (await client.get("/admin/calibration/runs")).json()
    assert [r["id"] for r in body["items"]] == [second, first]
    running, done = body["items"]
    assert (running["status"], running["progress_days"], running["total_days"]) == ("running", 40, 182)
    assert (running["forced"], running["triggered_by"], running["finished_at"]) == (
        True, "admin@example.com", None,
    )  # fmt: skip
    assert (done["status"], done["progress_days"]) == ("succeeded", 182)
    assert body["active_version"] == done["version"]
    assert running["version"] > done["version"]
    assert len((await client.get("/admin/calibration/runs?limit=1")).json()["items"]) == 1
