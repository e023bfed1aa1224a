"""PostgreSQL access from trio: an asyncpg pool (min 5 / max 20, T-04) behind a trio-callable facade.

asyncpg prepares and caches every parameterised statement per connection, so repositories get prepared
statements by passing arguments (``$1``) rather than formatting SQL. ``numeric`` round-trips as ``Decimal``;
``json``/``jsonb`` as Python values.

Reconnection: when the server restarts, asyncpg notices closed idle connections and the pool opens new ones on
the next acquire; a call that hits a dead connection raises :class:`StorageUnavailableError` and expires the
pool's other connections, so the next call reconnects. Writes are never retried here (the caller decides).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any, TypeVar

import asyncpg
import structlog
import trio

from storage.aio import AioBridge
from storage.errors import (
    IntegrityViolationError,
    StatementRejectedError,
    StorageError,
    StorageUnavailableError,
)
from storage.query_labels import QueryObserver, query_label

__all__ = ["Connection", "Database", "connect_database"]

log = structlog.get_logger(__name__)

T = TypeVar("T")

_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.InterfaceError,
    # a connection whose server vanished mid-protocol (e.g. FATAL 57P01 read while idle) ends up here
    asyncpg.exceptions.InternalClientError,
)


def _json_default(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)  # exact: never through float
    raise TypeError(f"expected a JSON-serialisable value, got {type(value).__name__}")


def _dumps(value: object) -> str:
    return json.dumps(value, default=_json_default, separators=(",", ":"))


async def _init_connection(connection: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await connection.set_type_codec(name, encoder=_dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Return a connection to the pool without asyncpg's default session reset query.

    asyncpg rolls back an open transaction before calling this hook either way. The default reset adds a
    round trip per use (``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``) for session state this
    project never creates: no advisory locks, no LISTEN, no session ``SET``, no cursors outside transactions.
    Skipping it halves the round trips of a single-statement call.
    """


def _translate(exc: BaseException) -> StorageError | None:
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        constraint = getattr(exc, "constraint_name", None)
        return IntegrityViolationError(f"constraint {constraint or '?'} refused the row: {exc}", constraint)
    if isinstance(exc, _UNAVAILABLE):
        return StorageUnavailableError(f"PostgreSQL unavailable: {type(exc).__name__}: {exc}")
    if isinstance(exc, asyncpg.PostgresError):
        return StatementRejectedError(f"PostgreSQL refused the statement: {type(exc).__name__}: {exc}")
    return None


class _Queries:
    """The five query methods, shared by the pool facade and a transaction's connection."""

    def __init__(
        self,
        bridge: AioBridge,
        target: asyncpg.Pool | asyncpg.Connection,
        observe: QueryObserver | None = None,
    ) -> None:
        self._bridge = bridge
        self._target = target
        self._observe = observe

    async def _call(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        try:
            return await self._bridge.run(fn, *args)
        except Exception as exc:
            translated = _translate(exc)
            if translated is None:
                raise
            await self._on_unavailable(translated)
            raise translated from exc

    async def _query(self, fn: Callable[..., Awaitable[T]], query: str, *args: Any) -> T:
        """Run one statement, its duration observed under the statement's label (failed ones too)."""
        observe = self._observe
        if observe is None:
            return await self._call(fn, query, *args)
        started = time.perf_counter()
        try:
            return await self._call(fn, query, *args)
        finally:
            observe(query_label(query), (time.perf_counter() - started) * 1000.0)

    async def _on_unavailable(self, error: StorageError) -> None:
        """Hook run before a translated error is raised."""

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        """Run ``query`` and return all rows."""
        return await self._query(self._target.fetch, query, *args)

    async def fetchrow(self, query: str, *args: object) -> asyncpg.Record | None:
        """Run ``query`` and return the first row, or None."""
        return await self._query(self._target.fetchrow, query, *args)

    async def fetchval(self, query: str, *args: object) -> Any:
        """Run ``query`` and return the first column of the first row, or None."""
        return await self._query(self._target.fetchval, query, *args)

    async def execute(self, query: str, *args: object) -> str:
        """Run ``query`` and return its status tag (e.g. ``"UPDATE 1"``)."""
        return await self._query(self._target.execute, query, *args)

    async def executemany(self, query: str, args: Iterable[Sequence[object]]) -> None:
        """Run ``query`` once per argument tuple (in one transaction)."""
        await self._query(self._target.executemany, query, list(args))


class Connection(_Queries):
    """One pooled connection inside a transaction; valid only inside ``Database.transaction()``."""


class Database(_Queries):
    """The pool facade; every method is awaited from trio."""

    def __init__(self, bridge: AioBridge, pool: asyncpg.Pool) -> None:
        super().__init__(bridge, pool)
        self._pool = pool

    def instrument(self, observe: QueryObserver | None) -> None:
        """Time every later statement (transactions' too) with ``observe``; ``None`` stops timing."""
        self._observe = observe

    async def _on_unavailable(self, error: StorageError) -> None:
        # one dead connection usually means all idle ones are dead: make the pool reconnect them
        if isinstance(error, StorageUnavailableError):
            try:
                await self._bridge.run(self._pool.expire_connections)
            except Exception:  # best effort: the failure being reported matters more than this one
                log.warning("pool expire failed", exc_info=True)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """Yield a connection inside a transaction: committed on exit, rolled back on any exception.

        Use it for ``SELECT … FOR UPDATE`` serialisation of position updates (T-04).
        """

        async def acquire() -> Any:
            return await self._pool.acquire()

        raw: asyncpg.Connection = await self._call(acquire)
        try:
            tx = raw.transaction()
            await self._call(tx.start)
            try:
                yield Connection(self._bridge, raw, self._observe)
            except BaseException:
                if not raw.is_closed():
                    with trio.CancelScope(shield=True), contextlib.suppress(StorageError):
                        await self._call(tx.rollback)  # the original error matters more
                raise
            else:
                await self._call(tx.commit)
        finally:
            with trio.CancelScope(shield=True):
                await self._bridge.run(self._pool.release, raw)

    async def ping(self) -> bool:
        """Return True when ``SELECT 1`` succeeds (the T-04 health check), False when the server is down."""
        try:
            return bool(await self.fetchval("SELECT 1") == 1)
        except StorageUnavailableError:
            return False

    @property
    def size(self) -> int:
        """Return the number of connections the pool currently holds."""
        return int(self._pool.get_size())


@asynccontextmanager
async def connect_database(
    bridge: AioBridge,
    url: str,
    *,
    min_size: int = 5,
    max_size: int = 20,
    command_timeout: float = 10.0,
    connect_timeout: float = 5.0,
) -> AsyncIterator[Database]:
    """Open the pool (``min_size`` connections up front) and close it on exit."""

    async def create() -> asyncpg.Pool:
        return await asyncpg.create_pool(
            url,
            min_size=min_size,
            max_size=max_size,
            command_timeout=command_timeout,
            timeout=connect_timeout,
            init=_init_connection,
            reset=_keep_session,
        )

    try:
        pool = await bridge.run(create)
    except Exception as exc:
        translated = _translate(exc)
        if translated is None:
            raise
        raise translated from exc
    try:
        yield Database(bridge, pool)
    finally:
        await bridge.run(pool.close)
