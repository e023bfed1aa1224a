"""Fixtures of the integration tests: the real engine over the real simulator, PostgreSQL and Redis.

* ``storage`` — ``storage.open_storage`` on the session's migrated database (root fixture
  ``migrated_db_url``) with candles, signals and denials emptied and the kill switch released, so each test
  starts from the same state whatever ran before it;
* ``run_engine`` — ``async with run_engine(settings, **serve_kwargs) as engine:`` runs
  ``algogrid.engine.serve`` for the block and stops it as ``algogrid run`` does, through its
  ``shutdown_trigger`` (session, tree in reverse start order, then the work queue);
* ``published`` — a ``SignalPublisher`` recording what the engine publishes (``.events``).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial
from typing import Any

import pytest
import trio

from actors import SignalGenerated
from algogrid.engine import Engine, serve
from algogrid.settings import Settings
from storage import ServerUrls, Storage, StorageConfig, open_storage

_RESET = (
    "TRUNCATE klines_5m, kline_gaps, public_trades, ticker_log, funding_settlements, signals, risk_denials "
    "CASCADE",
    "UPDATE kill_switch_state SET trading_state = 'ACTIVE', engaged = false, reason = NULL, "
    "changed_by_label = 'system', changed_at = now()",
)


class Published:
    """A ``SignalPublisher`` recording what the engine publishes (called from actor threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[SignalGenerated] = []
        self.others: list[object] = []  # position changes (the PositionActors publish through the same port)

    def publish(self, event: object) -> None:
        with self._lock:
            if isinstance(event, SignalGenerated):
                self.events.append(event)
            else:
                self.others.append(event)


@pytest.fixture
def published() -> Published:
    return Published()


@pytest.fixture
async def storage(migrated_db_url: str, redis_clean_url: str) -> AsyncIterator[Storage]:
    config = StorageConfig(pool_min_size=1, pool_max_size=5)
    async with open_storage(config, ServerUrls(migrated_db_url, redis_clean_url)) as opened:
        for statement in _RESET:
            await opened.db.execute(statement)
        yield opened


@pytest.fixture
def run_engine(storage: Storage) -> Callable[..., AbstractAsyncContextManager[Engine]]:
    @asynccontextmanager
    async def running(settings: Settings, **kwargs: Any) -> AsyncIterator[Engine]:
        stop = trio.Event()
        async with trio.open_nursery() as nursery:
            engine: Engine = await nursery.start(
                partial(serve, settings, storage, shutdown_trigger=stop.wait, **kwargs)
            )
            try:
                yield engine
            finally:
                stop.set()

    return running
