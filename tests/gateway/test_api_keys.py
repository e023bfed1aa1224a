"""Bybit API keys over HTTP (U-08): validated against the exchange (the simulator, a real Bybit-v5 venue on
loopback) before anything is stored, only ciphertext at rest, never returned or logged, owners see only
their own keys (no IDOR), rotation deactivates the old key, and the engine's decryption is audited."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import structlog
from gw_kit import Stack, open_stack

from algogrid.api_key_wiring import stored_credentials
from algogrid.market_clock import SimMarketClock
from exchange.config import ExchangeConfig
from exchange.simulator import Simulator, SimulatorConfig, open_simulator
from gateway import GatewayConfig
from gateway.auth import LocalCipher
from tests.support.auth import TEST_AUTH, authorise, create_user, login

KEY, SECRET = "simkey-0001", "simsecret-0001-abcdef"


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with open_simulator(SimulatorConfig(symbols=("BTCUSDT",), history_bars=2)) as venue:
        venue.add_account(KEY, SECRET)
        yield venue


@pytest.fixture
async def stack(migrated_db_url: str, redis_clean_url: str, sim: Simulator) -> AsyncIterator[Stack]:
    config = GatewayConfig(port=0, ip_rate_limit_per_min=100_000, ask_timeout_s=1.0, graceful_timeout_s=5.0)
    exchange = ExchangeConfig(rest_url=sim.rest_url)
    async with open_stack(
        migrated_db_url,
        redis_clean_url,
        ("BTCUSDT",),
        gateway=config,
        fault_injection=False,
        market_clock=SimMarketClock(sim.clock),
        exchange=exchange,
    ) as st:
        yield st


def _body(**extra: object) -> dict[str, object]:
    return {"label": "main", "api_key": KEY, "api_secret": SECRET, "environment": "testnet", **extra}


async def test_a_key_is_validated_encrypted_and_never_shown(stack: Stack, client: httpx.AsyncClient) -> None:
    with structlog.testing.capture_logs() as logs:
        refused = await client.post("/api-keys", json=_body(api_secret="wrong-secret-000"))
        added = await client.post("/api-keys", json=_body())
    assert refused.status_code == 422
    assert refused.json()["error"] == "api_key_rejected"
    assert added.status_code == 201, added.text
    view = added.json()
    assert view["api_key_hint"] == "…0001"
    assert SECRET not in added.text
    assert SECRET not in str(logs)
    row = await stack.storage.db.fetchrow("SELECT secret_ciphertext, cipher FROM api_keys")
    assert row is not None
    assert row["cipher"] == "local"
    assert SECRET not in row["secret_ciphertext"]
    listed = (await client.get("/api-keys")).json()["items"]
    assert view["id"] in [k["id"] for k in listed]
    assert SECRET not in str(listed)
    cipher = LocalCipher(__import__("base64").b64decode(TEST_AUTH.cipher.local_key.get_secret_value()))  # type: ignore[union-attr]
    credentials = await stored_credentials(stack.storage, cipher, "testnet")
    assert credentials is not None
    assert credentials.api_secret.get_secret_value() == SECRET
    used = await stack.storage.db.fetchval(
        "SELECT count(*) FROM audit_trail WHERE action = 'bybit_key_used' AND target_id = $1", view["id"]
    )
    assert used == 1


async def test_rotation_deactivates_the_old_key(stack: Stack, client: httpx.AsyncClient) -> None:
    first = (await client.post("/api-keys", json=_body())).json()
    second = await client.post("/api-keys", json=_body(label="main-2", rotate_from=first["id"]))
    assert second.status_code == 201, second.text
    keys = {k["id"]: k for k in (await client.get("/api-keys")).json()["items"]}
    assert keys[first["id"]]["is_active"] is False
    assert keys[second.json()["id"]]["is_active"] is True
    assert keys[second.json()["id"]]["rotated_from"] == first["id"]
    assert (await client.post("/api-keys", json=_body(label="main-2"))).status_code == 422  # label taken


async def test_owners_see_only_their_keys_and_cannot_touch_others(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    alice = await create_user(client, "trader")
    bob = await create_user(client, "trader")
    added = await client.post("/api-keys", json=_body(user_id=alice.user_id))
    assert added.status_code == 201, added.text
    key_id = added.json()["id"]
    async with httpx.AsyncClient(base_url=stack.url) as a, httpx.AsyncClient(base_url=stack.url) as b:
        await login(a, alice)
        authorise(a, alice)
        await login(b, bob)
        authorise(b, bob)
        assert [k["id"] for k in (await a.get("/api-keys")).json()["items"]] == [key_id]
        assert (await b.get("/api-keys")).json()["items"] == []
        assert (await b.get("/api-keys", params={"user_id": alice.user_id})).json()["items"] == []
        assert (await b.delete(f"/api-keys/{key_id}")).status_code == 403  # revoke is admin only
    assert (await client.delete(f"/api-keys/{key_id}")).status_code == 204
    assert (await client.delete(f"/api-keys/{key_id}")).status_code == 409
