"""Fixtures of the gateway tests: ``serve_gateway`` on a free port over the real supervision tree, real
PostgreSQL (root fixture ``migrated_db_url``) and a real Redis Stream (``redis_clean_url``).

The engine's market clock is the simulator's own ``SimClock`` at speed 60, left unstarted so it stands still
until a test calls ``sim_clock.advance(ms)`` (a manual market clock made of the real parts).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest
from gw_kit import Desk, Stack, open_stack

from algogrid.market_clock import SimMarketClock
from exchange.simulator import SimClock
from gateway import GatewayConfig
from tests.support.auth import Account, first_admin

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
MARKET_START = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)
MARKET_SPEED = 60.0


@pytest.fixture
def fault_injection() -> bool:
    return True


@pytest.fixture
def gateway_config() -> GatewayConfig:
    return GatewayConfig(
        port=0,
        ip_rate_limit_per_min=100_000,
        ask_timeout_s=0.5,
        probe_timeout_s=1.0,
        heartbeat_s=0.3,
        graceful_timeout_s=5.0,
    )


@pytest.fixture
def sim_clock() -> SimClock:
    return SimClock(int(MARKET_START.timestamp() * 1000), MARKET_SPEED)


@pytest.fixture
async def stack(
    migrated_db_url: str,
    redis_clean_url: str,
    fault_injection: bool,
    gateway_config: GatewayConfig,
    sim_clock: SimClock,
) -> AsyncIterator[Stack]:
    async with open_stack(
        migrated_db_url,
        redis_clean_url,
        SYMBOLS,
        gateway=gateway_config,
        fault_injection=fault_injection,
        temporary=("SOLUSDT",),
        market_clock=SimMarketClock(sim_clock),
    ) as st:
        yield st


async def admin_of(stack: Stack, c: httpx.AsyncClient) -> Account:
    """Make the first admin the product's way, log in over HTTP and authorise ``c`` with its token."""
    return await first_admin(stack.storage, c)


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client logged in as an admin (bearer token)."""
    async with httpx.AsyncClient(base_url=stack.url, timeout=10.0) as c:
        await admin_of(stack, c)
        yield c


@pytest.fixture
async def anonymous(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client without any credential."""
    async with httpx.AsyncClient(base_url=stack.url, timeout=10.0) as c:
        yield c


@pytest.fixture
async def desk_stack(
    migrated_db_url: str, redis_clean_url: str, gateway_config: GatewayConfig, sim_clock: SimClock
) -> AsyncIterator[Stack]:
    """The stack with the trading actors: ``DeskPosition`` per symbol and ``PreviewRisk`` at root/risk."""
    config = gateway_config.model_copy(update={"order_timeout_s": 1.0})
    async with open_stack(
        migrated_db_url,
        redis_clean_url,
        SYMBOLS,
        gateway=config,
        fault_injection=False,
        market_clock=SimMarketClock(sim_clock),
        desk=Desk(),
    ) as st:
        yield st


@pytest.fixture
async def desk_client(desk_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client logged in as an admin on the desk stack."""
    async with httpx.AsyncClient(base_url=desk_stack.url, timeout=10.0) as c:
        await admin_of(desk_stack, c)
        yield c
