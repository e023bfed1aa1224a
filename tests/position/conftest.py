"""Fixtures of the position room's tests: the simulator with a funded account, emptied execution tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from exchange.simulator import Simulator, SimulatorConfig, open_simulator
from tests.position.position_kit import API_KEY, API_SECRET, reset_tables

# Exchange time starts one minute before a funding time (08:00 UTC): a test that advances the paused clock
# past it sees a funding settlement; the others never do.
FUNDING_AT = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
FAST = SimulatorConfig(
    symbols=("BTCUSDT", "ETHUSDT"),
    speed=60,
    book_interval_ms=20,
    history_bars=10,
    start_time_ms=int(FUNDING_AT.timestamp() * 1000) - 60_000,
)


@pytest.fixture
def position_db_url(migrated_db_url: str) -> str:
    reset_tables(migrated_db_url)
    return migrated_db_url


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """A venue whose clock is paused: the book stays as read until a test moves the price or resumes."""
    async with open_simulator(FAST) as venue:
        venue.add_account(API_KEY, API_SECRET, Decimal(1_000_000))
        venue.clock.pause()
        yield venue
