"""An SSE stream lives only as long as its session (U-03, DESIGN §10): it ends with ``event: session_ended``
when its access token expires, and when its session is revoked on another gateway (found by the sweep over
the shared Redis revocation list). Revocation on the same gateway: tests/gateway/test_auth_attacks.py."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest
import trio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from gw_kit import Stack

from algogrid.auth_wiring import token_service_for
from gateway import GatewayConfig
from gateway.auth import AuthConfig, RevocationList, TokenKind
from tests.support.auth import TEST_AUTH, authorise, create_user, login


@pytest.fixture
def gateway_config() -> GatewayConfig:
    return GatewayConfig(
        port=0, ip_rate_limit_per_min=100_000, graceful_timeout_s=5.0, sse_session_check_s=0.2
    )


async def _lines_until_end(stream: httpx.Response, within_s: float) -> list[str]:
    lines = []
    with trio.fail_after(within_s):
        async for line in stream.aiter_lines():
            lines.append(line)
    return lines


async def test_a_stream_ends_when_its_access_token_expires(stack: Stack, client: httpx.AsyncClient) -> None:
    me = uuid.UUID((await client.get("/auth/me")).json()["id"])
    tokens = token_service_for(TEST_AUTH, "simulation", Path("."))
    # a real token of a real session, issued so that it expires two seconds from now
    soon, _ = tokens.issue(
        TokenKind.ACCESS, me, "admin", uuid.uuid4(), now=time.time() - TEST_AUTH.access_ttl_s + 2
    )
    async with httpx.AsyncClient(base_url=stack.url, timeout=10.0) as c:
        started = time.monotonic()
        async with c.stream("GET", "/stream", headers={"Authorization": f"Bearer {soon}"}) as stream:
            assert stream.status_code == 200
            lines = await _lines_until_end(stream, 6.0)
    assert "event: session_ended" in lines
    assert 1.0 < time.monotonic() - started < 5.0


async def test_a_revocation_on_another_gateway_ends_the_stream_here(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    viewer = await create_user(client, "viewer")
    async with httpx.AsyncClient(base_url=stack.url, timeout=10.0) as c:
        pair = await login(c, viewer)
        authorise(c, viewer)
        sid = (
            token_service_for(TEST_AUTH, "simulation", Path("."))
            .verify(pair["access_token"], TokenKind.ACCESS)
            .sid
        )
        async with c.stream("GET", "/stream") as stream:
            lines = stream.aiter_lines()
            assert (await lines.__anext__()).startswith("retry:")
            other_gateway = RevocationList(stack.storage.redis, ttl_s=TEST_AUTH.access_ttl_s + 60)
            await other_gateway.revoke([sid])  # only Redis knows: this gateway was not told
            with trio.fail_after(5):
                rest = [line async for line in lines]
    assert "event: session_ended" in rest


def test_es256_tokens_from_key_files(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    private, public = tmp_path / "jwt.pem", tmp_path / "jwt.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    config = AuthConfig(jwt_algorithm="ES256", jwt_private_key_file=private, jwt_public_key_file=public)
    assert config.problems_for_mode("live") == [
        "auth.cipher.kind 'local' (dev only) is refused in live mode: use 'vault'"
    ]
    tokens = token_service_for(config, "live", tmp_path)
    user, sid = uuid.uuid4(), uuid.uuid4()
    token, _ = tokens.issue(TokenKind.ACCESS, user, "trader", sid)
    assert tokens.verify(token, TokenKind.ACCESS).sub == user
    hs = token_service_for(TEST_AUTH, "simulation", tmp_path)
    with pytest.raises(Exception, match="invalid token"):
        tokens.verify(hs.issue(TokenKind.ACCESS, user, "admin", sid)[0], TokenKind.ACCESS)
