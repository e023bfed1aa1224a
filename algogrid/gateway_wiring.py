"""Adapters between the gateway's ports and the real rooms, and ``serve_gateway`` (composition root).

The gateway talks only to ``gateway.ports``; this module is where those Protocols meet the rooms:

* ``StorageSignalReader`` — ``SignalReader`` over ``storage.signals`` (asyncpg through trio-asyncio);
* ``RedisStreamCommands`` — ``StreamCommands`` over ``storage.redis`` (the SSE event log's XADD/XRANGE);
* ``SupervisionEngineView`` — ``EngineView`` over the live ``SupervisionTree``: the tree snapshot, fault
  injection by path (``tree.faults``), feed asks through the ``TrioBridge`` (``GetFeedStatus`` to
  ``root/symbols/<SYM>/feed``), with supervision errors translated to the gateway's at this one boundary, and
  the engine's market clock (``Engine.market_clock``: the simulator's accelerated time in simulation);
* ``serve_gateway`` — builds the three and runs ``gateway.serve`` with the PostgreSQL and Redis probes.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

import structlog
import trio

import actors
from actors import GetFeedStatus, feed_path
from gateway import (
    EngineTimeoutError,
    EngineUnavailableError,
    FaultRejectedError,
    FaultRequest,
    FeedStatus,
    GatewayHandle,
    MarketTime,
    ReadinessProbe,
    RouteOptions,
    SignalFeed,
    SignalQuery,
    SignalView,
    UnknownActorPathError,
    serve,
)
from storage import SignalFilters, Storage, StorageError, StoredSignal
from storage.redis_client import RedisClient
from storage.signals import SignalRepository
from supervision import (
    ActorUnavailable,
    AskTimeout,
    Clock,
    RealClock,
    SupervisionError,
    SupervisionTree,
    TrioBridge,
    UnknownPath,
)

__all__ = [
    "EngineCheck",
    "RedisStreamCommands",
    "StorageSignalReader",
    "SupervisionEngineView",
    "serve_gateway",
    "signal_view_of",
]

log = structlog.get_logger(__name__)

EngineCheck = Callable[[], str | None]
"""A synchronous readiness check of the engine: None when ready, else the reason (must not block)."""


# ------------------------------------------------------------------------------------------------ signals


def signal_view_of(stored: StoredSignal) -> SignalView:
    """Return the HTTP view of a stored signal (``p_win`` becomes ``probability``)."""
    return SignalView.model_validate(stored, from_attributes=True)


class StorageSignalReader:
    """``gateway.SignalReader`` over ``storage.signals`` (newest first, G-01)."""

    def __init__(self, signals: SignalRepository) -> None:
        self._signals = signals

    @classmethod
    def of(cls, storage: Storage) -> StorageSignalReader:
        """Return a reader over ``storage.signals``."""
        return cls(storage.signals)

    async def list_signals(self, query: SignalQuery) -> list[SignalView]:
        """Return the page of signals matching ``query``."""
        filters = SignalFilters(
            symbol=query.symbol,
            side=query.direction,
            min_probability=None if query.min_probability is None else Decimal(str(query.min_probability)),
        )
        rows = await self._signals.list(filters, limit=query.limit, offset=query.offset)
        return [signal_view_of(row) for row in rows]

    async def get_signal(self, signal_id: str) -> SignalView | None:
        """Return the signal with ``signal_id`` (a UUID) or None (also for ids that are not UUIDs)."""
        try:
            key = uuid.UUID(signal_id)
        except ValueError:
            return None
        row = await self._signals.get(key)
        return None if row is None else signal_view_of(row)


# ------------------------------------------------------------------------------------------------ redis


class RedisStreamCommands:
    """``gateway.StreamCommands`` over the storage room's trio-native Redis client."""

    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    async def xadd(
        self,
        name: str,
        fields: Mapping[str, str],
        *,
        maxlen: int | None = None,
        approximate: bool = True,
    ) -> str:
        """Append ``fields`` to stream ``name`` (always trimmed approximately) and return the entry id."""
        return await self._redis.xadd(name, fields, maxlen=maxlen)

    async def xrange(
        self, name: str, min: str = "-", max: str = "+", count: int | None = None
    ) -> list[tuple[str, dict[str, str]]]:
        """Return the entries of ``name`` with ids in [min, max] (``(`` prefix: exclusive)."""
        return await self._redis.xrange(name, start=min, end=max, count=count)


