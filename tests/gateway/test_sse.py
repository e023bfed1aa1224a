"""SSE over a real server: live signal events, heartbeats, exactly-once replay after Last-Event-ID (G-03)."""

from __future__ import annotations

import json
import threading

import httpx
import trio
from gw_kit import SseMessage, Stack, generated, make_signal, read_sse

from gateway import SignalHub, StreamEvent, parse_event_id
from tests.support import eventually_async


def publish_from_a_thread(stack: Stack, symbols: list[str]) -> list[str]:
    """Publish one ``SignalGenerated`` per symbol from a non-trio thread, as the signal actor does."""
    signals = [make_signal(s) for s in symbols]

    def publish_all() -> None:
        for signal in signals:
            stack.feed.publish(generated(signal))

    worker = threading.Thread(target=publish_all)
    worker.start()
    worker.join()
    return [str(s.id) for s in signals]


def ids_of(messages: list[SseMessage]) -> list[str]:
    return [json.loads(m.data)["id"] for m in messages]


async def test_client_receives_a_signal_published_from_an_actor_thread(
    client: httpx.AsyncClient, stack: Stack
) -> None:
    async with client.stream("GET", "/stream") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()
        await read_sse(lines, 1, names=("heartbeat",))  # connected and subscribed
        sent = publish_from_a_thread(stack, ["BTCUSDT"])
        with trio.fail_after(5):
            [message] = await read_sse(lines, 1)
    assert message.event == "signal"
    assert ids_of([message]) == sent
    assert message.id is not None
    parse_event_id(message.id)


async def test_reconnect_with_last_event_id_gets_exactly_the_missed_events_in_order(
    client: httpx.AsyncClient, stack: Stack
) -> None:
    async with client.stream("GET", "/stream") as response:
        lines = response.aiter_lines()
        await read_sse(lines, 1, names=("heartbeat",))
        first = publish_from_a_thread(stack, ["BTCUSDT", "ETHUSDT"])
        with trio.fail_after(5):
            seen = await read_sse(lines, 2)
    assert ids_of(seen) == first
    last_id = seen[-1].id
    assert last_id is not None

    missed = publish_from_a_thread(stack, ["SOLUSDT", "BTCUSDT", "ETHUSDT"])
    await eventually_async(lambda: stack.feed.published == 5)  # appended while nobody listens

    async with client.stream("GET", "/stream", headers={"Last-Event-ID": last_id}) as response:
        lines = response.aiter_lines()
        with trio.fail_after(5):
            replayed = await read_sse(lines, 3)
        later = publish_from_a_thread(stack, ["SOLUSDT"])
        with trio.fail_after(5):
            live = await read_sse(lines, 1)
    assert ids_of(replayed) == missed
    assert ids_of(live) == later
    keys = [parse_event_id(m.id or "") for m in [*seen, *replayed, *live]]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


async def test_heartbeat_keeps_an_idle_stream_alive(client: httpx.AsyncClient) -> None:
    async with client.stream("GET", "/stream") as response:
        with trio.fail_after(5):
            beats = await read_sse(response.aiter_lines(), 2, names=("heartbeat",))
    assert all(b.id is None and "at" in json.loads(b.data) for b in beats)


async def test_bad_last_event_id_is_refused_with_a_reason(client: httpx.AsyncClient) -> None:
    response = await client.get("/stream", headers={"Last-Event-ID": "yesterday"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_last_event_id"


async def test_shutdown_ends_open_streams_promptly(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url, timeout=10) as c, c.stream("GET", "/stream") as response:
        lines = response.aiter_lines()
        await read_sse(lines, 1, names=("heartbeat",))
        stack.stop.set()
        with trio.fail_after(3):  # far below the 30 s graceful timeout: the hub ends the stream
            async for _ in lines:
                pass


async def test_hub_cuts_off_a_slow_client_without_slowing_the_others() -> None:
    hub = SignalHub(client_buffer=2)
    slow, fast = hub.subscribe(), hub.subscribe()
    for n in range(3):
        event = StreamEvent(id=f"1-{n}", event="signal", data="{}")
        hub.publish(event)
        fast.receive.receive_nowait()
    assert hub.clients == 1
    assert hub.dropped_slow == 1
    assert [slow.receive.receive_nowait().id for _ in range(2)] == ["1-0", "1-1"]
    try:
        slow.receive.receive_nowait()
        raise AssertionError("the slow client's stream should have ended")
    except trio.EndOfChannel:
        pass
