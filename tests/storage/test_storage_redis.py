"""The trio-callable Redis client: every command it offers, against a real Redis."""

from __future__ import annotations

import trio

from storage import Storage
from tests.support import eventually_async


async def test_strings_counters_and_ttls(storage: Storage) -> None:
    r = storage.redis
    assert await r.ping() is True
    assert await r.get("missing") is None
    assert await r.set("k", "v1") is True
    assert await r.set("k", "v2", nx=True) is False
    assert await r.set("absent", "x", xx=True) is False
    assert await r.get("k") == "v1"
    assert await r.set("ttl", 1, ex=30) is True
    assert 0 < await r.pttl("ttl") <= 30_000
    assert await r.set("pttl", "x", px=5000) is True
    assert 0 < await r.pttl("pttl") <= 5000
    assert await r.setex("sx", 60, "y") is True
    assert await r.pttl("sx") > 59_000
    assert await r.pttl("k") == -1
    assert await r.pttl("missing") == -2
    assert await r.incr("n") == 1
    assert await r.incr("n", 41) == 42
    assert await r.expire("n", 10) is True
    assert await r.expire("missing", 10) is False
    assert await r.exists("k", "n", "missing") == 2
    assert await r.delete("k", "n", "missing") == 2
    assert await r.exists("k") == 0


async def test_hashes(storage: Storage) -> None:
    assert await storage.redis.hset("h", {"a": 1, "b": "two"}) == 2
    assert await storage.redis.hset("h", {"a": 3}) == 0
    assert await storage.redis.hgetall("h") == {"a": "3", "b": "two"}


async def test_eval_survives_a_script_flush(storage: Storage) -> None:
    script = "return redis.call('INCRBY', KEYS[1], ARGV[1])"
    assert await storage.redis.eval(script, ["c"], [5]) == 5
    assert await storage.redis.eval(script, ["c"], [5]) == 10  # by SHA now
    await storage.bridge.run(storage.redis._client.script_flush)  # as after a server restart
    assert await storage.redis.eval(script, ["c"], [1]) == 11


async def test_streams_append_range_and_read(storage: Storage) -> None:
    r = storage.redis
    first = await r.xadd("events", {"channel": "signals", "n": 1})
    second = await r.xadd("events", {"channel": "be", "n": 2}, maxlen=1000)
    assert await r.xrange("events") == [(first, {"channel": "signals", "n": "1"}),
                                        (second, {"channel": "be", "n": "2"})]
    assert await r.xrange("events", start=second) == [(second, {"channel": "be", "n": "2"})]
    assert await r.xread({"events": first}) == [("events", [(second, {"channel": "be", "n": "2"})])]
    assert await r.xread({"events": second}, block_ms=10) == []


async def test_blocking_xread_wakes_on_a_new_entry(storage: Storage) -> None:
    got: list[object] = []

    async def reader() -> None:
        got.extend(await storage.redis.xread({"live": "$"}, block_ms=5000))

    async def add_until_seen() -> bool:
        await storage.redis.xadd("live", {"x": "1"})
        return bool(got)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(reader)
        await eventually_async(add_until_seen, timeout=5, message="blocked XREAD woken")
    [(stream, entries)] = got  # type: ignore[misc]
    assert stream == "live"
    assert entries[0][1] == {"x": "1"}


async def test_publish_reaches_a_subscriber(storage: Storage) -> None:
    async def subscribe_and_wait() -> dict[str, object] | None:
        pubsub = storage.redis._client.pubsub()
        await pubsub.subscribe("kill_switch")
        await pubsub.get_message(timeout=1.0)  # the subscribe confirmation
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
        await pubsub.aclose()
        return message  # type: ignore[no-any-return]

    received: list[object] = []

    async def listen() -> None:
        received.append(await storage.bridge.run(subscribe_and_wait))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(listen)
        await eventually_async(lambda: storage.redis.publish("kill_switch", "HALTED"), timeout=5)
    [message] = received
    assert isinstance(message, dict)
    assert message["data"] == "HALTED"


async def test_flushdb_empties_the_selected_db(storage: Storage) -> None:
    await storage.redis.set("a", "1")
    await storage.redis.flushdb()
    assert await storage.redis.exists("a") == 0
