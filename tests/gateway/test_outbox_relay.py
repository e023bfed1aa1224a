"""``gateway.OutboxRelay`` over real PostgreSQL and Redis: ids from the outbox make a retried relay harmless.

A relay that stops between appending rows to the Redis Stream and marking them relayed (a crash, PostgreSQL
going away) leaves rows that the next relay appends again: Redis refuses their ids, the relay finds the
entries there and neither stores nor fans them out twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence

import pytest
import trio
from pydantic import SecretStr

from actors.risk import Alert, AlertKind, Severity
from algogrid.gateway_wiring import RedisStreamCommands
from algogrid.risk_wiring import UiAlerts
from gateway import OutboxRelay, OutboxRelayConfig, RedisEventLog, SignalFeed, SignalHub, StreamEvent
from gateway.errors import EventLogError
from gateway.hub import Subscription
from storage import OutboxRepository, Storage, StorageConfig, StorageError, Topic, open_storage
from tests.support import eventually_async

STREAM = "algogrid:ui-events"


class CrashBeforeMark:
    """The real outbox, except that marking rows relayed fails (the relay stops after its appends)."""

    def __init__(self, outbox: OutboxRepository) -> None:
        self._outbox = outbox

    async def pending(self, limit: int) -> Sequence[object]:
        return await self._outbox.pending(limit)

    async def mark_relayed(self, ids: Sequence[int]) -> int:
        raise StorageError("PostgreSQL went away before the rows were marked")

    async def purge(self, older_than: dt.timedelta) -> int:
        return await self._outbox.purge(older_than)

    async def backlog(self) -> object:
        return await self._outbox.backlog()

    async def wait_written(self, timeout_s: float) -> bool:
        return await self._outbox.wait_written(timeout_s)


@pytest.fixture
async def storage(migrated_db_url: str, redis_clean_url: str) -> AsyncIterator[Storage]:
    config = StorageConfig(database_url=SecretStr(migrated_db_url), redis_url=SecretStr(redis_clean_url))
    async with open_storage(config) as opened:
        await opened.db.execute("TRUNCATE outbox")
        yield opened


def relay_of(storage: Storage, store: object | None = None) -> OutboxRelay:
    events = RedisEventLog(RedisStreamCommands(storage.redis), stream=STREAM)
    return OutboxRelay(store or storage.outbox, events, OutboxRelayConfig())  # type: ignore[arg-type]


async def test_a_relay_retried_after_its_appends_stores_and_sends_nothing_twice(storage: Storage) -> None:
    ids = [await storage.outbox.append(Topic.METRICS, {"n": n}) for n in range(3)]

    crashed = relay_of(storage, CrashBeforeMark(storage.outbox))
    first_hub = SignalHub()
    first_sub = first_hub.subscribe()
    with pytest.raises(StorageError):
        await crashed.relay_once(first_hub)
    assert crashed.stats.relayed == 3  # on the stream and sent to the first hub's clients
    assert [e.id for e in _queued(first_sub)] == [f"{i}-0" for i in ids]
    assert [r.id for r in await storage.outbox.pending(10)] == ids  # but not marked

    retried = relay_of(storage)
    second_hub = SignalHub()
    second_sub = second_hub.subscribe()
    assert await retried.relay_once(second_hub) == 3
    assert (retried.stats.relayed, retried.stats.duplicates) == (0, 3)
    assert _queued(second_sub) == []
    assert await storage.outbox.pending(10) == []
    entries = await storage.redis.xrange(STREAM)
    assert [entry_id for entry_id, _ in entries] == [f"{i}-0" for i in ids]


async def test_a_stream_already_past_the_outbox_is_reported_not_skipped(storage: Storage) -> None:
    await storage.redis.xadd(STREAM, {"event": "signal", "data": "{}"})  # a server-made id: milliseconds
    await storage.outbox.append(Topic.METRICS, {"n": 1})
    relay = relay_of(storage)
    with pytest.raises(EventLogError):
        await relay.relay_once(SignalHub())
    assert len(await storage.outbox.pending(10)) == 1  # kept for when the stream is sorted out


async def test_the_relay_renders_stored_rows_into_the_views_clients_read(storage: Storage) -> None:
    await storage.outbox.append(
        Topic.POSITION,
        {
            "id": "p-1", "signal_id": None, "symbol": "BTCUSDT", "side": "long", "status": "open",
            "requested_size_base": "0.01", "executed_size_base": "0.01", "fill_ratio": "1",
            "opened_at": "2026-03-02T09:00:00+00:00", "message": None, "error_message": None,
        },
    )  # fmt: skip
    await storage.outbox.append(Topic.KILL_SWITCH, {"state": "HALTED", "kill_switch": True})
    hub = SignalHub()
    sub = hub.subscribe()
    await relay_of(storage).relay_once(hub)
    position, kill = _queued(sub)
    assert position.event == "position"
    assert '"requested_size":"0.01"' in position.data  # the PositionSummary field, not the column name
    assert (kill.event, kill.data) == ("kill_switch", '{"state":"HALTED","kill_switch":true}')


def _queued(sub: Subscription) -> list[StreamEvent]:
    out: list[StreamEvent] = []
    while True:
        try:
            out.append(sub.receive.receive_nowait())
        except trio.WouldBlock:
            return out


async def test_a_break_even_alert_reaches_the_ui_as_a_be_event_through_the_outbox(storage: Storage) -> None:
    feed = SignalFeed()
    published = UiAlerts(None, feed)
    be = Alert(
        event=AlertKind.BREAK_EVEN, severity=Severity.INFO, at=dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC),
        position_id="p-1", symbol="BTCUSDT", details=(("mark", "101.5"),),
    )  # fmt: skip
    funding = Alert(event=AlertKind.FUNDING_EXIT, severity=Severity.WARNING, at=be.at, symbol="BTCUSDT")
    async with trio.open_nursery() as nursery:
        await nursery.start(feed.run, storage.outbox)
        await trio.to_thread.run_sync(lambda: [published.submit(be), published.submit(funding)])
        await eventually_async(lambda: feed.published == 1)
        nursery.cancel_scope.cancel()
    hub = SignalHub()
    sub = hub.subscribe()
    await relay_of(storage).relay_once(hub)
    [event] = _queued(sub)  # the funding warning is a webhook alert only
    assert event.event == "be"
    assert '"position_id":"p-1"' in event.data
    assert '"details":{"mark":"101.5"}' in event.data
