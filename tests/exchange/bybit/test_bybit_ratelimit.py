"""Token buckets in real Redis through one Lua script, shared by two limiters (two "processes")."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest
import redis.asyncio as aioredis
import trio
import trio_asyncio

from exchange.bybit.ratelimit import BucketSpec, RateLimiter, RedisScriptRunner
from exchange.errors import ExchangeConfigError, RateLimitExceededError
from tests.support import eventually_async

BUCKETS = {
    "rest_order": BucketSpec(capacity=10, refill_per_s=10.0, ttl_ms=60_000),
    "ws": BucketSpec(capacity=300, refill_per_s=0.0, ttl_ms=0, lease_ms=60_000),
    "short_ws": BucketSpec(capacity=300, refill_per_s=0.0, ttl_ms=0, lease_ms=300),
}


@asynccontextmanager
async def limiters(url: str, n: int = 2, timeout_s: float = 5.0) -> AsyncIterator[list[RateLimiter]]:
    async with trio_asyncio.open_loop():
        clients = [aioredis.Redis.from_url(url) for _ in range(n)]
        try:
            yield [
                RateLimiter(RedisScriptRunner(c), prefix="t", buckets=BUCKETS, timeout_s=timeout_s)
                for c in clients
            ]
        finally:
            for c in clients:
                await trio_asyncio.aio_as_trio(c.aclose)()


async def test_two_clients_share_one_order_bucket(redis_clean_url: str) -> None:
    async with limiters(redis_clean_url, timeout_s=0.0) as (a, b):
        for _ in range(5):
            await a.acquire("rest_order")
            await b.acquire("rest_order")
        with pytest.raises(RateLimitExceededError) as info:
            await a.acquire("rest_order")
        assert info.value.bucket == "rest_order"
        assert 0 < info.value.wait_s <= 0.2
        assert a.stats["rest_order"].acquired == 5
        assert a.stats["rest_order"].rejected == 1


async def test_a_waiter_gets_a_token_after_the_refill(redis_clean_url: str) -> None:
    async with limiters(redis_clean_url, timeout_s=1.0) as (a, b):
        for _ in range(10):
            await a.acquire("rest_order")
        start = trio.current_time()
        waited = await b.acquire("rest_order")
        assert waited > 0
        assert trio.current_time() - start >= 0.05
        assert b.stats["rest_order"].waited == 1


async def test_ws_subscriptions_are_a_shared_counter_held_while_the_block_runs(redis_clean_url: str) -> None:
    async with limiters(redis_clean_url, timeout_s=0.5) as (a, b):
        async with a.holding("ws", 200):
            with pytest.raises(RateLimitExceededError):
                async with b.holding("ws", 101):
                    pass
        async with b.holding("ws", 300):
            pass
        assert (a.stats["ws"].acquired, a.stats["ws"].released) == (1, 1)
        assert b.stats["ws"].rejected == 1


_HOLDER = """
import sys, trio, trio_asyncio, redis.asyncio as aioredis
from exchange.bybit.ratelimit import BucketSpec, RateLimiter, RedisScriptRunner

async def main():
    async with trio_asyncio.open_loop():
        runner = RedisScriptRunner(aioredis.Redis.from_url(sys.argv[1]))
        spec = {"short_ws": BucketSpec(capacity=300, refill_per_s=0.0, ttl_ms=0, lease_ms=int(sys.argv[2]))}
        async with RateLimiter(runner, prefix="t", buckets=spec).holding("short_ws", 300):
            print("held", flush=True)
            await trio.sleep_forever()

