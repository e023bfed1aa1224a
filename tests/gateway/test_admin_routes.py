"""The admin routes (R-04, G-01, O-02, U-05): the kill switch written as the RiskActor reads it, only after
the admin re-authenticated (password + a current TOTP code), readable by every user for the banner; the status
figures (with the median slippage of the window's fills, exact); a validated, audited ``PATCH /config`` —
admin only."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pyotp
import pytest
import trio
from gw_kit import Stack

from gateway.auth.totp import STEP_S
from tests.support.auth import Account, activate, authorise, bootstrap_admin, create_user, login


@pytest.fixture
async def admin(stack: Stack) -> AsyncIterator[tuple[httpx.AsyncClient, Account]]:
    """An admin's client (bearer) and the admin, whose phone makes the codes re-authentication needs."""
    async with httpx.AsyncClient(base_url=stack.url, timeout=10.0) as c:
        email, token = await bootstrap_admin(stack.storage)
        account = await activate(c, token, email, "admin")
        await login(c, account)
        authorise(c, account)
        yield c, account


async def reauth(account: Account, **body: object) -> dict[str, object]:
    """Return a kill-switch body with the admin's password and a current code (the next step's, if needed)."""
    await trio.sleep(account.wait_for_code_s())  # TOTP is wall time: activation and login used this step's
    return {**body, "password": account.password, "totp_code": account.code()}


def wrong_code(account: Account) -> str:
    """Return a well-formed code that is not valid now (the code of a step an hour away)."""
    assert account.totp_secret is not None
    return pyotp.TOTP(account.totp_secret).at(dt.datetime.now(dt.UTC).timestamp() + 120 * STEP_S)


async def second_admin(first: httpx.AsyncClient, c: httpx.AsyncClient) -> Account:
    """Have ``first`` create another admin and log ``c`` in as them."""
    account = await create_user(first, "admin")
    await login(c, account)
    authorise(c, account)
    return account


async def test_an_admin_engages_and_releases_the_kill_switch_with_an_audited_reason(
    stack: Stack, admin: tuple[httpx.AsyncClient, Account]
) -> None:
    client, account = admin
    engaged = await client.post(
        "/admin/kill_switch", json=await reauth(account, enabled=True, reason="exchange incident")
    )
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
    async with httpx.AsyncClient(base_url=stack.url, timeout=10.0) as other:
        colleague = await second_admin(client, other)
        released = await other.post(
            "/admin/kill_switch", json=await reauth(colleague, enabled=False, reason="resolved")
        )
        assert released.json()["state"] == "ACTIVE"
    rows = await stack.storage.db.fetch(
        "SELECT actor_user_id, ip::text AS ip FROM audit_trail WHERE action = 'kill_switch_requested' "
        "ORDER BY id"
    )
    assert [str(r["actor_user_id"]) for r in rows] == [account.user_id, colleague.user_id]
    assert all(r["ip"].startswith("127.0.0.1") for r in rows)


async def test_a_wrong_code_or_password_at_reauthentication_is_refused_with_a_reason_and_audited(
    stack: Stack, admin: tuple[httpx.AsyncClient, Account]
) -> None:
    client, account = admin
    body = {"enabled": True, "reason": "exchange incident", "password": account.password}
    wrong = await client.post("/admin/kill_switch", json={**body, "totp_code": wrong_code(account)})
    assert (wrong.status_code, wrong.json()["error"]) == (403, "reauth_failed")  # the session stays valid
    reason = "re-authentication failed: the password or the authenticator code is wrong"
    assert wrong.json()["reason"] == reason
    bad_password = await reauth(account, **body)
    bad_password["password"] = "not-the-Password-1"
    assert (await client.post("/admin/kill_switch", json=bad_password)).status_code == 403
    assert (await client.get("/auth/me")).status_code == 200
    missing = await client.post("/admin/kill_switch", json={"enabled": True, "reason": "no re-auth"})
    assert missing.status_code == 422  # password and code are required fields
    stored = await stack.storage.kill_switch.load_trading_state(dt.datetime.now(dt.UTC))
    assert stored.kill_switch is False  # nothing changed
    rows = await stack.storage.db.fetch(
        "SELECT actor_user_id, details FROM audit_trail WHERE action = 'reauth_failed' ORDER BY id"
    )
    assert [(str(r["actor_user_id"]), r["details"]) for r in rows] == [
        (account.user_id, {"purpose": "kill_switch"}),
        (account.user_id, {"purpose": "kill_switch"}),
    ]


