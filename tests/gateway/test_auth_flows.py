"""Account lifecycle over HTTP (U-02, U-04, U-05, U-10, O-01): activation rules, forgotten password, change
of password, a viewer's optional TOTP, account reset, GDPR export and erasure, and the request context bound
to every log line."""

from __future__ import annotations

import httpx
import pyotp
import structlog
from gw_kit import Stack

from gateway.auth import LogMailSender
from tests.support.auth import Account, activate, authorise, create_user, login, token_of_link


def _mail(stack: Stack) -> LogMailSender:
    sender = stack.handle.context.accounts.mail
    assert isinstance(sender, LogMailSender)
    return sender


async def test_activation_refuses_weak_passwords_and_works_once(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    created = await client.post("/users", json={"email": "new.trader@example.com", "role": "trader"})
    token = token_of_link(created.json()["activation_link"])
    assert _mail(stack).sent[-1][2] == created.json()["activation_link"]  # mailed (printed in simulation)
    async with httpx.AsyncClient(base_url=stack.url) as c:
        setup = (await c.post("/auth/activate/totp", json={"token": token})).json()
        assert setup["qr_svg"].startswith("<svg")
        assert setup["otpauth_uri"].startswith("otpauth://totp/")
        code = pyotp.TOTP(setup["secret"]).now()
        for weak, why in (
            ("short1", "at least 12"),
            ("onlyletterslong", "letters and digits"),
            ("password1234", "common"),
        ):
            refused = await c.post(
                "/auth/activate", json={"token": token, "password": weak, "totp_code": code}
            )
            assert refused.status_code == 422, weak
            assert why in refused.json()["reason"]
        no_code = await c.post(
            "/auth/activate", json={"token": token, "password": "correct-Horse-battery-42"}
        )
        assert no_code.status_code == 401  # a trader cannot be activated without TOTP
        done = await c.post(
            "/auth/activate", json={"token": token, "password": "correct-Horse-battery-42", "totp_code": code}
        )
        assert done.status_code == 200, done.text
        again = await c.post(
            "/auth/activate", json={"token": token, "password": "correct-Horse-battery-42", "totp_code": code}
        )
        assert again.status_code == 400
        assert again.json()["error"] == "invalid_one_time_token"


async def test_forgotten_password_answers_the_same_and_resets_once(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    viewer = await create_user(client, "viewer")
    async with httpx.AsyncClient(base_url=stack.url) as c:
        pair = await login(c, viewer)
        sent = len(_mail(stack).sent)
        unknown = await c.post("/auth/password/forgot", json={"email": "nobody@example.com"})
        known = await c.post("/auth/password/forgot", json={"email": viewer.email})
        assert unknown.status_code == known.status_code == 202
        assert len(_mail(stack).sent) == sent + 1  # only the real account got a link
        token = token_of_link(_mail(stack).sent[-1][2])
        reset = await c.post(
            "/auth/password/reset", json={"token": token, "password": "new-Horse-battery-77"}
        )
        assert reset.status_code == 204
        assert (
            await c.post("/auth/password/reset", json={"token": token, "password": "x-Horse-battery-78"})
        ).status_code == 400
        assert (
            await c.get("/auth/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
        ).status_code == 401
        viewer.password = "new-Horse-battery-77"
        await login(c, viewer)


async def test_changing_the_password_ends_every_session(stack: Stack, client: httpx.AsyncClient) -> None:
    viewer = await create_user(client, "viewer")
    async with httpx.AsyncClient(base_url=stack.url) as c:
        await login(c, viewer)
        authorise(c, viewer)
        wrong = await c.post(
            "/auth/password/change",
            json={"current_password": "nope-nope-1234", "new_password": "other-Horse-battery-55"},
        )
        assert wrong.status_code == 401
        changed = await c.post(
            "/auth/password/change",
            json={"current_password": viewer.password, "new_password": "other-Horse-battery-55"},
        )
        assert changed.status_code == 204
        assert (await c.get("/auth/me")).status_code == 401
        rows = await stack.storage.db.fetchval(
            "SELECT count(*) FROM audit_trail WHERE action = 'password_changed' AND target_id = $1",
            viewer.user_id,
        )
        assert rows == 1


async def test_a_viewer_may_enable_and_disable_totp_but_a_trader_may_not_disable_it(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    viewer = await create_user(client, "viewer")
    trader = await create_user(client, "trader")
    async with httpx.AsyncClient(base_url=stack.url) as v, httpx.AsyncClient(base_url=stack.url) as t:
        await login(v, viewer)
        authorise(v, viewer)
        viewer.totp_secret = (await v.post("/auth/2fa/setup")).json()["secret"]
        assert (await v.post("/auth/2fa/confirm", json={"code": viewer.code()})).status_code == 204
        assert (await v.get("/auth/me")).json()["totp_enabled"] is True
        assert (
            await v.post("/auth/2fa/disable", json={"password": viewer.password, "code": viewer.code()})
        ).status_code == 204
        await login(t, trader)
        authorise(t, trader)
        refused = await t.post("/auth/2fa/disable", json={"password": trader.password, "code": trader.code()})
        assert refused.status_code == 409


async def test_reset_export_and_erasure_of_an_account(stack: Stack, client: httpx.AsyncClient) -> None:
    trader = await create_user(client, "trader")
    reset = await client.patch(f"/users/{trader.user_id}", json={"reset": True})
    link = reset.json()["activation_link"]
    async with httpx.AsyncClient(base_url=stack.url) as c:
        assert (
            await c.post("/auth/login", json={"email": trader.email, "password": trader.password})
        ).status_code == 401
        again: Account = await activate(c, token_of_link(link), trader.email, "trader")
        await login(c, again)
    export = (await client.get(f"/users/{trader.user_id}/export")).json()
    assert export["account"]["email"] == trader.email
    assert {"user_activated", "account_reset", "login"} <= {row["action"] for row in export["audit"]}
    assert (await client.post(f"/users/{trader.user_id}/anonymise")).status_code == 204
    erased = (await client.get(f"/users/{trader.user_id}/export")).json()
    assert trader.email not in str(erased)
    assert erased["account"]["is_active"] is False
    kept = await stack.storage.db.fetchval(
        "SELECT count(*) FROM audit_trail WHERE target_id = $1", trader.user_id
    )
    assert kept >= 3  # the audit rows stay, pointing at an id that names no one


async def test_each_log_line_of_a_request_carries_its_ids(stack: Stack, client: httpx.AsyncClient) -> None:
    viewer = await create_user(client, "viewer")
    with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        async with httpx.AsyncClient(base_url=stack.url) as c:
            answer = await c.post(
                "/auth/login",
                json={"email": viewer.email, "password": viewer.password},
                headers={"X-Request-ID": "req-42", "X-Correlation-ID": "corr-7"},
            )
    assert answer.headers["x-request-id"] == "req-42"
    opened = [e for e in logs if e["event"] == "session opened"]
    assert opened
    assert opened[0]["request_id"] == "req-42"
    assert opened[0]["correlation_id"] == "corr-7"
    assert opened[0]["user_id"] == viewer.user_id
