"""UI events are never lost (G-03, DESIGN §5): the outbox, the relay and ``Last-Event-ID`` over real servers.

Signals and position changes are made the product's way — through the storage writes the SignalActor and
the PositionActor use (``MarketRepository.store_signal``, ``ExecutionRepository.open_position`` and
``save_position``), which commit each event's outbox row with the change — and read back as a browser
does, over HTTP from ``GET /stream``. Redis is the embedded server of the ``redis_server`` fixture, stopped
and started for real (without persistence: it comes back empty, the hardest case for the stream).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal

import httpx
import pytest
from gw_kit import SseMessage, Stack, make_signal, open_stack, read_sse

from gateway import GatewayConfig, OutboxRelayConfig
from storage import EmbeddedRedis, OrderRecord, PositionRecord
from strategy_core.execution import position_id_for
from tests.conftest import flushed, with_database
from tests.support import eventually_async
from tests.support.auth import authorise, first_admin

NAMES = ("signal", "position")
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
OUTAGE_DB = "40"  # a Redis db index no other fixture hands out (redis_clean_url cycles through 1-15)


@pytest.fixture
def relay_config(gateway_config: GatewayConfig) -> GatewayConfig:
    """The gateway with a relay that retries quickly (the backoff under test, scaled down)."""
    outbox = OutboxRelayConfig(poll_s=0.2, backoff_min_s=0.05, backoff_max_s=0.3)
    return gateway_config.model_copy(update={"outbox": outbox})


@pytest.fixture
def outage_redis_url(redis_server: EmbeddedRedis) -> str:
    return flushed(with_database(redis_server.url, OUTAGE_DB))


@pytest.fixture
async def outage_stack(
    migrated_db_url: str, outage_redis_url: str, relay_config: GatewayConfig
) -> AsyncIterator[Stack]:
    async with open_stack(
        migrated_db_url, outage_redis_url, SYMBOLS, gateway=relay_config, fault_injection=False
    ) as st:
        yield st


async def trade(stack: Stack, symbol: str) -> list[str]:
    """Store a signal, open a position on it and fill it; return the keys of the three events announced."""
    signal = make_signal(symbol)
    assert await stack.storage.market().store_signal(signal, "new", None)
    sid = str(signal.id)
    position = PositionRecord(
        id=position_id_for(sid), signal_id=sid, symbol=symbol, side="long", status="opening",
        requested_size_base=Decimal("0.01"), sl=signal.sl, tp1=signal.tp1, tp2=signal.tp2, tp3=signal.tp3,
        risk_usd=signal.risk_usd, risk_r=signal.risk_r, opened_at=signal.created_at,
    )  # fmt: skip
    intent = OrderRecord(
        client_order_id=f"e-{sid[:12]}", position_id=position.id, signal_id=sid, symbol=symbol, side="Buy",
        order_type="Limit", time_in_force="IOC", reduce_only=False, purpose="entry", qty=Decimal("0.01"),
        price=signal.entry,
    )  # fmt: skip
    await stack.storage.execution.open_position(position, intent)
    filled = replace(position, status="open", executed_size_base=Decimal("0.01"), fill_ratio=Decimal(1))
    await stack.storage.execution.save_position(filled)
    return [f"signal:{sid}", f"position:{position.id}:opening", f"position:{position.id}:open"]


def key(message: SseMessage) -> str:
    data = json.loads(message.data)
    if message.event == "signal":
        return f"signal:{data['id']}"
    return f"position:{data['id']}:{data['status']}"


def numbers(messages: list[SseMessage]) -> list[int]:
    return [int((m.id or "").split("-")[0]) for m in messages]


async def unrelayed(stack: Stack) -> int:
    count: int = await stack.storage.db.fetchval("SELECT count(*) FROM outbox WHERE relayed_at IS NULL")
    return count


async def metric(client: httpx.AsyncClient, name: str) -> float:
    text = (await client.get("/metrics")).text
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert match is not None, f"expected {name} on /metrics"
    return float(match.group(1))


async def test_a_redis_outage_delays_ui_events_and_loses_none(
    outage_stack: Stack, redis_server: EmbeddedRedis
) -> None:
    stack = outage_stack
    async with httpx.AsyncClient(base_url=stack.url, timeout=10.0) as client:
        await first_admin(stack.storage, client)
        async with client.stream("GET", "/stream") as response:
            before = await trade(stack, "BTCUSDT")
            seen = await read_sse(response.aiter_lines(), 3, names=NAMES)
        assert [key(m) for m in seen] == before

        redis_server.stop()
        during = [event for symbol in SYMBOLS for event in await trade(stack, symbol)]
        await eventually_async(lambda: _relay_failed(stack), timeout=10)
        assert await unrelayed(stack) == len(during)  # committed, waiting: delayed, not lost

        redis_server.start()
        await eventually_async(lambda: _drained(stack), timeout=15)
        assert await metric(client, "outbox_relay_errors_total") >= 1
        assert await metric(client, "outbox_backlog") == 0

        headers = {"Last-Event-ID": seen[-1].id or ""}
        async with client.stream("GET", "/stream", headers=headers) as again:
            assert again.status_code == 200
            lines = again.aiter_lines()
            replayed = await read_sse(lines, len(during), names=NAMES)
            after = await trade(stack, "ETHUSDT")
            live = await read_sse(lines, 3, names=NAMES)
    assert [key(m) for m in replayed] == during
    assert [key(m) for m in live] == after  # nothing of the outage twice, nothing of it after the new events
    ids = numbers([*seen, *replayed, *live])
    assert ids == sorted(set(ids)), "every event once, in order"


def _relay_failed(stack: Stack) -> bool:
    return bool(stack.handle.context.metrics.registry.get_sample_value("outbox_relay_errors_total"))


async def _drained(stack: Stack) -> bool:
    return await unrelayed(stack) == 0


async def test_last_event_id_replay_spans_a_gateway_restart(
    migrated_db_url: str, redis_clean_url: str, relay_config: GatewayConfig
) -> None:
    async with open_stack(
        migrated_db_url, redis_clean_url, SYMBOLS, gateway=relay_config, fault_injection=False
    ) as first, httpx.AsyncClient(base_url=first.url, timeout=10.0) as client:
        account = await first_admin(first.storage, client)
        async with client.stream("GET", "/stream") as response:
            lines = response.aiter_lines()
            sent = [*await trade(first, "BTCUSDT"), *await trade(first, "ETHUSDT")]
            seen = await read_sse(lines, len(sent), names=NAMES)
    assert [key(m) for m in seen] == sent

    # A new gateway process: new hub, new relay, same PostgreSQL and Redis.
    async with open_stack(
        migrated_db_url, redis_clean_url, SYMBOLS, gateway=relay_config, fault_injection=False
    ) as second, httpx.AsyncClient(base_url=second.url, timeout=10.0) as client:
        authorise(client, account)  # the session lives in PostgreSQL/Redis: it outlives the gateway
        headers = {"Last-Event-ID": seen[2].id or ""}  # the client saw the first trade only
        async with client.stream("GET", "/stream", headers=headers) as again:
            assert again.status_code == 200
            lines = again.aiter_lines()
            replayed = await read_sse(lines, 3, names=NAMES)
            later = await trade(second, "SOLUSDT")
            live = await read_sse(lines, 3, names=NAMES)
    assert [(m.id, key(m)) for m in replayed] == [(m.id, key(m)) for m in seen[3:]]  # the same ids as before
    assert [key(m) for m in live] == later
    ids = numbers([*seen[:3], *replayed, *live])
    assert ids == sorted(set(ids))
