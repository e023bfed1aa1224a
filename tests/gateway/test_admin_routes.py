"""The admin routes (R-04, G-01, O-02): the kill switch written as the RiskActor reads it, the status
figures, and a validated, audited ``PATCH /config`` — admin only."""

from __future__ import annotations

import datetime as dt

import httpx
from gw_kit import Stack

from tests.support.auth import authorise, create_user, login


async def test_an_admin_engages_and_releases_the_kill_switch_with_an_audited_reason(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    engaged = await client.post("/admin/kill_switch", json={"enabled": True, "reason": "exchange incident"})
    assert engaged.status_code == 200, engaged.text
    assert engaged.json()["state"] == "HALTED"
    assert engaged.json()["kill_switch"] is True
    stored = await stack.storage.kill_switch.load_trading_state(dt.datetime.now(dt.UTC))
    assert (stored.state.name, stored.kill_switch, stored.reason) == ("HALTED", True, "exchange incident")
    mirror = await stack.storage.kill_switch.read_mirror()
    assert mirror is not None
    assert mirror["state"] == "HALTED"  # the running RiskActor polls this
    status = (await client.get("/admin/status")).json()
    assert status["kill_switch"] is True
    assert status["trades"] == 0
    released = await client.post("/admin/kill_switch", json={"enabled": False, "reason": "resolved"})
    assert released.json()["state"] == "ACTIVE"
    rows = await stack.storage.db.fetch(
        "SELECT actor_user_id, ip::text AS ip FROM audit_trail WHERE action = 'kill_switch_requested'"
    )
    me = (await client.get("/auth/me")).json()["id"]
    assert [str(r["actor_user_id"]) for r in rows] == [me, me]
    assert all(r["ip"].startswith("127.0.0.1") for r in rows)


async def test_config_patch_is_validated_stored_and_audited(stack: Stack, client: httpx.AsyncClient) -> None:
    before = (await client.get("/config")).json()
    assert "risk" in before["editable"]
    bad = await client.patch("/config", json={"risk": {"risk_per_trade_usd": "-5"}})
    assert bad.status_code == 422
    unknown = await client.patch("/config", json={"risk": {"no_such_key": 1}})
    assert unknown.status_code == 422
    good = await client.patch("/config", json={"risk": {"risk_per_trade_usd": "30"}})
    assert good.status_code == 200, good.text
    assert good.json()["overrides"]["risk"] == {"risk_per_trade_usd": "30"}
    audit = await stack.storage.db.fetchrow(
        "SELECT details FROM audit_trail WHERE action = 'config_changed' ORDER BY id DESC LIMIT 1"
    )
    assert audit is not None
    assert audit["details"] == {"section": "risk", "changed": {"risk_per_trade_usd": "30"}}


async def test_only_admins_change_config_or_the_kill_switch(stack: Stack, client: httpx.AsyncClient) -> None:
    trader = await create_user(client, "trader")
    async with httpx.AsyncClient(base_url=stack.url) as c:
        await login(c, trader)
        authorise(c, trader)
        assert (await c.get("/config")).status_code == 200
        assert (await c.get("/admin/status")).status_code == 200
        assert (await c.patch("/config", json={"risk": {"risk_per_trade_usd": "30"}})).status_code == 403
        body = {"enabled": True, "reason": "mine"}
        assert (await c.post("/admin/kill_switch", json=body)).status_code == 403
