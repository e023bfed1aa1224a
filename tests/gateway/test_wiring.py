"""The adapters of ``algogrid.gateway_wiring`` over the real rooms: faults through ``tree.faults``, feed asks
through the ``TrioBridge``, root failure in readiness, the storage reader and the Redis Stream commands.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import trio
from gw_kit import DevSwitches, Stack, TickFeed, WiringSettings, make_signal
from pydantic import SecretStr

from algogrid.engine_view import SupervisionEngineView
from algogrid.gateway_wiring import RedisStreamCommands, StorageSignalReader, serve_gateway
from gateway import GatewayConfig, GatewayHandle, SignalFeed, SignalQuery, UnknownActorPathError
from storage import Storage, StorageConfig, open_storage
from supervision import ChildSpec, Intensity, SupervisionTree, SupervisorSpec, TrioBridge
from tests.support import eventually_async


@pytest.fixture
async def storage(migrated_db_url: str, redis_clean_url: str) -> AsyncIterator[Storage]:
    config = StorageConfig(
        database_url=SecretStr(migrated_db_url), redis_url=SecretStr(redis_clean_url), pool_min_size=1
    )
    async with open_storage(config) as opened:
        yield opened


async def _feed_of(client: httpx.AsyncClient, symbol: str) -> int:
    return (await client.get(f"/symbols/{symbol}/feed")).status_code


async def _restarts(client: httpx.AsyncClient, path: str) -> int:
    tree = (await client.get("/admin/supervision")).json()
    nodes = [tree]
    while nodes:
        node = nodes.pop()
        if node["path"] == path:
            return int(node["restarts"])
        nodes.extend(node["children"])
    raise AssertionError(f"{path} not in the tree")


async def test_crash_on_next_ask_answers_503_then_the_feed_is_back(
    client: httpx.AsyncClient, stack: Stack
) -> None:
    path = "root/symbols/BTCUSDT/feed"
    armed = await client.post(
        "/admin/faults", json={"path": path, "kind": "crash_on_next", "message_type": "GetFeedStatus"}
    )
    assert armed.status_code == 202
    crashed = await client.get("/symbols/BTCUSDT/feed")
    assert crashed.status_code == 503
    assert "injected crash" in crashed.json()["reason"]

    async def back() -> bool:
        return await _feed_of(client, "BTCUSDT") == 200

    await eventually_async(back)
    assert await _restarts(client, path) == 1


async def test_fail_on_start_makes_the_restart_fail_before_it_succeeds(
    client: httpx.AsyncClient, stack: Stack
) -> None:
    path = "root/symbols/ETHUSDT/feed"
    assert (
        await client.post("/admin/faults", json={"path": path, "kind": "fail_on_start"})
    ).status_code == 202
    assert (await client.post("/admin/faults", json={"path": path, "kind": "crash"})).status_code == 202

    async def restarted_twice() -> bool:
        return await _restarts(client, path) == 2 and await _feed_of(client, "ETHUSDT") == 200

    await eventually_async(restarted_twice)
    tree = (await client.get("/admin/supervision")).json()
    assert "on_start failure" in str(tree)


async def test_readiness_names_a_failed_supervision_root() -> None:
    spec = SupervisorSpec(
        "root", intensity=Intensity(0, 10.0), children=(ChildSpec("feed", TickFeed.start, kind="feed"),)
    )
    tree = SupervisionTree.start(spec, watchdog_interval=None)
    bridge = TrioBridge()
    try:
        view = SupervisionEngineView(tree, bridge, ("BTCUSDT",), checks={"exchange_public": lambda: None})
        await eventually_async(tree.settled)
        assert await view.readiness() == {"supervision": None, "exchange_public": None}
        tree.faults.crash_now("root/feed")  # intensity 0: the root gives up at once

        async def failed() -> str | None:
            return (await view.readiness())["supervision"]

        reason: str | None = await eventually_async(failed)
        assert reason is not None
        assert reason.startswith("root failed: ")
        with pytest.raises(UnknownActorPathError):
            await view.feed_status("DOGEUSDT", 0.5)
    finally:
        await bridge.stop_tree(tree, timeout=10.0)


async def test_storage_reader_filters_pages_and_refuses_non_uuid_ids(storage: Storage) -> None:
    reader = StorageSignalReader.of(storage)
    signals = [make_signal("XRPUSDT", side, p) for side, p in [("long", 0.8), ("short", 0.6), ("long", 0.3)]]
    for signal in signals:
        await storage.signals.insert(signal)
    longs = await reader.list_signals(SignalQuery(symbol="XRPUSDT", direction="long"))
    assert [v.probability for v in longs] == [0.3, 0.8]  # newest first
    likely = await reader.list_signals(SignalQuery(symbol="XRPUSDT", min_probability=0.5, limit=1))
    assert [v.id for v in likely] == [str(signals[1].id)]
    one = await reader.get_signal(str(signals[0].id))
    assert one is not None
    assert one.entry == signals[0].entry
    assert await reader.get_signal("not-a-uuid") is None


async def test_redis_stream_commands_append_and_read_after_an_id(storage: Storage) -> None:
    streams = RedisStreamCommands(storage.redis)
    first = await streams.xadd("t:events", {"event": "signal", "data": "1"}, maxlen=100)
    second = await streams.xadd("t:events", {"event": "signal", "data": "2"})
    after_first = await streams.xrange("t:events", min=f"({first}")
    assert after_first == [(second, {"event": "signal", "data": "2"})]


async def test_serve_gateway_takes_fault_injection_from_settings(storage: Storage) -> None:
    spec = SupervisorSpec("root", children=(SupervisorSpec("symbols"),))
    tree = SupervisionTree.start(spec, watchdog_interval=None)
    bridge = TrioBridge()
    settings = WiringSettings(GatewayConfig(port=0), DevSwitches(fault_injection=False))
    stop = trio.Event()
    try:
        async with trio.open_nursery() as nursery:
            handle: GatewayHandle = await nursery.start(
                lambda task_status: serve_gateway(
                    settings,
                    storage,
                    SupervisionEngineView(tree, bridge, ("BTCUSDT",)),
                    SignalFeed(),
                    shutdown_trigger=stop.wait,
                    task_status=task_status,
                )
            )
            async with httpx.AsyncClient(base_url=handle.url) as client:
                refused = await client.post("/admin/faults", json={"path": "root", "kind": "crash"})
                ready = await client.get("/ready")
            stop.set()
    finally:
        await bridge.stop_tree(tree, timeout=10.0)
    assert refused.status_code == 404
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["checks"]) == {"postgres", "redis", "supervision"}
