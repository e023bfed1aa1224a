"""Token-bucket rate limiter shared through Redis by one Lua script (E-08).

Buckets: ``rest_read`` 1200/min, ``rest_order`` 10/s (token buckets: ``acquire``), and ``ws`` 300
subscriptions (a leased counter: ``holding`` takes a share for as long as its block runs, renewing the lease
in the background; a holder killed without releasing frees its share when the lease runs out, so restarts
never exhaust it). The scripts run atomically in Redis and read Redis' clock, so several processes draw
from the same buckets.

The engine builds its limiter from the storage room's Redis client (``storage.redis``, which has
``async eval(script, keys, args)``): ``RateLimiter.for_redis(storage.redis, exchange_config)``, or in one step
``BybitRestClient.with_shared_limits(exchange_config, storage.redis, credentials)``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol

import structlog
import trio

from exchange.errors import ExchangeConfigError, RateLimitExceededError

if TYPE_CHECKING:
    from exchange.config import ExchangeConfig

__all__ = [
    "DEFAULT_BUCKETS",
    "LEASE_COUNTER_LUA",
    "TOKEN_BUCKET_LUA",
    "BucketSpec",
    "BucketStats",
    "EvalClient",
    "EvalScriptRunner",
    "RateLimiter",
    "RedisScriptRunner",
    "ScriptRunner",
]

log = structlog.get_logger(__name__)

TOKEN_BUCKET_LUA: str = resources.files("exchange.bybit").joinpath("token_bucket.lua").read_text()
LEASE_COUNTER_LUA: str = resources.files("exchange.bybit").joinpath("lease_counter.lua").read_text()


class ScriptRunner(Protocol):
    """Run a Lua script in Redis from the trio thread (the storage room's wrapper fits this)."""

    async def run_script(self, script: str, keys: Sequence[str], args: Sequence[str]) -> Any:
        """Evaluate ``script`` with ``keys`` and ``args`` and return Redis' reply."""
        ...


class RedisScriptRunner:
    """Adapt a ``redis.asyncio.Redis`` to ``ScriptRunner`` by hopping into trio-asyncio's loop.

    Call it only inside ``trio_asyncio.open_loop()``.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self._scripts: dict[str, Any] = {}

    async def run_script(self, script: str, keys: Sequence[str], args: Sequence[str]) -> Any:
        """Evaluate ``script`` (EVALSHA with an EVAL fallback, via redis-py's Script)."""
        import trio_asyncio

        registered = self._scripts.get(script)
        if registered is None:
            registered = self._scripts[script] = self._client.register_script(script)
        return await trio_asyncio.aio_as_trio(registered)(keys=list(keys), args=list(args))


class EvalClient(Protocol):
    """A Redis client awaited from trio with ``eval`` (``storage.RedisClient`` is one)."""

    async def eval(self, script: str, keys: Sequence[str] = (), args: Sequence[Any] = ()) -> Any:
        """Run ``script`` with ``keys`` and ``args`` and return Redis' reply."""
        ...


class EvalScriptRunner:
    """Adapt an ``EvalClient`` (the storage room's Redis client) to ``ScriptRunner``."""

    def __init__(self, client: EvalClient) -> None:
        self._client = client

    async def run_script(self, script: str, keys: Sequence[str], args: Sequence[str]) -> Any:
        """Evaluate ``script`` through the client's ``eval`` (EVALSHA after the first call)."""
        return await self._client.eval(script, list(keys), list(args))


@dataclass(frozen=True, slots=True)
class BucketSpec:
    """Capacity and refill of one bucket; ``lease_ms > 0`` makes it a leased counter (``holding``)."""

    capacity: int
    refill_per_s: float
    ttl_ms: int
    lease_ms: int = 0


DEFAULT_BUCKETS: Mapping[str, BucketSpec] = {
    "rest_read": BucketSpec(capacity=1200, refill_per_s=1200 / 60, ttl_ms=120_000),
    "rest_order": BucketSpec(capacity=10, refill_per_s=10.0, ttl_ms=60_000),
    "ws": BucketSpec(capacity=300, refill_per_s=0.0, ttl_ms=0, lease_ms=60_000),
}


@dataclass(slots=True)
class BucketStats:
    """Hit counters of one bucket, for metrics."""

    acquired: int = 0
    waited: int = 0
    rejected: int = 0
    released: int = 0
    wait_seconds: float = 0.0


@dataclass
class RateLimiter:
    """Draw tokens from Redis-backed buckets, waiting up to ``timeout_s`` for them."""

    runner: ScriptRunner
    prefix: str = "algogrid:ratelimit"
    buckets: Mapping[str, BucketSpec] = field(default_factory=lambda: dict(DEFAULT_BUCKETS))
    timeout_s: float = 5.0
    stats: dict[str, BucketStats] = field(default_factory=dict)

    @classmethod
    def for_redis(cls, client: EvalClient, config: ExchangeConfig | None = None) -> RateLimiter:
        """Return the limiter on the shared Redis buckets, named and timed by ``config`` (E-08)."""
        if config is None:
            return cls(EvalScriptRunner(client))
        return cls(
            EvalScriptRunner(client), prefix=config.rate_limit_prefix, timeout_s=config.rate_limit_wait_s
        )

    def _spec(self, bucket: str) -> BucketSpec:
        try:
            return self.buckets[bucket]
        except KeyError:
            raise ExchangeConfigError(
                f"expected a bucket in {sorted(self.buckets)}, got {bucket!r}"
            ) from None

    def _stats(self, bucket: str) -> BucketStats:
        stats = self.stats.get(bucket)
        if stats is None:
            stats = self.stats[bucket] = BucketStats()
        return stats

    async def _run(self, bucket: str, spec: BucketSpec, cost: int) -> tuple[bool, int]:
        reply = await self.runner.run_script(
            TOKEN_BUCKET_LUA,
            [f"{self.prefix}:{bucket}"],
            [str(spec.capacity), repr(spec.refill_per_s / 1000), str(cost), str(spec.ttl_ms)],
        )
        return bool(int(reply[0])), int(reply[1])

    async def acquire(self, bucket: str, cost: int = 1, timeout_s: float | None = None) -> float:
        """Take ``cost`` tokens, sleeping for refills; return the seconds waited.

        Raises:
            RateLimitExceededError: the tokens would not be free within ``timeout_s``.
        """
        spec = self._spec(bucket)
        stats = self._stats(bucket)
        budget = self.timeout_s if timeout_s is None else timeout_s
        waited = 0.0
        while True:
            allowed, wait_ms = await self._run(bucket, spec, cost)
            if allowed:
                stats.acquired += 1
                stats.wait_seconds += waited
                if waited:
                    stats.waited += 1
                return waited
            wait_s = wait_ms / 1000
            if wait_ms < 0 or waited + wait_s > budget:
                stats.rejected += 1
                log.warning("rate limit exceeded", bucket=bucket, wait_s=wait_s, budget_s=budget)
                raise RateLimitExceededError(
                    f"expected a {bucket} token within {budget:.3f}s, next free in "
                    f"{'never' if wait_ms < 0 else f'{wait_s:.3f}s'}",
                    bucket=bucket,
                    wait_s=wait_s,
                )
            await trio.sleep(wait_s)
            waited += wait_s

    @asynccontextmanager
    async def holding(self, bucket: str, cost: int) -> AsyncIterator[None]:
        """Hold ``cost`` units of the leased counter ``bucket`` while the block runs (E-08: ``ws``).

        The share is a lease renewed every third of ``lease_ms`` in the background and released when the
        block ends; if this process dies without releasing, the share frees itself when the lease runs out.

        Raises:
            RateLimitExceededError: the units are not free now (a counter does not refill: nothing to wait
                for).
            ExchangeConfigError: ``bucket`` is a token bucket, not a leased counter.
        """
        spec = self._spec(bucket)
        if spec.lease_ms <= 0:
            raise ExchangeConfigError(f"expected a leased counter, got the token bucket {bucket!r}")
        holder = uuid.uuid4().hex
        stats = self._stats(bucket)
        taken, used = await self._lease(bucket, spec, "acquire", holder, cost)
        if not taken:
            stats.rejected += 1
            log.warning("leased counter full", bucket=bucket, cost=cost, held=used, capacity=spec.capacity)
            raise RateLimitExceededError(
                f"expected {cost} free {bucket} units of {spec.capacity}, got {spec.capacity - used} free",
                bucket=bucket,
                wait_s=-1.0,
            )
        stats.acquired += 1
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._renew, bucket, spec, holder, cost)
                try:
                    yield
                finally:
                    nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True):
                await self._lease(bucket, spec, "release", holder, cost)
            stats.released += 1

    async def _renew(self, bucket: str, spec: BucketSpec, holder: str, cost: int) -> None:
        while True:
            await trio.sleep(spec.lease_ms / 3000)
            try:
                renewed, _ = await self._lease(bucket, spec, "renew", holder, cost)
                if not renewed:  # expired (Redis flushed, or this process stalled a lease long): take again
                    again, used = await self._lease(bucket, spec, "acquire", holder, cost)
                    log.warning("lease lost and taken again", bucket=bucket, taken=again, held=used)
            except Exception as exc:  # a failed renewal must not end the holder: it is retried next time
                log.warning("lease renewal failed", bucket=bucket, error=str(exc))

    async def _lease(
        self, bucket: str, spec: BucketSpec, op: str, holder: str, cost: int
    ) -> tuple[bool, int]:
        key = f"{self.prefix}:{bucket}"
        reply = await self.runner.run_script(
            LEASE_COUNTER_LUA,
            [f"{key}:leases", f"{key}:costs"],
            [op, holder, str(cost), str(spec.capacity), str(spec.lease_ms)],
        )
        return bool(int(reply[0])), int(reply[1])