async def _require(check: Callable[[], Awaitable[bool]], what: str) -> None:
    if not await check():
        raise StorageError(f"{what} did not answer")


# ------------------------------------------------------------------------------------------------ engine


@runtime_checkable
class _Accelerated(Protocol):
    """A clock that runs faster than wall time (``algogrid.market_clock.SimMarketClock``)."""

    @property
    def speed(self) -> float:
        """Return market seconds per wall second."""
        ...


def _message_types() -> dict[str, type[Any]]:
    return {name: t for name in actors.__all__ if isinstance(t := getattr(actors, name, None), type)}


class SupervisionEngineView:
    """``gateway.EngineView`` over a running ``SupervisionTree`` (DESIGN §3, §4).

    Every method runs in the trio thread and never blocks it: the snapshot only takes the nodes' short
    locks, asks go through ``TrioBridge`` (a future callback wakes trio), faults only arm flags or enqueue.

    Args:
        tree: the running supervision tree.
        bridge: the trio bridge of this trio run.
        symbols: the traded symbols in display order, or a callable returning them (symbols added at run
            time).
        checks: extra engine readiness checks by name (e.g. ``exchange.public``); ``supervision`` (the
            root has not failed) is always included.
        message_types: names accepted by ``crash_on_next`` faults (default: every message type exported
            by ``actors``).
        market_clock: the engine's market clock (``Engine.market_clock``); its ``speed``, when it has one, is
            reported with it (default: wall time at speed 1, as in paper/live).
        wall_clock: the supervision tree's clock, the time base of feed ``last_event_at`` (default
            ``RealClock``, as the tree's).
    """

    def __init__(
        self,
        tree: SupervisionTree,
        bridge: TrioBridge,
        symbols: Sequence[str] | Callable[[], Sequence[str]],
        *,
        checks: Mapping[str, EngineCheck] | None = None,
        message_types: Mapping[str, type[Any]] | None = None,
        market_clock: Clock | None = None,
        wall_clock: Clock | None = None,
    ) -> None:
        self._tree = tree
        self._wall = wall_clock or RealClock()
        self._market = market_clock or self._wall
        self._bridge = bridge
        self._symbols = symbols
        self._checks = dict(checks or {})
        self._message_types = dict(message_types) if message_types is not None else _message_types()

    def symbols(self) -> Sequence[str]:
        """Return the traded symbols, in display order."""
        return list(self._symbols() if callable(self._symbols) else self._symbols)

    async def supervision_tree(self) -> Mapping[str, Any]:
        """Return the live tree snapshot (path, kind, status, restarts, last failure, …, children)."""
        return self._tree.snapshot()

    async def feed_status(self, symbol: str, timeout_s: float) -> FeedStatus:
        """Ask ``root/symbols/<symbol>/feed`` with ``GetFeedStatus``.

        Raises:
            UnknownActorPathError: ``symbol`` is not traded here.
            EngineUnavailableError: the feed actor is not running (crashed, restarting past the timeout is a
                timeout instead, removed) or failed while answering.
            EngineTimeoutError: no answer within ``timeout_s`` seconds.
        """
        if symbol not in self.symbols():
            raise UnknownActorPathError(f"expected a traded symbol, got {symbol!r}")
        path = feed_path(symbol)
        try:
            report = await self._bridge.ask(self._tree.ref(path), GetFeedStatus(), timeout=timeout_s)
        except UnknownPath as exc:
            raise EngineUnavailableError(f"the feed of {symbol} is not running (no actor at {path})") from exc
        except ActorUnavailable as exc:
            raise EngineUnavailableError(f"the feed of {symbol} is not available: {exc}") from exc
        except AskTimeout as exc:
            raise EngineTimeoutError(f"the feed of {symbol} did not answer within {timeout_s:g} s") from exc
        except SupervisionError as exc:  # e.g. an injected crash while answering
            raise EngineUnavailableError(f"the feed of {symbol} failed to answer: {exc}") from exc
        return FeedStatus(symbol=symbol, last_event_at=report.last_event_at)

    def market_time(self) -> MarketTime:
        """Return market now, wall now (read together) and the market clock's speed (1 without one)."""
        market = self._market
        speed = float(market.speed) if isinstance(market, _Accelerated) else 1.0
        return MarketTime(market_time=market.now(), wall_time=self._wall.now(), speed=speed)

    async def inject_fault(self, request: FaultRequest) -> None:
        """Fire or arm the fault of ``request`` at ``request.path`` through ``tree.faults``.

        Raises:
            UnknownActorPathError: no actor is registered at ``request.path``.
            FaultRejectedError: an unknown ``message_type`` for ``crash_on_next``.
        """
        try:
            self._tree.ref(request.path)
        except UnknownPath as exc:
            raise UnknownActorPathError(f"expected an actor at {request.path}, got none") from exc
        faults = self._tree.faults
        try:
            if request.kind == "crash":
                faults.crash_now(request.path)
            elif request.kind == "crash_on_next":
                faults.crash_on_next(request.path, self._message_type(request.message_type))
            elif request.kind == "fail_on_start":
                faults.fail_on_start(request.path, request.times)
            else:
                faults.delay_next(request.path, request.delay_s)
        except UnknownPath as exc:  # removed between the check and the fault
            raise UnknownActorPathError(f"expected an actor at {request.path}, got none") from exc
        except (ActorUnavailable, ValueError) as exc:
            raise FaultRejectedError(f"the fault at {request.path} was refused: {exc}") from exc

    def _message_type(self, name: str | None) -> type[Any] | None:
        if name is None:
            return None
        found = self._message_types.get(name)
        if found is None:
            raise FaultRejectedError(f"expected a known message type, got {name!r}")
        return found

    async def readiness(self) -> Mapping[str, str | None]:
        """Return ``supervision`` (None unless the root failed) and the extra checks."""
        failure = self._tree.failure
        results: dict[str, str | None] = {
            "supervision": None if failure is None else f"root failed: {failure.type}: {failure.message}"
        }
        for name, check in self._checks.items():
            results[name] = check()
        return results


