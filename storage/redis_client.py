"""Redis from trio: a ``redis.asyncio`` client run on the storage bridge, values decoded as ``str``.

Reconnection: the client reconnects on its own; commands that meet a dropped connection are retried up to
3 times with capped exponential backoff, and a server that stays down raises
:class:`StorageUnavailableError`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

from storage.aio import AioBridge
from storage.errors import StorageUnavailableError

__all__ = ["RedisClient", "connect_redis"]

Field = str | int | float | bytes
StreamEntry = tuple[str, dict[str, str]]


class RedisClient:
    """The subset of Redis commands the system uses, awaited from trio."""

    def __init__(self, bridge: AioBridge, client: aioredis.Redis) -> None:
        self._bridge = bridge
        self._client = client
        self._script_shas: dict[str, str] = {}

    async def _call(self, fn: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
        try:
            return await self._bridge.run(fn, *args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise StorageUnavailableError(f"Redis unavailable: {type(exc).__name__}: {exc}") from exc

    async def ping(self) -> bool:
        """Return True when the server answers PING, False when it is unreachable."""
        try:
            return bool(await self._call(self._client.ping))
        except StorageUnavailableError:
            return False

    async def get(self, key: str) -> str | None:
        """Return the value of ``key`` or None."""
        value = await self._call(self._client.get, key)
        return None if value is None else str(value)

    async def set(
        self, key: str, value: Field, *, ex: float | None = None, px: int | None = None, nx: bool = False,
        xx: bool = False,
    ) -> bool:
        """Set ``key`` with an optional TTL (``ex`` s / ``px`` ms) and NX/XX condition; True if set."""
        ex_arg = None if ex is None else int(ex * 1000)
        result = await self._call(self._client.set, key, value, px=px or ex_arg, nx=nx, xx=xx)
        return bool(result)

    async def setex(self, key: str, seconds: int, value: Field) -> bool:
        """Set ``key`` with a TTL in seconds."""
        return bool(await self._call(self._client.set, key, value, ex=seconds))

    async def delete(self, *keys: str) -> int:
        """Delete ``keys`` and return how many existed."""
        return int(await self._call(self._client.delete, *keys))

    async def exists(self, *keys: str) -> int:
        """Return how many of ``keys`` exist."""
        return int(await self._call(self._client.exists, *keys))

    async def incr(self, key: str, amount: int = 1) -> int:
        """Increment ``key`` by ``amount`` and return the new value."""
        return int(await self._call(self._client.incrby, key, amount))

    async def expire(self, key: str, seconds: int) -> bool:
        """Set a TTL on ``key``; return False when the key does not exist."""
        return bool(await self._call(self._client.expire, key, seconds))

    async def pttl(self, key: str) -> int:
        """Return the TTL of ``key`` in ms (-1 no TTL, -2 missing)."""
        return int(await self._call(self._client.pttl, key))

    async def hset(self, key: str, mapping: Mapping[str, Field]) -> int:
        """Set hash fields and return how many were new."""
        return int(await self._call(self._client.hset, key, mapping=dict(mapping)))

    async def hgetall(self, key: str) -> dict[str, str]:
        """Return all fields of hash ``key``."""
        return dict(await self._call(self._client.hgetall, key))

    async def eval(self, script: str, keys: Sequence[str] = (), args: Sequence[Field] = ()) -> Any:
        """Run a Lua ``script`` (by SHA after the first call; reloaded after a server restart)."""
        sha = self._script_shas.get(script)
        if sha is not None:
            try:
                return await self._call(self._client.evalsha, sha, len(keys), *keys, *args)
            except NoScriptError:
                pass
        self._script_shas[script] = await self._call(self._client.script_load, script)
        return await self._call(self._client.eval, script, len(keys), *keys, *args)

    async def xadd(
        self, stream: str, fields: Mapping[str, Field], *, entry_id: str = "*", maxlen: int | None = None
    ) -> str:
        """Append an entry to ``stream`` (approximately trimmed to ``maxlen``) and return its id."""
        return str(
            await self._call(
                self._client.xadd, stream, dict(fields), id=entry_id, maxlen=maxlen, approximate=True
            )
        )

    async def xrange(
        self, stream: str, start: str = "-", end: str = "+", count: int | None = None
    ) -> list[StreamEntry]:
        """Return entries of ``stream`` between ids ``start`` and ``end`` inclusive."""
        rows = await self._call(self._client.xrange, stream, min=start, max=end, count=count)
        return [(str(entry_id), dict(fields)) for entry_id, fields in rows]

    async def xread(
        self, streams: Mapping[str, str], *, count: int | None = None, block_ms: int | None = None
    ) -> list[tuple[str, list[StreamEntry]]]:
        """Read entries after the given ids from several streams (blocking up to ``block_ms``)."""
        rows = await self._call(self._client.xread, dict(streams), count=count, block=block_ms)
        return [(str(name), [(str(i), dict(f)) for i, f in entries]) for name, entries in rows or []]

    async def publish(self, channel: str, message: Field) -> int:
        """Publish ``message`` on ``channel`` and return the number of receivers."""
        return int(await self._call(self._client.publish, channel, message))

    async def flushdb(self) -> None:
        """Delete every key of the selected db (tests and dev tooling only)."""
        await self._call(self._client.flushdb)


@asynccontextmanager
async def connect_redis(
    bridge: AioBridge, url: str, *, socket_timeout: float = 5.0
) -> AsyncIterator[RedisClient]:
    """Create the client (connections open lazily) and close it on exit."""

    async def create() -> aioredis.Redis:
        return aioredis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            health_check_interval=30,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 3),  # the asyncio Retry, as the client wants
            retry_on_error=[RedisConnectionError, RedisTimeoutError, ConnectionResetError],
        )

    client = await bridge.run(create)
    try:
        yield RedisClient(bridge, client)
    finally:
        await bridge.run(client.aclose)
