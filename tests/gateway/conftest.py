"""Fixtures of the gateway tests: a real hypercorn server on a free port, a real pykka engine, the migrated
PostgreSQL ``signals`` table and a real Redis Stream (root fixtures ``migrated_db_url``, ``redis_clean_url``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import trio
from gw_kit import ListenAt, MiniEngine, PgSignals, Stack, ThreadedRedisStreams

from gateway import GatewayHandle, RouteOptions, SignalFeed, serve

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")


@pytest.fixture(scope="module")
def pg_signals(migrated_db_url: str) -> Iterator[PgSignals]:
    reader = PgSignals(migrated_db_url)
    yield reader
    reader.close()


@pytest.fixture
def engine() -> Iterator[MiniEngine]:
    eng = MiniEngine(SYMBOLS, temporary=("SOLUSDT",))
    yield eng
    eng.stop()


@pytest.fixture
def route_options() -> RouteOptions:
    return RouteOptions(fault_injection=True, ask_timeout_s=0.5, probe_timeout_s=1.0, heartbeat_s=0.3)


@pytest.fixture
def listen() -> ListenAt:
    return ListenAt()


@pytest.fixture
async def stack(
    engine: MiniEngine,
    pg_signals: PgSignals,
    redis_clean_url: str,
    route_options: RouteOptions,
    listen: ListenAt,
) -> AsyncIterator[Stack]:
    streams = ThreadedRedisStreams(redis_clean_url)
    feed = SignalFeed()
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        handle: GatewayHandle = await nursery.start(
            lambda task_status: serve(
                listen,
                engine,
                pg_signals,
                streams,
                feed,
                options=route_options,
                probes={"postgres": pg_signals.ping, "redis": streams.ping},
                shutdown_trigger=stop.wait,
                graceful_timeout_s=5.0,
                task_status=task_status,
            )
        )
        st = Stack(handle.url, handle, engine, pg_signals, streams, feed, stop)
        yield st
        stop.set()
    streams.close()


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.url, timeout=10.0) as c:
        yield c
