"""Authentication fails closed (ASVS V4): when Redis, which holds the revocation list and the attempt
counters, is down, a login is refused with 503 and a reason — never let through, never a bare 500."""

from __future__ import annotations

import os

import httpx
import pytest
from gw_kit import Stack

from storage import EmbeddedRedis
from tests.support.auth import create_user

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("REDIS_URL")), reason="stops the embedded Redis the stack uses (REDIS_URL is set)"
)


async def test_a_login_without_redis_is_refused_with_a_reason(
    stack: Stack, client: httpx.AsyncClient, redis_server: EmbeddedRedis
) -> None:
    viewer = await create_user(client, "viewer")
    async with httpx.AsyncClient(base_url=stack.url, timeout=20.0) as c:
        redis_server.stop()
        try:
            answer = await c.post("/auth/login", json={"email": viewer.email, "password": viewer.password})
        finally:
            redis_server.start()
    assert answer.status_code == 503
    assert answer.json()["error"] == "auth_unavailable"
