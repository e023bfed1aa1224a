"""Fixtures of the simulator tests: a running fast venue with one funded account and a signed client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from sim_helpers import API_KEY, API_SECRET, FAST, Bybit

from exchange.simulator import Simulator, open_simulator


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with open_simulator(FAST) as venue:
        venue.add_account(API_KEY, API_SECRET, Decimal("10000"))
        yield venue


@pytest.fixture
async def bybit(sim: Simulator) -> AsyncIterator[Bybit]:
    async with httpx.AsyncClient(base_url=sim.rest_url, timeout=5) as client:
        yield Bybit(client)
