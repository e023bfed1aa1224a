"""Two ``algogrid run`` processes (paper mode, real subprocesses) on one database, one Redis and one venue
account contend for the reconciler's lock (C-01): both pass in turn, every recorded pass carries its own
fencing token, and the tokens only grow — never two passes under one token, never an older token written
after a newer one. (A stale holder's refused write is shown in ``test_reconciler_lock.py``.)"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import trio

from exchange.simulator import SimulatorConfig, open_simulator
from storage import ServerUrls, StorageConfig, open_storage
from tests.reconciler.test_restart_recovery import API_KEY, API_SECRET, POINTS, Engine, _env
from tests.support import eventually_async


async def test_two_engine_processes_pass_in_turn_under_growing_fencing_tokens(
    migrated_db_url: str, redis_clean_url: str, tmp_path: Path
) -> None:
    config = SimulatorConfig(symbols=tuple(POINTS.values()), speed=1, book_interval_ms=100, history_bars=60)
    urls, pool = ServerUrls(migrated_db_url, redis_clean_url), StorageConfig(pool_min_size=1, pool_max_size=2)
    async with open_simulator(config) as sim, open_storage(pool, urls) as storage:
        sim.add_account(API_KEY, API_SECRET, Decimal(1_000_000))
        engines = [
            Engine(_env(sim, migrated_db_url, redis_clean_url, tmp_path / name), tmp_path / name)
            for name in ("a", "b")
        ]
        try:
            async with trio.open_nursery() as nursery:
                for engine in engines:
                    nursery.start_soon(engine.start)

            async def both_passed() -> list[Any] | None:
                rows = await storage.db.fetch(
                    "SELECT holder, fence FROM reconciliation_passes ORDER BY finished_at, fence"
                )
                return rows if len({r["holder"] for r in rows}) >= 2 and len(rows) >= 6 else None

            rows = await eventually_async(both_passed, timeout=60)
        finally:
            for engine in engines:
                engine.close()
    fences = [r["fence"] for r in rows]
    assert len(set(fences)) == len(fences)  # one pass per token
    assert fences == sorted(fences)  # in the order they were written, the tokens only grow
