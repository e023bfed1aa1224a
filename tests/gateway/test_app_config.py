"""Configuration-dependent behaviour: fault injection off → 404, the per-IP limit (in Redis), CORS, binding
the configured address now that every route is authenticated."""

from __future__ import annotations

import httpx
import pytest
from gw_kit import Stack

from gateway import GatewayConfig


@pytest.fixture
def fault_injection() -> bool:
    return False


@pytest.fixture
def gateway_config() -> GatewayConfig:
    return GatewayConfig(
        host="0.0.0.0",
        port=0,
        ip_rate_limit_per_min=5,
        allowed_origins=("http://ui.example",),
        ask_timeout_s=0.5,
        graceful_timeout_s=5.0,
    )


async def test_faults_route_does_not_exist_without_dev_mode(client: httpx.AsyncClient) -> None:
    response = await client.post("/admin/faults", json={"path": "root/symbols/BTCUSDT/feed", "kind": "crash"})
    assert response.status_code == 404
    assert "/admin/faults" not in (await client.get("/openapi.json")).json()["paths"]


async def test_requests_over_the_ip_limit_get_429_with_a_reason(client: httpx.AsyncClient) -> None:
    # the client fixture spent 3 of the 5 requests on activation (enrolment, activate) and login
    codes = [(await client.get("/signals")).status_code for _ in range(4)]
    assert codes == [200] * 2 + [429] * 2
    limited = await client.get("/signals")
    assert "more than 5 requests per minute" in limited.json()["reason"]
    assert int(limited.headers["Retry-After"]) >= 1
    assert (await client.get("/health")).status_code == 200  # probes are exempt


async def test_cors_allows_only_the_configured_origins(client: httpx.AsyncClient) -> None:
    allowed = await client.get("/health", headers={"Origin": "http://ui.example"})
    assert allowed.headers.get("access-control-allow-origin") == "http://ui.example"
    other = await client.get("/health", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers


async def test_server_binds_the_configured_address(stack: Stack) -> None:
    assert stack.url.startswith("http://0.0.0.0:")


def test_a_tls_certificate_needs_its_key() -> None:
    with pytest.raises(ValueError, match="tls_key_file"):
        GatewayConfig(tls_cert_file="cert.pem")


async def test_stop_signal_trigger_returns_on_sigterm() -> None:
    import os
    import signal

    import trio
    import trio.testing

    from gateway import wait_for_stop_signal

    done = trio.Event()

    async def waiter() -> None:
        await wait_for_stop_signal()
        done.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(waiter)
        await trio.testing.wait_all_tasks_blocked()  # the signal receiver is installed
        os.kill(os.getpid(), signal.SIGTERM)
        with trio.fail_after(5):
            await done.wait()
