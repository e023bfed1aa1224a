"""Distributed lock with TTL, renewal and fencing token (C-04)."""

from __future__ import annotations

import pytest
import trio

from storage import FencedWriteRejectedError, LockLostError, LockNotAcquiredError, RedisLock, Storage
from tests.support import eventually_async


async def test_two_contenders_only_one_holds_and_tokens_increase(storage: Storage) -> None:
    a = RedisLock(storage.redis, "reconciler", ttl_seconds=5, owner="node-a")
    b = RedisLock(storage.redis, "reconciler", ttl_seconds=5, owner="node-b")
    lease_a = await a.acquire()
    assert await b.try_acquire() is None
    with pytest.raises(LockNotAcquiredError):
        await b.acquire()
    assert await a.release(lease_a) is True
    lease_b = await b.acquire()
    assert lease_b.token > lease_a.token
    assert await a.release(lease_a) is False  # a stale lease cannot release the new holder's lock
    assert await storage.redis.get(b.key) == lease_b.value


async def test_concurrent_contenders_get_exactly_one_lease(storage: Storage) -> None:
    leases = []

    async def contend(i: int) -> None:
        lease = await RedisLock(storage.redis, "race", ttl_seconds=5, owner=f"n{i}").try_acquire()
        if lease is not None:
            leases.append(lease)

    async with trio.open_nursery() as nursery:
        for i in range(20):
            nursery.start_soon(contend, i)
    assert len(leases) == 1


async def test_holder_that_stalls_past_ttl_loses_the_lock_and_its_fenced_write_is_refused(
    storage: Storage,
) -> None:
    stalled = RedisLock(storage.redis, "positions", ttl_seconds=0.2, owner="stalled")
    other = RedisLock(storage.redis, "positions", ttl_seconds=5, owner="other")
    old = await stalled.acquire()
    await stalled.fenced_set(old, "positions:owner", "stalled")  # current lease: accepted
    # the stalled holder does nothing; the lease expires and the other node takes over
    new = await eventually_async(other.try_acquire, timeout=5, message="takeover after TTL")
    assert new.token > old.token
    with pytest.raises(LockLostError):
        await stalled.renew(old)
    # refused even before the new holder writes anything: a newer lease exists
    with pytest.raises(FencedWriteRejectedError):
        await stalled.fenced_set(old, "positions:owner", "stalled-again")
    assert await storage.redis.get("positions:owner") == "stalled"
    await other.fenced_set(new, "positions:owner", "other")
    with pytest.raises(FencedWriteRejectedError):
        await stalled.fenced_set(old, "positions:owner", "stalled-late")
    assert await storage.redis.get("positions:owner") == "other"


async def test_renewal_keeps_the_lease_alive_beyond_its_ttl(storage: Storage) -> None:
    lock = RedisLock(storage.redis, "renewed", ttl_seconds=0.4)
    rival = RedisLock(storage.redis, "renewed", ttl_seconds=5)
    renewals = 0
    async with lock.hold(renew_every=0.04) as lease:
        # keep checking for 2.5 TTLs: the rival never gets in while renewals run
        deadline = trio.current_time() + 1.0
        while trio.current_time() < deadline:
            assert await rival.try_acquire() is None
            pttl = await storage.redis.pttl(lock.key)
            renewals += pttl > 0
            await trio.sleep(0.03)
        assert await storage.redis.get(lock.key) == lease.value
    assert renewals > 0
    assert await storage.redis.get(lock.key) is None  # released on exit
    assert await rival.try_acquire() is not None


async def test_hold_cancels_the_body_and_raises_when_the_lease_is_lost(storage: Storage) -> None:
    lock = RedisLock(storage.redis, "lost", ttl_seconds=5)
    body_finished = False
    with pytest.raises(LockLostError):  # noqa: PT012 - the loss must interrupt a running body
        async with lock.hold(renew_every=0.02):
            await storage.redis.delete(lock.key)  # e.g. a failover lost the key
            await trio.sleep_forever()
            body_finished = True
    assert body_finished is False