# ------------------------------------------------------------------------------------------------ serve


async def serve_gateway(
    settings: Any,
    storage: Storage,
    tree: SupervisionTree,
    bridge: TrioBridge,
    feed: SignalFeed,
    *,
    checks: Mapping[str, EngineCheck] | None = None,
    market_clock: Clock | None = None,
    options: RouteOptions | None = None,
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
    graceful_timeout_s: float = 30.0,
    task_status: trio.TaskStatus[GatewayHandle] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the gateway over the real rooms until ``shutdown_trigger`` returns (or until cancelled).

    Args:
        settings: ``algogrid.settings.Settings`` (reads ``gateway``, ``symbols``, ``dev.fault_injection``).
        storage: an open ``storage.Storage`` (PostgreSQL reads, Redis Stream event log, probes).
        tree: the running supervision tree; ``bridge`` its trio bridge.
        feed: the ``SignalFeed`` the engine was given as its ``SignalPublisher``.
        checks: extra engine readiness checks (e.g. the exchange session), see ``SupervisionEngineView``.
        market_clock: the engine's market clock (``Engine.market_clock``), served at ``GET /time`` and in
            every SSE heartbeat; default wall time (paper/live).
        options: route tunables; default: production values with ``dev.fault_injection`` from settings.
    """
    engine = SupervisionEngineView(
        tree, bridge, tuple(settings.symbols), checks=checks, market_clock=market_clock
    )
    opts = options or RouteOptions(fault_injection=bool(settings.dev.fault_injection))
    probes: dict[str, ReadinessProbe] = {
        "postgres": lambda: _require(storage.db.ping, "PostgreSQL"),
        "redis": lambda: _require(storage.redis.ping, "Redis"),
    }
    log.info("gateway wiring", symbols=len(settings.symbols), fault_injection=opts.fault_injection)
    await serve(
        settings.gateway,
        engine,
        StorageSignalReader.of(storage),
        RedisStreamCommands(storage.redis),
        feed,
        options=opts,
        probes=probes,
        shutdown_trigger=shutdown_trigger,
        graceful_timeout_s=graceful_timeout_s,
        task_status=task_status,
    )
