"""The ``/signals`` read cache: answers are reused within the TTL, and a published signal is visible to the
very next request (invalidation), including when it lands while a query is in flight.
"""

from __future__ import annotations

import httpx
import trio
from gw_kit import Stack, generated, make_signal

from gateway.cache import ReadCache
from tests.support import eventually_async


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_answers_are_reused_within_the_ttl_and_reloaded_after() -> None:
    clock = ManualClock()
    cache = ReadCache(1.0, clock=clock)
    loads = 0

    async def load() -> bytes:
        nonlocal loads
        loads += 1
        return f"v{loads}".encode()

    assert await cache.get_or_load("q", load) == b"v1"
    clock.now = 0.9
    assert await cache.get_or_load("q", load) == b"v1"
    clock.now = 1.1
    assert await cache.get_or_load("q", load) == b"v2"
    cache.invalidate()
    assert await cache.get_or_load("q", load) == b"v3"
    assert (cache.hits, cache.misses) == (1, 3)


async def test_concurrent_identical_requests_share_one_load() -> None:
    cache = ReadCache(1.0)
    release = trio.Event()
    loads = 0
    answers: list[bytes] = []

    async def load() -> bytes:
        nonlocal loads
        loads += 1
        await release.wait()
        return b"page"

    async def ask() -> None:
        answers.append(await cache.get_or_load("q", load))

    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(ask)
        await trio.testing.wait_all_tasks_blocked()
        release.set()
    assert loads == 1
    assert answers == [b"page"] * 5


async def test_an_answer_loaded_across_an_invalidation_is_not_stored() -> None:
    cache = ReadCache(10.0)
    started, release = trio.Event(), trio.Event()
    versions = iter([b"before", b"after"])

    async def slow_load() -> bytes:
        started.set()
        await release.wait()
        return next(versions)

    async def fast_load() -> bytes:
        return next(versions)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(cache.get_or_load, "q", slow_load)
        await started.wait()
        cache.invalidate()  # a signal was published while the query ran
        release.set()
    assert await cache.get_or_load("q", fast_load) == b"after"


async def test_a_published_signal_is_in_the_next_signals_answer(
    client: httpx.AsyncClient, stack: Stack
) -> None:
    params: dict[str, str | int] = {"symbol": "BTCUSDT", "limit": 5}
    before = (await client.get("/signals", params=params)).json()["items"]
    signal = make_signal("BTCUSDT")
    await stack.store(signal)
    # Stored but not published yet: the cached page may still be served (at most the TTL).
    assert (await client.get("/signals", params=params)).json()["items"] == before
    registry = stack.handle.context.metrics.registry

    def relayed() -> float:
        return registry.get_sample_value("outbox_relayed_total") or 0.0

    before_relay = relayed()
    stack.feed.publish(generated(signal))
    await eventually_async(lambda: relayed() > before_relay)  # relayed and fanned out, after the invalidation
    after = (await client.get("/signals", params=params)).json()["items"]
    assert after[0]["id"] == str(signal.id)
