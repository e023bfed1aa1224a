"""The gateway reports the engine's market clock (G-03): ``GET /time`` and every SSE heartbeat carry
market now, wall now and the speed; feed staleness stays in wall time, the time base of ``last_event_at``.

The stack's market clock is the simulator's ``SimClock`` at speed 60, unstarted: it stands still until the
test advances it, so market time and wall time visibly part.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import httpx
import pytest
import trio
from gw_kit import Stack, TickFeed, read_sse

from algogrid.engine_view import SupervisionEngineView
from exchange.simulator import SimClock
from gateway import SignalHub
from supervision import ChildSpec, ManualClock, SupervisionTree, SupervisorSpec, TrioBridge
from tests.support import eventually_async


def market_now(sim_clock: SimClock) -> dt.datetime:
    return dt.datetime.fromtimestamp(sim_clock.now_ms() / 1000, dt.UTC)


def parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


async def test_time_reports_the_engine_market_clock_and_its_speed(
    client: httpx.AsyncClient, sim_clock: SimClock
) -> None:
    start = market_now(sim_clock)
    body = (await client.get("/time")).json()
    assert set(body) == {"market_time", "wall_time", "speed"}
    assert parse(body["market_time"]) == start
    assert body["speed"] == 60.0
    assert abs(parse(body["wall_time"]) - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=5)

    sim_clock.advance(10 * 60 * 1000)  # ten market minutes pass in no wall time
    later = (await client.get("/time")).json()
    assert parse(later["market_time"]) - start == dt.timedelta(minutes=10)
    assert parse(later["wall_time"]) - parse(body["wall_time"]) < dt.timedelta(seconds=5)


async def test_every_heartbeat_carries_market_time_and_speed(
    client: httpx.AsyncClient, sim_clock: SimClock
) -> None:
    sim_clock.advance(90_000)
    async with client.stream("GET", "/stream") as response:
        with trio.fail_after(5):
            (beat,) = await read_sse(response.aiter_lines(), 1, names=("heartbeat",))
    data = json.loads(beat.data)
    assert parse(data["market_time"]) == market_now(sim_clock)
    assert data["speed"] == 60.0
    assert data["at"] == data["wall_time"]  # ``at`` stays the wall time it always was


async def test_feed_staleness_is_judged_in_wall_time_not_market_time(
    client: httpx.AsyncClient, stack: Stack, sim_clock: SimClock
) -> None:
    sim_clock.advance(3_600_000)  # an hour of market time: must not make a feed that spoke 5 s ago stale
    stack.tick("BTCUSDT", dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5))

    async def ticked() -> dict[str, object] | None:
        feed = dict((await client.get("/symbols/BTCUSDT/feed")).json())
        return feed if feed["last_event_at"] is not None else None

    feed: dict[str, object] | None = await eventually_async(ticked)
    assert feed is not None
    assert feed["stale"] is False
    assert feed["stale_after_s"] == 30.0
    age = feed["age_s"]
    assert isinstance(age, float)
    assert 5.0 <= age < 30.0  # wall seconds; in market time it would be ≥ 300


async def test_a_feed_tells_the_tickers_mark_price_and_next_funding_time_in_market_time(
    client: httpx.AsyncClient, stack: Stack, sim_clock: SimClock
) -> None:
    funding_at = market_now(sim_clock) + dt.timedelta(hours=3)  # what the UI's funding countdown reads
    stack.tick("ETHUSDT", mark=Decimal("3012.5"), funding_at=funding_at)

    async def ticked() -> dict[str, object] | None:
        feed = dict((await client.get("/symbols/ETHUSDT/feed")).json())
        return feed if feed["mark_price"] is not None else None

    feed = await eventually_async(ticked)
    assert feed is not None
    assert Decimal(str(feed["mark_price"])) == Decimal("3012.5")
    assert parse(str(feed["next_funding_time"])) == funding_at
    listed = {f["symbol"]: f for f in (await client.get("/symbols")).json()}
    assert parse(listed["ETHUSDT"]["next_funding_time"]) == funding_at
    assert listed["BTCUSDT"]["next_funding_time"] is None  # no ticker yet


async def test_without_a_market_clock_market_time_is_the_wall_clock() -> None:
    wall = ManualClock(dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    spec = SupervisorSpec("root", children=(ChildSpec("feed", TickFeed.start, kind="feed"),))
    tree = SupervisionTree.start(spec, watchdog_interval=None)
    bridge = TrioBridge()
    try:
        view = SupervisionEngineView(tree, bridge, ("BTCUSDT",), wall_clock=wall)
        wall.advance(42.0)
        now = view.market_time()
        assert now.market_time == now.wall_time == dt.datetime(2025, 6, 1, 0, 0, 42, tzinfo=dt.UTC)
        assert now.speed == 1.0
    finally:
        await bridge.stop_tree(tree, timeout=10.0)


@pytest.mark.parametrize("fails", [False, True])
async def test_heartbeat_data_comes_from_the_clock_and_survives_its_failure(
    fails: bool, autojump_clock: trio.abc.Clock
) -> None:
    def data() -> str:
        if fails:
            raise RuntimeError("clock unavailable")
        return '{"market_time": "2024-03-01T12:00:00Z"}'

    hub = SignalHub()
    async with trio.open_nursery() as nursery:
        await nursery.start(lambda task_status: hub.run_heartbeat(1.0, data=data, task_status=task_status))
        with hub.subscribe() as sub:
            first = json.loads((await sub.receive.receive()).data)
            second = json.loads((await sub.receive.receive()).data)  # the task kept running
        nursery.cancel_scope.cancel()
    if fails:
        assert set(first) == set(second) == {"at"}
    else:
        assert first == second == {"market_time": "2024-03-01T12:00:00Z"}
