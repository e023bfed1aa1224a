"""TEMPORARY test adapters: asyncpg and redis.asyncio under trio-asyncio, until storage lands."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import asyncpg
import redis.asyncio as aioredis
import trio_asyncio


class AsyncpgSql:
    """``SqlClient`` over one asyncpg connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def fetch(self, query: str, *args: Any) -> Sequence[Mapping[str, Any]]:
        return await trio_asyncio.aio_as_trio(self._conn.fetch)(query, *args)  # type: ignore[no-any-return]

    async def execute(self, query: str, *args: Any) -> str:
        return await trio_asyncio.aio_as_trio(self._conn.execute)(query, *args)  # type: ignore[no-any-return]


class RedisMirror:
    """``MirrorClient`` over redis.asyncio."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client

    async def set(self, name: str, value: bytes) -> Any:
        return await trio_asyncio.aio_as_trio(self._client.set)(name, value)

    async def publish(self, channel: str, message: bytes) -> Any:
        return await trio_asyncio.aio_as_trio(self._client.publish)(channel, message)

    async def get(self, name: str) -> bytes | None:
        return await trio_asyncio.aio_as_trio(self._client.get)(name)  # type: ignore[no-any-return]


@contextlib.asynccontextmanager
async def open_clients(db_url: str, redis_url: str) -> AsyncIterator[tuple[AsyncpgSql, RedisMirror]]:
    """Open a trio-asyncio loop with one PostgreSQL connection and one Redis client."""
    async with trio_asyncio.open_loop():
        conn = await trio_asyncio.aio_as_trio(asyncpg.connect)(db_url)
        client = aioredis.Redis.from_url(redis_url)
        try:
            yield AsyncpgSql(conn), RedisMirror(client)
        finally:
            await trio_asyncio.aio_as_trio(client.aclose)()
            await trio_asyncio.aio_as_trio(conn.close)()
