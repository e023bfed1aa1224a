"""C-04: one pass at a time across instances (the Redis lock), and a stale holder's writes refused (fencing).

Two reconcilers are two full trees on the same PostgreSQL, Redis and exchange account, each with its own lock
owner — what two engine processes share.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from exchange.simulator import Simulator
from storage import FencedWriteRejectedError, PassRecord, RedisLock, ServerUrls, StorageConfig, open_storage
from tests.reconciler.recon_kit import FAST, running_system
from tests.support import eventually_async


async def test_a_pass_is_skipped_while_another_instance_holds_the_lock(
    recon_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    async with running_system(recon_db_url, redis_clean_url, sim, owner="engine-a") as rig:
        other = RedisLock(rig.storage.redis, FAST.lock_name, 30.0, owner="engine-b")
        lease = await eventually_async(other.try_acquire, timeout=5)
        skipped = (await rig.status()).skipped

        async def skipped_once() -> bool:
            return (await rig.status()).skipped > skipped

        await eventually_async(skipped_once, timeout=5)
        status = await rig.status()
        assert status.last_holder_seen == f"engine-b:{lease.token}"
        recorded = len(status.passes)
        await other.release(lease)
        after = await rig.next_pass()
        assert len(after.passes) > recorded
        assert after.passes[0].holder == "engine-a"
        assert after.passes[0].fence > lease.token


async def test_two_instances_take_turns_and_every_recorded_pass_has_a_newer_token(
    recon_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    fast = FAST.model_copy(update={"interval_s": 0.1})
    async with (
        running_system(recon_db_url, redis_clean_url, sim, owner="engine-a", config=fast) as a,
        running_system(recon_db_url, redis_clean_url, sim, owner="engine-b", config=fast) as b,
    ):

        async def both_recorded_and_one_skipped() -> bool:
            sa, sb = await a.status(), await b.status()
            return bool(len(sa.passes) >= 3 and len(sb.passes) >= 3 and sa.skipped + sb.skipped > 0)

        await eventually_async(both_recorded_and_one_skipped, timeout=20)
        rows = await a.storage.db.fetch(
            "SELECT fence, holder FROM reconciliation_passes ORDER BY finished_at"
        )
    fences = [r["fence"] for r in rows]
    assert fences == sorted(fences)
    assert len(set(fences)) == len(fences)  # never two passes under one lease
    assert {r["holder"] for r in rows} == {"engine-a", "engine-b"}


async def test_a_stale_holders_write_is_refused_by_the_fencing_token(
    recon_db_url: str, redis_clean_url: str
) -> None:
    config = StorageConfig(pool_min_size=1, pool_max_size=2)
    async with open_storage(config, ServerUrls(recon_db_url, redis_clean_url)) as storage:
        stalled = RedisLock(storage.redis, "reconciler", 0.2, owner="stalled")
        fresh = RedisLock(storage.redis, "reconciler", 30.0, owner="fresh")
        old = await stalled.acquire()

        async def expired() -> bool:
            return await stalled.holder() is None  # the stalled holder's lease ran out (a real TTL in Redis)

        await eventually_async(expired, timeout=5)
        new = await fresh.acquire()
        assert new.token > old.token
        now = dt.datetime.now(dt.UTC)

        def record(lease_token: int, holder: str) -> PassRecord:
            return PassRecord(
                run_id=str(uuid.uuid4()),
                fence=lease_token,
                holder=holder,
                started_at=now,
                duration_ms=1.0,
                symbols=1,
            )

        await storage.reconciliation.record_pass(record(new.token, "fresh"), [])
        with pytest.raises(FencedWriteRejectedError):
            await storage.reconciliation.record_pass(record(old.token, "stalled"), [])
        holders = [p.holder for p in await storage.reconciliation.recent_passes()]
        assert holders == ["fresh"]
        assert await storage.reconciliation.fence() == new.token


async def test_a_redis_that_lost_its_fence_counter_is_moved_past_the_newest_token_postgresql_accepted(
    recon_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    config = StorageConfig(pool_min_size=1, pool_max_size=2)
    async with open_storage(config, ServerUrls(recon_db_url, redis_clean_url)) as storage:
        await storage.db.execute("UPDATE reconciliation_fence SET fence = 41")  # Redis (flushed) starts at 1
    async with running_system(recon_db_url, redis_clean_url, sim) as rig:
        status = await rig.status()
        assert status.passes[0].fence == 42
        assert status.refused == 0
        after = await rig.next_pass()
        assert after.passes[0].fence == 43
