"""The composition root over the real simulator, real PostgreSQL/Redis and the real supervision tree."""

from __future__ import annotations

import gc

import pytest
import trio

from actors import PipelineConfig
from algogrid.engine import Engine, serve
from algogrid.settings import Settings
from exchange.simulator import SimulatorConfig
from gateway.errors import UnknownActorPathError
from gateway.models import FaultRequest
from tests.actors.actors_kit import open_test_storage
from tests.support import eventually_async

SYMBOLS = ("TRXUSDT", "ADAUSDT")


def _settings(mode: str = "simulation") -> Settings:
    return Settings(
        mode=mode,
        symbols=SYMBOLS,
        simulator=SimulatorConfig(seed=7, speed=600.0, book_interval_ms=20, history_bars=120),
        pipeline=PipelineConfig(backfill_bars=100),
    )


async def test_engine_backfills_runs_the_tree_and_stops_cleanly(
    migrated_db_url: str, redis_clean_url: str
) -> None:
    async with open_test_storage(migrated_db_url, redis_clean_url) as storage, trio.open_nursery() as nursery:
        engine: Engine = await nursery.start(
            lambda task_status: serve(
                _settings(), storage, task_status=task_status
            )
        )
        view = engine.view  # what the gateway sees of the engine
        assert gc.get_freeze_count() > 10_000  # the warmed-up heap is out of the collector's full passes
        assert list(view.symbols()) == sorted(SYMBOLS)
        assert engine.warmup.fetched == dict.fromkeys(SYMBOLS, 100)
        assert engine.warmup.stored == dict.fromkeys(SYMBOLS, 100)
        assert engine.warmup.failed == {}
        tree = await view.supervision_tree()
        paths = [c["path"] for c in tree["children"]]
        assert paths == ["root/risk", "root/monitor", "root/symbols", "root/reconciler"]

        async def live_bars_stored() -> bool:
            count = await storage.db.fetchval("SELECT count(*) FROM klines_5m WHERE symbol = $1", SYMBOLS[0])
            return int(count) > engine.warmup.stored[SYMBOLS[0]] + 1

        await eventually_async(live_bars_stored, timeout=20)

        status = await view.feed_status(SYMBOLS[0], timeout_s=5)
        assert status.last_event_at is not None
        assert (await view.readiness())["supervision"] is None
        await eventually_async(
            lambda: engine.session is not None and engine.session.stats.connected, timeout=10
        )

        await view.inject_fault(FaultRequest(path=f"root/symbols/{SYMBOLS[0]}/feed", kind="crash"))
        await eventually_async(lambda: engine.tree.ref(f"root/symbols/{SYMBOLS[0]}/feed").incarnation == 2)
        await eventually_async(engine.tree.settled)
        with pytest.raises(UnknownActorPathError):
            await view.inject_fault(FaultRequest(path="root/symbols/NOPEUSDT/feed", kind="crash"))
        nursery.cancel_scope.cancel()
    assert engine.tree.ref("root").status.value == "stopped"
    assert gc.get_freeze_count() == 0  # handed back at stop: a later engine in this process starts clean