async def test_every_user_reads_who_changed_the_trading_state_why_and_when(
    stack: Stack, admin: tuple[httpx.AsyncClient, Account]
) -> None:
    client, account = admin
    viewer = await create_user(client, "viewer")
    async with httpx.AsyncClient(base_url=stack.url, timeout=10.0) as c:
        await login(c, viewer)
        authorise(c, viewer)
        before = (await c.get("/admin/kill_switch")).json()
        assert (before["state"], before["kill_switch"]) == ("ACTIVE", False)
        body = await reauth(account, enabled=True, reason="venue outage", state="reducing")
        assert (await client.post("/admin/kill_switch", json=body)).status_code == 200
        after = await c.get("/admin/kill_switch")
        assert after.status_code == 200
        seen = after.json()
        assert (seen["state"], seen["kill_switch"], seen["reason"]) == ("REDUCING", True, "venue outage")
        assert (seen["changed_by"], seen["changed_by_email"]) == (f"user:{account.user_id}", account.email)
        assert seen["source"] == "operator"
        at = dt.datetime.fromisoformat(seen["changed_at"])
        assert abs((dt.datetime.now(dt.UTC) - at).total_seconds()) < 60
        body = {"enabled": False, "reason": "mine", "password": viewer.password, "totp_code": "123456"}
        refused = await c.post("/admin/kill_switch", json=body)
        assert refused.status_code == 403


async def test_status_reports_the_exact_median_slippage_of_the_window_against_the_model(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    now = dt.datetime.now(dt.UTC)
    rows = [("1.5", "2"), ("2.5", "2"), ("-0.5", None), ("4.25", "3"), ("9", "3")]
    old = ("100", "100")  # recorded before the window: not counted
    for (actual, modelled), at in [*((r, now - dt.timedelta(hours=1)) for r in rows),
                                   (old, now - dt.timedelta(days=400))]:  # fmt: skip
        await stack.storage.db.execute(
            "INSERT INTO slippage_log (recorded_at, symbol, side, leg, requested_price, avg_fill_price, qty, "
            "slippage_bps, modelled_bps) VALUES ($1, 'BTCUSDT', 'long', 'entry', 100, 100, 1, $2, $3)",
            at,
            Decimal(actual),
            None if modelled is None else Decimal(modelled),
        )
    status = (await client.get("/admin/status")).json()
    assert status["slippage_fills"] == 5
    assert Decimal(status["median_slippage_bps"]) == Decimal("2.5")
    assert Decimal(status["median_modelled_slippage_bps"]) == Decimal("2.5")  # (2 + 3) / 2 of 2, 2, 3, 3


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
        body = {"enabled": True, "reason": "mine", "password": trader.password, "totp_code": "123456"}
        assert (await c.post("/admin/kill_switch", json=body)).status_code == 403


async def test_a_change_the_running_engine_refuses_as_a_whole_is_answered_422_and_not_stored(
    stack: Stack,
) -> None:
    from actors.risk import risk_limits_from
    from algogrid.admin_wiring import StorageOps
    from algogrid.config_reload import ConfigReloader, LiveRiskLimits
    from algogrid.settings import load_settings
    from gateway import ConfigRejectedError
    from gateway.auth import RequestMeta

    settings = load_settings(None)

    async def ask(message: Any) -> Any:
        return message.limits

    limits = LiveRiskLimits(risk_limits_from(settings.risk))
    live = ConfigReloader(settings, None, stack.storage.audit, ask, limits)
    ops = StorageOps(settings, stack.storage, live)
    meta = RequestMeta(None, "127.0.0.1", "test", None, None)
    stored = await stack.storage.runtime_config.load()  # the module's database: earlier tests stored some
    with pytest.raises(ConfigRejectedError, match="one source"):  # the risk section is its one source
        await ops.patch_config({"monitor": {"poll_interval_s": 30}}, meta)
    assert await stack.storage.runtime_config.load() == stored
    done = await ops.patch_config({"risk": {"max_concurrent_positions": 12}}, meta)
    assert done.applied_now == ["risk.max_concurrent_positions"]
    assert (await stack.storage.runtime_config.load())["risk"]["max_concurrent_positions"] == 12
