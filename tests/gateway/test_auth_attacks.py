"""The attacker's suite (ASVS L2 V2/V3/V4): forged and misused tokens, refresh reuse, TOTP replay, brute force
and lockout, user enumeration, credentials in URLs, CSRF, the route × role matrix, security headers, a
disabled user's SSE stream, and secrets kept out of the logs. Everything runs over real HTTP against the
real gateway, PostgreSQL and Redis; users are made through the product's routes (tests/support/auth.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
import structlog
import trio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from gw_kit import Stack

from gateway import endpoints_for
from gateway.access import ACCESS
from gateway.auth import ROLES, TokenKind, TokenService
from tests.support.auth import TEST_AUTH, Account, authorise, browser_login, create_user, login

SECRET = TEST_AUTH.jwt_secret.get_secret_value() if TEST_AUTH.jwt_secret else ""


def _tokens(**overrides: Any) -> TokenService:
    params: dict[str, Any] = {
        "algorithm": "HS256",
        "signing_key": SECRET,
        "verify_key": SECRET,
        "issuer": TEST_AUTH.issuer,
        "audience": TEST_AUTH.audience,
        "access_ttl_s": 900,
        "refresh_ttl_s": 3600,
    }
    params.update(overrides)
    return TokenService(**params)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def _me_id(client: httpx.AsyncClient) -> uuid.UUID:
    return uuid.UUID((await client.get("/auth/me")).json()["id"])


async def _status_with(stack: Stack, token: str, path: str = "/signals") -> int:
    async with httpx.AsyncClient(base_url=stack.url, timeout=10.0) as c:
        return (await c.get(path, headers={"Authorization": f"Bearer {token}"})).status_code


# ------------------------------------------------------------------------------------------------ tokens


async def test_forged_and_misused_tokens_are_refused(stack: Stack, client: httpx.AsyncClient) -> None:
    me = await _me_id(client)
    sid = uuid.uuid4()
    claims = {
        "sub": str(me),
        "role": "admin",
        "sid": str(sid),
        "iat": int(time.time()),
        "nbf": int(time.time()),
        "exp": int(time.time()) + 600,
        "jti": "x",
        "aud": TEST_AUTH.audience,
        "iss": TEST_AUTH.issuer,
        "typ": "access",
    }
    none_header = _b64(b'{"alg":"none","typ":"JWT"}')
    alg_none = f"{none_header}.{_b64(json.dumps(claims).encode())}."
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rs_signed = jwt.encode(claims, key, algorithm="RS256")
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    head = _b64(b'{"alg":"HS256","typ":"JWT"}') + "." + _b64(json.dumps(claims).encode())
    hs_with_public_key = head + "." + _b64(hmac.new(public_pem, head.encode(), hashlib.sha256).digest())
    other_secret = jwt.encode(claims, "another-secret-of-enough-length-000000", algorithm="HS256")
    forged = {
        "alg none": alg_none,
        "RS256 where HS256 is configured": rs_signed,
        "HS256 keyed with a public key": hs_with_public_key,
        "another secret": other_secret,
        "wrong audience": _tokens(audience="elsewhere").issue(TokenKind.ACCESS, me, "admin", sid)[0],
        "wrong issuer": _tokens(issuer="evil").issue(TokenKind.ACCESS, me, "admin", sid)[0],
        "expired": _tokens().issue(TokenKind.ACCESS, me, "admin", sid, now=time.time() - 3600)[0],
        "not yet valid": _tokens().issue(TokenKind.ACCESS, me, "admin", sid, now=time.time() + 3600)[0],
        "a refresh token as access": _tokens().issue(TokenKind.REFRESH, me, "admin", sid)[0],
        "garbage": "not.a.token",
    }
    for what, token in forged.items():
        assert await _status_with(stack, token) == 401, what
    # an RS256 deployment refuses an HS256 token signed with its own public key (the classic confusion)
    rs = _tokens(
        algorithm="RS256",
        signing_key=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        verify_key=public_pem,
    )
    with pytest.raises(Exception, match="invalid token"):
        rs.verify(hs_with_public_key, TokenKind.ACCESS)
    assert rs.verify(rs.issue(TokenKind.ACCESS, me, "admin", sid)[0], TokenKind.ACCESS).sub == me


async def test_an_access_token_is_refused_in_the_query_string(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    token = client.headers["Authorization"].split()[1]
    async with httpx.AsyncClient(base_url=stack.url) as anonymous:
        refused = await anonymous.get("/signals", params={"access_token": token})
        assert refused.status_code == 400
        assert refused.json()["error"] == "token_in_query"
        assert (await anonymous.get("/health", params={"token": "x"})).status_code == 400


async def test_a_reused_refresh_token_revokes_its_whole_family(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    trader = await create_user(client, "trader")
    async with httpx.AsyncClient(base_url=stack.url) as c:
        first = await login(c, trader)
        rotated = await c.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert rotated.status_code == 200, rotated.text
        second = rotated.json()
        assert await _status_with(stack, second["access_token"]) == 200
        reused = await c.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
        assert reused.status_code == 401
        assert "reused" in reused.json()["reason"]
        # the thief's reuse ended the session for everyone holding it
        assert (
            await c.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
        ).status_code == 401
        assert await _status_with(stack, second["access_token"]) == 401
        assert await _status_with(stack, first["access_token"]) == 401
    rows = await stack.storage.db.fetchval(
        "SELECT count(*) FROM audit_trail WHERE action = 'refresh_reuse_detected' AND target_id = $1",
        trader.user_id,
    )
    assert rows == 1


async def test_logout_ends_the_session_and_its_access_tokens(stack: Stack, client: httpx.AsyncClient) -> None:
    viewer = await create_user(client, "viewer")
    async with httpx.AsyncClient(base_url=stack.url) as c:
        pair = await login(c, viewer)
        authorise(c, viewer)
        assert (await c.post("/auth/logout")).status_code == 204
        assert await _status_with(stack, pair["access_token"]) == 401
        assert (
            await c.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        ).status_code == 401


# ------------------------------------------------------------------------------------------------ TOTP


async def test_a_totp_code_is_never_accepted_twice(stack: Stack, client: httpx.AsyncClient) -> None:
    trader = await create_user(client, "trader")
    code = trader.code()
    async with httpx.AsyncClient(base_url=stack.url) as c:
        body = {"email": trader.email, "password": trader.password, "totp_code": code}
        assert (await c.post("/auth/login", json=body)).status_code == 200
        replay = await c.post("/auth/login", json=body)
        assert replay.status_code == 401
        assert replay.json()["error"] == "invalid_credentials"
        assert (await c.post("/auth/login", json={**body, "totp_code": None})).status_code == 401  # required


async def test_brute_force_on_password_or_code_locks_the_account_softly(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    trader = await create_user(client, "trader")
    limit = TEST_AUTH.lockout.max_account_failures
    async with httpx.AsyncClient(base_url=stack.url) as c:
        for n in range(limit):
            body = {
                "email": trader.email,
                "password": trader.password if n % 2 else "wrong-Password-1234",
                "totp_code": "000000",
            }
            assert (await c.post("/auth/login", json=body)).status_code == 401
        right = {"email": trader.email, "password": trader.password, "totp_code": trader.code()}
        locked = await c.post("/auth/login", json=right)
        assert locked.status_code == 429
        assert locked.json()["error"] == "too_many_attempts"
        assert int(locked.headers["Retry-After"]) > 0
        # an unknown e-mail locks the same way (a lockout tells nothing about existence)
        ghost = {"email": "ghost@example.com", "password": "wrong-Password-1234"}
        codes = [(await c.post("/auth/login", json=ghost)).status_code for _ in range(limit + 1)]
        assert codes == [401] * limit + [429]


async def test_unknown_user_and_wrong_password_look_the_same(stack: Stack, client: httpx.AsyncClient) -> None:
    viewer = await create_user(client, "viewer")
    async with httpx.AsyncClient(base_url=stack.url) as c:
        unknown = await c.post("/auth/login", json={"email": "nobody@example.com", "password": "x" * 12})
        wrong = await c.post("/auth/login", json={"email": viewer.email, "password": "x" * 12})
    assert (unknown.status_code, unknown.json()) == (wrong.status_code, wrong.json())
    assert unknown.status_code == 401


def test_unknown_user_costs_the_same_password_work_as_a_wrong_password() -> None:
    from gateway.auth import PasswordHashConfig, PasswordHasher

    hasher = PasswordHasher(PasswordHashConfig())  # production (OWASP) parameters

    async def timed(encoded: str | None) -> float:
        start = time.perf_counter()
        for _ in range(3):
            assert not await hasher.verify(encoded, "wrong-Password-1234")
        return time.perf_counter() - start

    async def main() -> tuple[float, float]:
        real = await hasher.hash("correct-Horse-battery-42")
        return await timed(None), await timed(real)

    unknown, wrong = trio.run(main)
    assert 0.5 < unknown / wrong < 2.0, (unknown, wrong)


# ------------------------------------------------------------------------------------------------ matrix


def test_every_route_is_in_the_matrix_and_the_matrix_names_only_real_routes() -> None:
    table = {(e.method, e.path) for e in endpoints_for(fault_injection=True)}
    assert table <= set(ACCESS)
    assert set(ACCESS) - table <= {
        ("POST", "/admin/kill_switch"),
        ("GET", "/admin/status"),
        ("GET", "/config"),
        ("PATCH", "/config"),
        ("GET", "/api-keys"),
        ("POST", "/api-keys"),
        ("DELETE", "/api-keys/{key_id}"),
    }


async def test_a_route_missing_from_the_matrix_is_refused_to_everyone() -> None:
    from starlette.requests import Request

    from gateway.access import guard
    from gateway.auth import ForbiddenError
    from gateway.endpoint import Endpoint

    async def handler(request: Request) -> Any:
        raise AssertionError("reached")

    guarded = guard(Endpoint("/new", "GET", handler, "new", "x"), auth=None)  # type: ignore[arg-type]
    with pytest.raises(ForbiddenError):
        await guarded(
            Request({"type": "http", "method": "GET", "path": "/new", "headers": [], "query_string": b""})
        )


_SKIP_WHEN_ALLOWED = {("POST", "/auth/logout"), ("GET", "/stream"), ("POST", "/admin/faults")}


async def test_every_route_for_every_role_and_no_token(stack: Stack, client: httpx.AsyncClient) -> None:
    people: dict[str, httpx.AsyncClient | None] = {"none": None, "admin": client}
    made: list[httpx.AsyncClient] = []
    for role in ("viewer", "trader"):
        account = await create_user(client, role)
        c = httpx.AsyncClient(base_url=stack.url, timeout=10.0)
        made.append(c)
        await login(c, account)
        authorise(c, account)
        people[role] = c
    try:
        async with httpx.AsyncClient(base_url=stack.url, timeout=10.0) as anonymous:
            for endpoint in endpoints_for(fault_injection=True):
                roles = ACCESS[(endpoint.method, endpoint.path)]
                path = endpoint.path.replace("{symbol}", "BTCUSDT")
                path = re.sub(r"{\w+}", lambda _m: str(uuid.uuid4()), path)
                for who in ("none", *ROLES):
                    allowed = not roles or who in roles
                    if allowed and (endpoint.method, endpoint.path) in _SKIP_WHEN_ALLOWED:
                        continue
                    c = people[who] or anonymous
                    kwargs: dict[str, Any] = {"json": {}} if endpoint.method in ("POST", "PATCH") else {}
                    status = (await c.request(endpoint.method, path, **kwargs)).status_code
                    where = f"{endpoint.method} {endpoint.path} as {who}"
                    if not roles:  # public: never refused by role (``/auth/refresh`` wants its own token)
                        assert status != 403, f"{where}: {status}"
                    elif allowed:
                        assert status not in (401, 403), f"{where}: {status}"
                    elif who == "none":
                        assert status == 401, f"{where}: {status}"
                    else:
                        assert status == 403, f"{where}: {status}"
    finally:
        for c in made:
            await c.aclose()


# ------------------------------------------------------------------------------------------------ browser


async def test_a_cookie_session_needs_the_csrf_token_on_unsafe_requests(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    trader = await create_user(client, "trader")
    async with httpx.AsyncClient(base_url=stack.url, timeout=10.0) as browser:
        csrf = await browser_login(browser, trader)
        cookies = {c.name: c for c in browser.cookies.jar}
        assert cookies["algogrid_access"].has_nonstandard_attr("HttpOnly")
        assert cookies["algogrid_refresh"].path == "/auth"
        assert (await browser.get("/signals")).status_code == 200  # reads need no CSRF token
        del browser.headers["X-CSRF-Token"]
        missing = await browser.post("/positions/open", json={"signal_id": str(uuid.uuid4())})
        assert (missing.status_code, missing.json()["error"]) == (403, "csrf_failed")
        wrong = await browser.post(
            "/positions/open", json={"signal_id": str(uuid.uuid4())}, headers={"X-CSRF-Token": "guess"}
        )
        assert wrong.status_code == 403
        right = await browser.post(
            "/positions/open", json={"signal_id": str(uuid.uuid4())}, headers={"X-CSRF-Token": csrf}
        )
        assert right.status_code == 404  # past the CSRF check: the signal does not exist
        assert (await browser.post("/auth/refresh")).status_code == 403  # the cookie refresh needs it too
        assert (await browser.post("/auth/refresh", headers={"X-CSRF-Token": csrf})).status_code == 200


async def test_security_headers_are_on_every_answer(stack: Stack, client: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient(base_url=stack.url, timeout=10.0) as anonymous:
        answers = [await anonymous.get(p) for p in ("/health", "/signals", "/nope", "/ui/", "/openapi.json")]
        answers.append(
            await anonymous.post("/auth/login", content=b"x", headers={"Content-Type": "text/plain"})
        )
        answers.append(
            await anonymous.post(
                "/auth/login", content=b"{" * 70_000, headers={"Content-Type": "application/json"}
            )
        )
    answers.append(await client.get("/signals"))
    assert [a.status_code for a in answers[-3:]] == [415, 413, 200]
    for answer in answers:
        csp = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["cross-origin-opener-policy"] == "same-origin"
        if not str(answer.url).endswith("/ui/"):
            assert answer.headers["cache-control"] == "no-store"


async def test_a_disabled_users_open_stream_is_closed_and_their_token_refused(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    viewer = await create_user(client, "viewer")
    async with httpx.AsyncClient(base_url=stack.url, timeout=10.0) as c:
        pair = await login(c, viewer)
        authorise(c, viewer)
        async with c.stream("GET", "/stream") as stream:
            assert stream.status_code == 200
            lines = stream.aiter_lines()
            assert (await lines.__anext__()).startswith("retry:")
            disabled = await client.patch(f"/users/{viewer.user_id}", json={"is_active": False})
            assert disabled.status_code == 200, disabled.text
            with trio.fail_after(5):
                rest = [line async for line in lines]
            assert "event: session_ended" in rest
    assert await _status_with(stack, pair["access_token"]) == 401
    async with httpx.AsyncClient(base_url=stack.url) as again:
        assert (
            await again.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        ).status_code == 401
        body = {"email": viewer.email, "password": viewer.password}
        assert (await again.post("/auth/login", json=body)).status_code == 401


async def test_secrets_never_reach_the_logs(stack: Stack, client: httpx.AsyncClient) -> None:
    with structlog.testing.capture_logs() as logs:
        trader = await create_user(client, "trader")
        async with httpx.AsyncClient(base_url=stack.url) as c:
            pair = await login(c, trader)
            await c.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
            await c.post(
                "/auth/login",
                json={"email": trader.email, "password": "wrong-Password-1234", "totp_code": "123456"},
            )
    text = json.dumps(logs, default=str)
    assert trader.totp_secret
    assert trader.totp_secret not in text
    for secret in (trader.password, pair["access_token"], pair["refresh_token"], "wrong-Password-1234"):
        assert secret not in text


async def test_anyone_can_be_denied_but_accounts_are_not_listed_to_non_admins(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    viewer: Account = await create_user(client, "viewer")
    async with httpx.AsyncClient(base_url=stack.url) as c:
        await login(c, viewer)
        authorise(c, viewer)
        assert (await c.get("/users")).status_code == 403
        assert (await c.patch(f"/users/{viewer.user_id}", json={"role": "admin"})).status_code == 403
        assert (await c.get("/auth/me")).json()["role"] == "viewer"
    denials = await stack.storage.db.fetch(
        "SELECT details->>'route' AS route FROM audit_trail WHERE action = 'access_denied' "
        "AND actor_user_id = $1 ORDER BY id",
        uuid.UUID(viewer.user_id),
    )
    assert [d["route"] for d in denials] == ["GET /users", "PATCH /users/{user_id}"]
