"""A distributed lock in Redis with a TTL, renewal and a fencing token (C-04, DESIGN §8).

Keys (hash-tagged so they share a cluster slot): ``lock:{name}`` holds ``"<owner>:<token>"`` with a PX TTL;
``lock:{name}:fence`` is a counter, incremented on every successful acquire, so tokens strictly increase.

Fencing: a holder that stalled past its TTL may still believe it holds the lock. Protected writes therefore go
through :meth:`RedisLock.fenced_set`, a Lua compare-and-set that refuses a write whose token is older than the
newest token ever issued for the lock (``token < GET lock:{name}:fence``), even if the newer holder has not
written yet. PostgreSQL writers can apply the same rule with ``WHERE $token >= fence`` on a fence column.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog
import trio

from storage.errors import FencedWriteRejectedError, LockLostError, LockNotAcquiredError
from storage.redis_client import RedisClient

__all__ = ["Lease", "RedisLock"]

log = structlog.get_logger(__name__)

_ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    local token = redis.call('INCR', KEYS[2])
    redis.call('SET', KEYS[1], ARGV[1] .. ':' .. token, 'PX', ARGV[2])
    return token
end
return 0
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""

_ADVANCE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
    return 0
end
local newest = tonumber(redis.call('GET', KEYS[2]) or '0')
if newest < tonumber(ARGV[2]) then
    redis.call('SET', KEYS[2], ARGV[2])
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[3] .. ':' .. token, 'PX', ARGV[4])
return token
"""

_FENCED_SET = """
local newest = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) < newest then
    return 0
end
if ARGV[3] ~= '' then
    redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
else
    redis.call('SET', KEYS[2], ARGV[2])
end
return 1
"""


@dataclass(frozen=True, slots=True)
class Lease:
    """Proof of holding the lock: the fencing ``token`` travels with every protected write."""

    name: str
    owner: str
    token: int

    @property
    def value(self) -> str:
        """Return the value stored under the lock key while this lease is current."""
        return f"{self.owner}:{self.token}"


class RedisLock:
    """One named lock; several processes create their own instance with the same name.

    Args:
        redis: the storage Redis client.
        name: the lock's name (e.g. ``"reconciler"``).
        ttl_seconds: how long a lease lives without renewal.
        owner: a unique holder id (default: a random UUID per instance).
    """

    def __init__(self, redis: RedisClient, name: str, ttl_seconds: float, owner: str | None = None) -> None:
        if ttl_seconds <= 0:
            raise ValueError(f"expected ttl_seconds > 0, got {ttl_seconds}")
        self._redis = redis
        self.name = name
        self.ttl_ms = max(1, int(ttl_seconds * 1000))
        self.owner = owner or uuid.uuid4().hex
        self.key = f"lock:{{{name}}}"
        self.fence_key = f"lock:{{{name}}}:fence"

    async def try_acquire(self) -> Lease | None:
        """Take the lock if it is free and return the lease, else None."""
        token = int(await self._redis.eval(_ACQUIRE, [self.key, self.fence_key], [self.owner, self.ttl_ms]))
        if token == 0:
            return None
        log.info("lock acquired", lock=self.name, fence=token)
        return Lease(self.name, self.owner, token)

    async def acquire(self) -> Lease:
        """Take the lock or raise :class:`LockNotAcquiredError`."""
        lease = await self.try_acquire()
        if lease is None:
            raise LockNotAcquiredError(f"lock {self.name!r} is held by another owner")
        return lease

    async def holder(self) -> str | None:
        """Return the current holder's value (``"<owner>:<token>"``), or None when the lock is free."""
        return await self._redis.get(self.key)

    async def advance(self, lease: Lease, past: int) -> Lease:
        """Re-issue the current ``lease`` with a token greater than ``past`` (the fence counter was lost).

        A store that remembers the newest token it accepted (``reconciliation_fence``) can be ahead of Redis
        after Redis lost its data; the holder of the *current* lease then moves the counter past it.

        Raises:
            LockLostError: ``lease`` is no longer current.
        """
        token = int(
            await self._redis.eval(
                _ADVANCE, [self.key, self.fence_key], [lease.value, past, self.owner, self.ttl_ms]
            )
        )
        if token == 0:
            raise LockLostError(f"lock {self.name!r} lease {lease.token} expired or was taken over")
        log.warning("lock fence advanced", lock=self.name, fence=token, past=past)
        return Lease(self.name, self.owner, token)

    async def renew(self, lease: Lease) -> None:
        """Extend ``lease`` by the TTL or raise :class:`LockLostError` when it is no longer current."""
        renewed = int(await self._redis.eval(_RENEW, [self.key], [lease.value, self.ttl_ms]))
        if not renewed:
            raise LockLostError(f"lock {self.name!r} lease {lease.token} expired or was taken over")

    async def release(self, lease: Lease) -> bool:
        """Release ``lease``; return False when it had already expired or been taken over."""
        released = bool(int(await self._redis.eval(_RELEASE, [self.key], [lease.value])))
        log.info("lock released", lock=self.name, fence=lease.token, was_current=released)
        return released

    async def fenced_set(self, lease: Lease, key: str, value: str, *, ttl_ms: int | None = None) -> None:
        """Write ``key = value`` unless a newer lease was issued (then raise FencedWriteRejectedError)."""
        ok = int(
            await self._redis.eval(
                _FENCED_SET, [self.fence_key, key], [lease.token, value, "" if ttl_ms is None else ttl_ms]
            )
        )
        if not ok:
            raise FencedWriteRejectedError(
                f"write to {key!r} with token {lease.token} refused: lock {self.name!r} has a newer lease"
            )

    @asynccontextmanager
    async def hold(self, renew_every: float | None = None) -> AsyncIterator[Lease]:
        """Acquire, keep renewing every ``renew_every`` s (default TTL/3) in the background, release on exit.

        If a renewal finds the lease lost, the body is cancelled and :class:`LockLostError` is raised.
        """
        lease = await self.acquire()
        interval = renew_every if renew_every is not None else self.ttl_ms / 3000
        lost: list[LockLostError] = []
        try:
            async with trio.open_nursery() as nursery:

                async def keep_renewing() -> None:
                    while True:
                        await trio.sleep(interval)
                        try:
                            await self.renew(lease)
                        except LockLostError as exc:
                            log.warning("lock lost", lock=self.name, fence=lease.token)
                            lost.append(exc)
                            nursery.cancel_scope.cancel()
                            return

                nursery.start_soon(keep_renewing)
                yield lease
                nursery.cancel_scope.cancel()
        finally:
            if not lost:
                with trio.CancelScope(shield=True):
                    await self.release(lease)
        if lost:
            raise lost[0]
