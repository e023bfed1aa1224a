"""The fan-out's garbage-collector pause: held while clients write an event, always ended (G-03)."""

from __future__ import annotations

import gc
import json
import threading

import httpx
import trio
from gw_kit import Stack, generated, make_signal, read_sse

from gateway import SignalHub, StreamEvent
from tests.support import eventually_async


def paused(hub: SignalHub) -> bool:
    return hub.collector_paused  # a call, so mypy does not narrow the property across publish/written


def event(n: int) -> StreamEvent:
    return StreamEvent(id=f"1-{n}", event="signal", data="{}")


async def test_collector_is_paused_until_every_client_wrote_the_event() -> None:
    hub = SignalHub(settle_s=60.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(hub.run_heartbeat, 3600.0)
        first, second = hub.subscribe(), hub.subscribe()
        assert hub.publish(event(1)) == 2
        assert paused(hub)
        assert not gc.isenabled()
        first.receive.receive_nowait()
        first.written(1)
        assert paused(hub)  # the second client has not written it yet
        second.receive.receive_nowait()
        second.written(1)
        assert not paused(hub)
        assert gc.isenabled()
        nursery.cancel_scope.cancel()


async def test_a_client_that_leaves_settles_what_it_did_not_write() -> None:
    hub = SignalHub(settle_s=60.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(hub.run_heartbeat, 3600.0)
        gone = hub.subscribe()
        hub.publish(event(1))
        hub.publish(event(2))
        assert not gc.isenabled()
        gone.close()
        assert not paused(hub)
        assert gc.isenabled()
        nursery.cancel_scope.cancel()


async def test_collector_resumes_at_the_deadline_when_a_client_never_writes(
    autojump_clock: trio.abc.Clock,
) -> None:
    hub = SignalHub(settle_s=1.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(hub.run_heartbeat, 3600.0)
        stuck = hub.subscribe()
        hub.publish(event(1))
        assert not gc.isenabled()
        await trio.sleep(0.9)  # virtual time (autojump clock)
        assert paused(hub)
        await trio.sleep(0.2)  # past settle_s
        assert not paused(hub)
        assert gc.isenabled()
        hub.publish(event(2))  # a later event pauses again, bounded the same way
        assert paused(hub)
        stuck.close()
        assert gc.isenabled()
        nursery.cancel_scope.cancel()


async def test_stopping_the_hub_task_or_closing_the_hub_resumes_the_collector() -> None:
    hub = SignalHub(settle_s=60.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(hub.run_heartbeat, 3600.0)
        hub.subscribe()
        hub.publish(event(1))
        assert not gc.isenabled()
        nursery.cancel_scope.cancel()
    assert gc.isenabled()
    other = SignalHub(settle_s=60.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(other.run_heartbeat, 3600.0)
        other.subscribe()
        other.publish(event(1))
        other.close()
        assert gc.isenabled()
        nursery.cancel_scope.cancel()


async def test_without_the_hub_task_the_collector_is_never_paused() -> None:
    hub = SignalHub()
    hub.subscribe()
    hub.publish(event(1))
    assert not paused(hub)
    assert gc.isenabled()


async def test_collector_left_off_by_someone_else_stays_off() -> None:
    hub = SignalHub(settle_s=60.0)
    gc.disable()
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(hub.run_heartbeat, 3600.0)
            sub = hub.subscribe()
            hub.publish(event(1))
            sub.close()
            assert not paused(hub)
            assert not gc.isenabled()
            nursery.cancel_scope.cancel()
    finally:
        gc.enable()


async def test_real_clients_writing_an_event_end_the_pause(client: httpx.AsyncClient, stack: Stack) -> None:
    hub = stack.handle.context.hub
    async with client.stream("GET", "/stream") as one, client.stream("GET", "/stream") as two:
        lines_one, lines_two = one.aiter_lines(), two.aiter_lines()
        await read_sse(lines_one, 1, names=("heartbeat",))
        await read_sse(lines_two, 1, names=("heartbeat",))
        signal = make_signal("BTCUSDT")
        worker = threading.Thread(target=stack.feed.publish, args=(generated(signal),))
        worker.start()
        worker.join()
        with trio.fail_after(5):
            [got_one] = await read_sse(lines_one, 1)
            [got_two] = await read_sse(lines_two, 1)
        assert json.loads(got_one.data)["id"] == json.loads(got_two.data)["id"] == str(signal.id)
        await eventually_async(lambda: not paused(hub))
        assert gc.isenabled()
