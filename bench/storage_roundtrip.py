"""Storage round trips from trio through trio-asyncio: PostgreSQL select, kline upsert, Redis SET, lock cycle.

Also a bar close's burst: 15 candles (one per symbol) inserted at the same moment, with group commit (the
repository's writer running: storage/batching.py) and, side by side in the same run, as 15 single-row
statements (a repository whose writer is not running) — time until the last row of the burst is stored.

Run standalone: ``.venv/bin/python bench/storage_roundtrip.py``. Uses DATABASE_URL/REDIS_URL when set,
else embedded servers in a temp dir. Prints one JSON object (medians and p99 in µs) as the last line.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import trio
from pydantic import SecretStr

from algogrid.settings import WHITELIST
from storage import (
    KlineRepository,
    RedisLock,
    StorageConfig,
    StoredKline,
    open_storage,
    start_servers,
    upgrade,
)

SAMPLES = 2000
WARMUP = 50
BURSTS = 300
SYMBOLS = WHITELIST  # the 15 symbols of P-08


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_us": round(statistics.median(ordered) * 1e6, 1),
        "p99_us": round(ordered[int(len(ordered) * 0.99) - 1] * 1e6, 1),
        "n": len(ordered),
    }


async def _measure(fn: Callable[[int], Awaitable[object]], n: int = SAMPLES) -> dict[str, float]:
    for i in range(WARMUP):  # warm-up: prepared statements, connections, script cache
        await fn(i)
    samples = []
    for i in range(n):
        start = time.perf_counter()
        await fn(i)
        samples.append(time.perf_counter() - start)
    return _stats(samples)


async def _run(config: StorageConfig, db_url: str, redis_url: str) -> dict[str, object]:
    from storage import ServerUrls

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    async with open_storage(config, ServerUrls(db_url, redis_url)) as storage:
        lock = RedisLock(storage.redis, "bench", ttl_seconds=5)

        async def select(_: int) -> object:
            return await storage.db.fetchval("SELECT 1")

        async def upsert(i: int) -> object:
            price = Decimal("100") + Decimal(i % 100) / 100
            kline = StoredKline("BTCUSDT", t0 + timedelta(minutes=5 * i), price, price + 1, price - 1, price,
                                Decimal("1.5"), Decimal("150"))
            return await storage.klines.upsert([kline])

        async def redis_set(i: int) -> object:
            return await storage.redis.set(f"bench:{i % 100}", "v")

        async def lock_cycle(_: int) -> object:
            lease = await lock.acquire()
            return await lock.release(lease)

        def burst(repo: KlineRepository, base: datetime) -> Callable[[int], Awaitable[object]]:
            async def run(i: int) -> object:
                start = base + timedelta(minutes=5 * i)
                price = Decimal("100") + Decimal(i % 100) / 100
                async with trio.open_nursery() as nursery:
                    for symbol in SYMBOLS:
                        kline = StoredKline(symbol, start, price, price + 1, price - 1, price, Decimal("1.5"),
                                            Decimal("150"))
                        nursery.start_soon(repo.insert_new, kline)
                return None

            return run

        unbatched = KlineRepository(storage.db)  # no writer task: one statement per row
        grouped = await _measure(burst(storage.klines, t0 + timedelta(days=400)), BURSTS)
        single = await _measure(burst(unbatched, t0 + timedelta(days=800)), BURSTS)
        grouped["statements_per_burst"] = round(storage.klines.writer.stats.batches / (BURSTS + WARMUP), 2)

        return {
            "pg_select_1": await _measure(select),
            "kline_upsert": await _measure(upsert),
            "redis_set": await _measure(redis_set),
            "lock_acquire_release": await _measure(lock_cycle, 1000),
            "candle_burst_15_group_commit": grouped,
            "candle_burst_15_single_rows": single,
        }


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="algogrid-bench-storage-"))
    root.chmod(0o755)
    env_db, env_redis = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    config = StorageConfig(
        data_dir=root,
        database_url=SecretStr(env_db) if env_db else None,
        redis_url=SecretStr(env_redis) if env_redis else None,
    )
    try:
        started = time.perf_counter()
        with start_servers(config) as urls:
            upgrade(urls.database_url)
            ready_s = time.perf_counter() - started
            result = trio.run(_run, config, urls.database_url, urls.redis_url)
        result["servers_ready_and_migrated_s"] = round(ready_s, 3)
        print(json.dumps({"bench": "storage", **result}))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
