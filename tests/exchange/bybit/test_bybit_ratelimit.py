"""Token buckets in real Redis through one Lua script, shared by two limiters (two "processes")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import redis.asyncio as aioredis
import trio
import trio_asyncio

from exchange.bybit.ratelimit import BucketSpec, RateLimiter, RedisScriptRunner
from exchange.errors import ExchangeConfigError, RateLimitExceededError

BUCKETS = {
    "rest_order": BucketSpec(capacity=10, refill_per_s=10.0, ttl_ms=60_000),
    "ws": BucketSpec(capacity=300, refill_per_s=0.0, ttl_ms=60_000),
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


async def test_ws_subscriptions_are_a_counter_released_on_unsubscribe(redis_clean_url: str) -> None:
    async with limiters(redis_clean_url, timeout_s=0.5) as (a, b):
        await a.acquire("ws", 200)
        with pytest.raises(RateLimitExceededError):
            await b.acquire("ws", 101)
        await a.release("ws", 200)
        await b.acquire("ws", 300)


async def test_unknown_bucket_is_a_config_error(redis_clean_url: str) -> None:
    async with limiters(redis_clean_url, n=1) as (a,):
        with pytest.raises(ExchangeConfigError):
            await a.acquire("nope")


async def test_the_engine_construction_path_draws_rest_and_ws_tokens_from_storage_redis(
    redis_clean_url: str,
) -> None:
    """``BybitRestClient.with_shared_limits(config, storage.redis)``: REST calls and the public session's
    subscriptions go through the shared Redis buckets named by the config (E-08)."""
    from decimal import Decimal

    from bybit_fakes import ListSink

    from exchange import BybitRestClient, ExchangeConfig, PublicSession
    from exchange.simulator import SimulatorConfig, open_simulator
    from storage import AioBridge, RedisClient

    async with (
        trio_asyncio.open_loop() as loop,
        open_simulator(SimulatorConfig(symbols=("BTCUSDT",), speed=60)) as sim,
    ):
        raw = aioredis.Redis.from_url(redis_clean_url, decode_responses=True)
        storage_redis = RedisClient(AioBridge(loop), raw)  # what ``storage.redis`` is in the engine
        sim.add_account("k", "s", Decimal("1000"))
        config = ExchangeConfig(
            rest_url=sim.rest_url,
            ws_public_url=sim.ws_public_url,
            rate_limit_prefix="eng",
            rate_limit_wait_s=0.0,
        )
        async with (
            BybitRestClient.with_shared_limits(config, storage_redis) as rest,
            trio.open_nursery() as nursery,
        ):
            limiter = rest.rate_limiter
            assert limiter is not None
            await rest.get_server_time()
            await rest.get_orderbook("BTCUSDT")
            assert limiter.stats["rest_read"].acquired == 2
            assert await storage_redis.exists("eng:rest_read") == 1
            session = PublicSession(config, ["BTCUSDT"], ListSink(), rest)
            await nursery.start(session.run)
            assert limiter.stats["ws"].acquired == 1
            with pytest.raises(RateLimitExceededError):  # 300 - 4 topics held: 297 do not fit any more
                await RateLimiter.for_redis(storage_redis, config).acquire("ws", 297)
            nursery.cancel_scope.cancel()
        assert limiter.stats["ws"].released == 1
        await AioBridge(loop).run(raw.aclose)
