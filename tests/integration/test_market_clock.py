"""``SimMarketClock``: the simulator's exchange time as a ``supervision.Clock``, readable from actor threads.

Real ``SimClock`` in a real trio run; the adapter's timers wait on a ``ManualClock`` (no sleeps), and the
simulator is paused so exchange time moves only by ``advance``.
"""

from __future__ import annotations

import datetime as dt

import pytest
import trio

from algogrid.market_clock import SimMarketClock, market_clock_for
from exchange.simulator import SimClock
from supervision import Clock, ManualClock, RealClock
from tests.support import eventually_async

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _paused(speed: float = 60.0) -> SimClock:
    sim = SimClock(START_MS, speed)
    sim.start()
    sim.pause()
    return sim


async def test_now_and_monotonic_follow_the_exchange_time() -> None:
    sim = _paused()
    market = SimMarketClock(sim, timers=ManualClock())
    assert isinstance(market, Clock)
    assert market.now() == START
    assert market.monotonic() == START_MS / 1000
    sim.advance(900_000)
    assert market.now() == START + dt.timedelta(seconds=900)
    assert market.monotonic() == START_MS / 1000 + 900
    assert market.now().tzinfo is dt.UTC


async def test_actor_threads_read_the_running_exchange_time() -> None:
    sim = SimClock(START_MS, 600.0)
    sim.start()
    market = SimMarketClock(sim)
    before = sim.now_ms()
    from_thread = await trio.to_thread.run_sync(market.now)  # trio.current_time() would raise there
    after = sim.now_ms()
    assert from_thread >= START
    assert before <= int(from_thread.timestamp() * 1000) <= after


async def test_a_timer_fires_after_its_delay_in_market_time_not_wall_time() -> None:
    sim, wall = _paused(speed=60.0), ManualClock()
    market = SimMarketClock(sim, timers=wall, recheck_s=0.05)
    fired: list[float] = []
    market.call_later(60.0, lambda: fired.append(market.monotonic()))

    wall.advance(1.0)  # 60 market seconds at speed 60 — but the market is paused: not due yet
    assert fired == []
    assert wall.pending_timers() == 1  # it looks again once the remaining 60 s could have passed
    sim.advance(59_000)
    wall.advance(1.0)
    assert fired == []  # 1 market second to go: the next look is recheck_s away (1/60 s is shorter)
    sim.advance(1_000)
    wall.advance(0.05)
    assert fired == [START_MS / 1000 + 60]
    wall.advance(10.0)
    assert len(fired) == 1


async def test_a_cancelled_timer_never_fires() -> None:
    sim, wall = _paused(), ManualClock()
    market = SimMarketClock(sim, timers=wall)
    fired: list[int] = []
    handle = market.call_later(30.0, lambda: fired.append(1))
    sim.advance(10_000)
    wall.advance(0.5)  # looked once, 20 market seconds still to go
    handle.cancel()
    sim.advance(60_000)
    wall.advance(5.0)
    assert fired == []
    assert wall.pending_timers() == 0


async def test_a_running_market_fires_a_timer_on_the_real_clock() -> None:
    sim = SimClock(START_MS, 600.0)
    sim.start()
    market = SimMarketClock(sim)
    fired: list[float] = []
    start = market.monotonic()
    market.call_later(30.0, lambda: fired.append(market.monotonic()))  # 50 ms of real time
    await eventually_async(lambda: bool(fired), timeout=5)
    assert fired[0] >= start + 30


def test_the_mode_picks_the_market_clock() -> None:
    assert isinstance(market_clock_for(None), RealClock)
    sim = SimClock(START_MS, 60.0)
    chosen = market_clock_for(sim)
    assert isinstance(chosen, SimMarketClock)
    assert chosen.now() == START
    with pytest.raises(ValueError, match="positive recheck"):
        SimMarketClock(sim, recheck_s=0)