trio.run(main)
"""


async def test_a_holder_killed_with_sigkill_frees_its_share_when_the_lease_runs_out(
    redis_clean_url: str,
) -> None:
    """A real ``kill -9`` of the holding process skips every release (E-08, P-10: restarts never leak)."""
    holder = subprocess.Popen(  # noqa: ASYNC220 - a child process that is killed, not awaited
        [sys.executable, "-c", _HOLDER, redis_clean_url, "1500"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert await trio.to_thread.run_sync(holder.stdout.readline) == "held\n"
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=5)
        async with limiters(redis_clean_url, n=1, timeout_s=0.0) as (b,):
            with pytest.raises(RateLimitExceededError):  # the dead holder's lease still runs
                async with b.holding("short_ws", 1):
                    pass

            async def counter_free() -> bool:
                try:
                    async with b.holding("short_ws", 300):
                        return True
                except RateLimitExceededError:
                    return False

            await eventually_async(counter_free, timeout=10)  # once the 1.5 s lease ran out, unrenewed
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=5)
        if holder.stdout is not None:
            holder.stdout.close()


async def test_a_live_holder_keeps_its_share_past_the_lease_by_renewing(redis_clean_url: str) -> None:
    async with limiters(redis_clean_url, timeout_s=0.5) as (a, b), a.holding("short_ws", 300):
        # Real time must pass for a lease to run out (Redis' clock); two leases of 0.3 s, renewed every 0.1 s.
        await trio.sleep(0.7)
        with pytest.raises(RateLimitExceededError):
            async with b.holding("short_ws", 1):
                pass


async def test_unknown_bucket_is_a_config_error(redis_clean_url: str) -> None:
    async with limiters(redis_clean_url, n=1) as (a,):
        with pytest.raises(ExchangeConfigError):
            await a.acquire("nope")


async def test_the_running_engine_draws_rest_and_ws_tokens_from_the_shared_redis_buckets(
    migrated_db_url: str, redis_clean_url: str
) -> None:
    """The engine as ``algogrid run`` builds it (``algogrid.engine.serve``, simulation mode): its REST client
    and its public session draw from the Redis buckets named by ``exchange.rate_limit_prefix`` (E-08), and
    those buckets are shared — a second limiter on the same Redis (another process) that drains
    ``rest_order`` leaves the engine's client no token: the order is refused before it is sent."""
    from functools import partial

    from actors import PipelineConfig
    from algogrid.engine import Engine, serve
    from algogrid.settings import Settings
    from exchange import ExchangeConfig, OrderRequest
    from exchange.simulator import SimulatorConfig
    from storage import ServerUrls, StorageConfig, open_storage

    settings = Settings(
        symbols=("BTCUSDT",),
        simulator=SimulatorConfig(seed=2, speed=60.0, book_interval_ms=50, history_bars=40),
        pipeline=PipelineConfig(backfill_bars=20),
        exchange=ExchangeConfig(rate_limit_prefix="eng", rate_limit_wait_s=0.0),
    )
    async with open_storage(
        StorageConfig(pool_min_size=1, pool_max_size=4), ServerUrls(migrated_db_url, redis_clean_url)
    ) as storage:
        stop = trio.Event()
        async with trio.open_nursery() as nursery:
            engine: Engine = await nursery.start(
                partial(serve, settings, storage, shutdown_trigger=stop.wait)
            )
            try:
                # instruments-info and the warm-up went through the shared bucket
                assert await storage.redis.exists("eng:rest_read") == 1
                assert engine.rest is not None
                assert engine.simulator is not None
                limiter = engine.rest.rate_limiter
                assert limiter is not None
                assert limiter.stats["rest_read"].acquired >= 2
                assert limiter.stats["ws"].acquired == 1  # the public session's topics, one lease
                with pytest.raises(RateLimitExceededError):  # 300 - 4 topics held: 297 do not fit any more
                    async with RateLimiter.for_redis(storage.redis, settings.exchange).holding("ws", 297):
                        pass

                other = RateLimiter.for_redis(storage.redis, settings.exchange)  # another process
                await other.acquire("rest_order", 10)
                order = OrderRequest(
                    symbol="BTCUSDT",
                    side="Buy",
                    order_type="Market",
                    qty=Decimal("0.01"),
                    order_link_id="rl-1",
                )
                with pytest.raises(RateLimitExceededError):
                    await engine.rest.create_order(order)
                assert limiter.stats["rest_order"].rejected == 1
                assert await engine.rest.get_open_orders("BTCUSDT", order_link_id="rl-1") == []
            finally:
                stop.set()
        async with RateLimiter.for_redis(storage.redis, settings.exchange).holding("ws", 300):
            pass  # the engine's lease was given back at stop: the whole counter is free
