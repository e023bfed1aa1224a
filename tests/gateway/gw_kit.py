"""Real parts for the gateway tests: a small pykka engine, Redis Streams and the PostgreSQL ``signals`` table.

``MiniEngine`` is a real actor system (one pykka ``ThreadingActor`` per symbol feed, restarted by the engine
when it crashes, asked through a non-blocking trio bridge) that implements ``gateway.EngineView``. It stands
in for the actors room's engine in these tests; nothing here is a mock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

import psycopg2
import psycopg2.extras
import psycopg2.pool
import pykka
import redis
import trio

from gateway import (
    EngineTimeoutError,
    EngineUnavailableError,
    FaultRejectedError,
    FaultRequest,
    FeedStatus,
    GatewayHandle,
    SignalFeed,
    SignalQuery,
    SignalView,
    UnknownActorPathError,
)


# ----------------------------------------------------------------------------------------------- engine
@dataclass(frozen=True)
class FeedQuery:
    reply: Callable[[FeedStatus], None]


@dataclass(frozen=True)
class Tick:
    at: dt.datetime


@dataclass(frozen=True)
class Crash:
    pass


@dataclass
class FeedNode:
    """Ops state of one feed actor, kept by the engine across restarts (what the tree shows)."""

    symbol: str
    permanent: bool
    ref: pykka.ActorRef[Any] | None = None
    status: str = "starting"
    restarts: int = 0
    recent_restarts: list[str] = field(default_factory=list)
    last_failure: dict[str, str] | None = None
    started_at: float = 0.0
    handled: int = 0
    last_event_at: dt.datetime | None = None
    crash_next: bool = False
    delay_s: float = 0.0
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def path(self) -> str:
        return f"root/symbols/{self.symbol}/feed"


class FeedActor(pykka.ThreadingActor):
    def __init__(self, node: FeedNode, on_crash: Callable[[FeedNode, BaseException | None], None]) -> None:
        super().__init__()
        self.node = node
        self.on_crash = on_crash

    def on_receive(self, message: Any) -> Any:
        node = self.node
        node.handled += 1
        if isinstance(message, Crash) or node.crash_next:
            node.crash_next = False
            raise RuntimeError("injected crash")
        if node.delay_s:
            delay, node.delay_s = node.delay_s, 0.0
            node.release.wait(delay)  # a slow actor (delay_next); released early at shutdown
        if isinstance(message, Tick):
            node.last_event_at = message.at
        elif isinstance(message, FeedQuery):
            message.reply(FeedStatus(symbol=node.symbol, last_event_at=node.last_event_at))
        return None

    def on_failure(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        self.on_crash(self.node, exception_value)


class MiniEngine:
    """A real, small actor engine implementing ``gateway.EngineView``."""

    def __init__(self, symbols: Sequence[str], temporary: Sequence[str] = ()) -> None:
        self._nodes = {s: FeedNode(symbol=s, permanent=s not in temporary) for s in symbols}
        self._lock = threading.Lock()
        self.exchange_reason: str | None = None
        self.tree_delay_s = 0.0
        self.started = time.monotonic()
        for node in self._nodes.values():
            self._start(node)

    def _start(self, node: FeedNode) -> None:
        node.ref = FeedActor.start(node, self._crashed)
        node.status = "running"
        node.started_at = time.monotonic()

    def _crashed(self, node: FeedNode, exc: BaseException | None) -> None:
        # Runs in the dying actor's thread (pykka on_failure): restart permanent children at once.
        with self._lock:
            node.last_failure = {
                "type": type(exc).__name__,
                "message": str(exc),
                "at": dt.datetime.now(dt.UTC).isoformat(),
            }
            if not node.permanent:
                node.status = "failed"
                return
            node.status = "restarting"
            node.restarts += 1
            node.recent_restarts = [*node.recent_restarts[-9:], dt.datetime.now(dt.UTC).isoformat()]
            self._start(node)

    def node(self, symbol: str) -> FeedNode:
        return self._nodes[symbol]

    def tick(self, symbol: str, at: dt.datetime | None = None) -> None:
        ref = self._nodes[symbol].ref
        assert ref is not None
        ref.tell(Tick(at or dt.datetime.now(dt.UTC)))

    def stop(self) -> None:
        for node in self._nodes.values():
            node.release.set()
            if node.ref is not None and node.ref.is_alive():
                node.ref.stop()

    # -- EngineView ---------------------------------------------------------------------------------------
    def symbols(self) -> Sequence[str]:
        return list(self._nodes)

    async def supervision_tree(self) -> Mapping[str, Any]:
        if self.tree_delay_s:
            await trio.sleep(self.tree_delay_s)
        now = time.monotonic()
        with self._lock:
            symbol_nodes = [
                {
                    "path": f"root/symbols/{n.symbol}",
                    "kind": "SymbolSupervisor",
                    "status": "running",
                    "restarts": 0,
                    "recent_restarts": [],
                    "last_failure": None,
                    "uptime_s": round(now - self.started, 3),
                    "mailbox": 0,
                    "handled": 0,
                    "children": [
                        {
                            "path": n.path,
                            "kind": "FeedActor",
                            "status": n.status,
                            "restarts": n.restarts,
                            "recent_restarts": list(n.recent_restarts),
                            "last_failure": n.last_failure,
                            "uptime_s": round(now - n.started_at, 3) if n.status == "running" else None,
                            "mailbox": 0,
                            "handled": n.handled,
                            "children": [],
                        }
                    ],
                }
                for n in self._nodes.values()
            ]
        return {
            "path": "root",
            "kind": "RootSupervisor",
            "status": "running",
            "restarts": 0,
            "recent_restarts": [],
            "last_failure": None,
            "uptime_s": round(now - self.started, 3),
            "mailbox": 0,
            "handled": 0,
            "children": symbol_nodes,
        }

    async def feed_status(self, symbol: str, timeout_s: float) -> FeedStatus:
        node = self._nodes.get(symbol)
        if node is None or node.ref is None:
            raise UnknownActorPathError(f"no feed actor for {symbol!r}")
        token = trio.lowlevel.current_trio_token()
        box: list[FeedStatus] = []
        done = trio.Event()

        def wake(value: FeedStatus) -> None:
            box.append(value)
            done.set()

        def deliver(value: FeedStatus) -> None:  # actor thread → trio, never blocking
            with contextlib.suppress(trio.RunFinishedError):
                token.run_sync_soon(wake, value)

        try:
            node.ref.tell(FeedQuery(reply=deliver))
        except pykka.ActorDeadError as exc:
            raise EngineUnavailableError(f"feed actor of {symbol} is {node.status}") from exc
        with trio.move_on_after(timeout_s):
            await done.wait()
            return box[0]
        raise EngineTimeoutError(f"feed actor of {symbol} did not answer within {timeout_s:g} s")

    async def inject_fault(self, request: FaultRequest) -> None:
        node = next((n for n in self._nodes.values() if n.path == request.path), None)
        if node is None or node.ref is None:
            raise UnknownActorPathError(f"no actor at {request.path!r}")
        if request.kind == "crash":
            try:
                node.ref.tell(Crash())
            except pykka.ActorDeadError as exc:
                raise FaultRejectedError(f"actor at {request.path} is not running") from exc
        elif request.kind == "crash_on_next":
            node.crash_next = True
        elif request.kind == "delay_next":
            node.delay_s = request.delay_s
        else:
            raise FaultRejectedError(f"fault kind {request.kind!r} is not supported by {request.path}")

    async def readiness(self) -> Mapping[str, str | None]:
        return {"exchange.public": self.exchange_reason}


# ----------------------------------------------------------------------------------------------- redis
class ThreadedRedisStreams:
    """``gateway.StreamCommands`` over redis-py, each call in a worker thread (never blocks trio)."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url, decode_responses=True)

    async def xadd(
        self, name: str, fields: Mapping[str, str], *, maxlen: int | None = None, approximate: bool = True
    ) -> str:
        call = partial(self.client.xadd, name, dict(fields), maxlen=maxlen, approximate=approximate)
        return str(await trio.to_thread.run_sync(call))

    async def xrange(
        self, name: str, min: str = "-", max: str = "+", count: int | None = None
    ) -> list[tuple[str, dict[str, str]]]:
        call = partial(self.client.xrange, name, min=min, max=max, count=count)
        return list(await trio.to_thread.run_sync(call))

    async def ping(self) -> None:
        await trio.to_thread.run_sync(self.client.ping)

    def close(self) -> None:
        self.client.close()


# ----------------------------------------------------------------------------------------------- postgres
_COLUMNS = (
    "id, symbol, side, entry, tp1, tp2, tp3, sl, risk_r, p_win, strategy, strategy_version, status,"
    " queued_until, created_at"
)


class PgSignals:
    """``gateway.SignalReader`` (and a writer for test data) on the migrated ``signals`` table."""

    def __init__(self, url: str) -> None:
        self.pool = psycopg2.pool.ThreadedConnectionPool(1, 64, url)  # > trio.to_thread default limit (40)

    def _run(self, sql: str, args: Sequence[Any]) -> list[dict[str, Any]]:
        conn = self.pool.getconn()
        try:
            with conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                cur.execute(sql, args)
                return [dict(r) for r in cur.fetchall()] if cur.description else []
        finally:
            self.pool.putconn(conn)

    def insert(self, view: SignalView, bar_time: dt.datetime | None = None) -> None:
        self._run(
            "INSERT INTO signals (id, symbol, side, entry, tp1, tp2, tp3, sl, qty, risk_usd, risk_r, p_win,"
            " strategy, strategy_version, status, queued_until, bar_start, created_at)"
            " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
            (
                view.id,
                view.symbol,
                view.side,
                view.entry,
                view.tp1,
                view.tp2,
                view.tp3,
                view.sl,
                Decimal("0.01"),
                Decimal(25),
                view.risk_r or Decimal(1),
                Decimal(str(view.probability)),
                view.strategy,
                view.strategy_version or "1",
                view.status,
                view.queued_until,
                bar_time or view.created_at,
                view.created_at,
            ),
        )

    async def list_signals(self, query: SignalQuery) -> list[SignalView]:
        where, args = ["TRUE"], []
        if query.symbol:
            where.append("symbol = %s")
            args.append(query.symbol)
        if query.direction:
            where.append("side = %s")
            args.append(query.direction)
        if query.min_probability is not None:
            where.append("p_win >= %s")
            args.append(Decimal(str(query.min_probability)))
        sql = (
            f"SELECT {_COLUMNS} FROM signals WHERE {' AND '.join(where)}"
            " ORDER BY created_at DESC, id LIMIT %s OFFSET %s"
        )
        rows = await trio.to_thread.run_sync(self._run, sql, [*args, query.limit, query.offset])
        return [SignalView.model_validate(r) for r in rows]

    async def get_signal(self, signal_id: str) -> SignalView | None:
        try:
            uuid.UUID(signal_id)
        except ValueError:
            return None
        rows = await trio.to_thread.run_sync(
            self._run, f"SELECT {_COLUMNS} FROM signals WHERE id = %s", [signal_id]
        )
        return SignalView.model_validate(rows[0]) if rows else None

    async def ping(self) -> None:
        await trio.to_thread.run_sync(self._run, "SELECT 1", [])

    def close(self) -> None:
        self.pool.closeall()


_counter = itertools.count(1)


def make_signal(
    symbol: str = "BTCUSDT", side: str = "long", probability: float = 0.62, at: dt.datetime | None = None
) -> SignalView:
    """Return a valid signal with consistent levels (S-03)."""
    base = Decimal(65000) + next(_counter)
    step = Decimal("250.5")
    sign = 1 if side == "long" else -1
    return SignalView.model_validate(
        {
            "id": str(uuid.uuid4()),
            "symbol": symbol,
            "side": side,
            "entry": base,
            "tp1": base + sign * step,
            "tp2": base + sign * 2 * step,
            "tp3": base + sign * 3 * step,
            "sl": base - sign * step,
            "risk_r": Decimal(1),
            "probability": probability,
            "strategy": "avi5",
            "strategy_version": "1",
            "created_at": at or dt.datetime.now(dt.UTC),
        }
    )


@dataclass
class Stack:
    """A running gateway and the real parts behind it."""

    url: str
    handle: GatewayHandle
    engine: MiniEngine
    signals: PgSignals
    streams: ThreadedRedisStreams
    feed: SignalFeed
    stop: trio.Event
    done: trio.Event = field(default_factory=trio.Event)


@dataclass(frozen=True)
class SseMessage:
    id: str | None
    event: str
    data: str


async def read_sse(lines: Any, n: int, names: Sequence[str] = ("signal",)) -> list[SseMessage]:
    """Read SSE frames from an ``aiter_lines()`` iterator until ``n`` frames named in ``names`` arrived."""
    found: list[SseMessage] = []
    fields: dict[str, str] = {}
    async for line in lines:
        if line == "":
            if "event" in fields or "data" in fields:
                message = SseMessage(fields.get("id"), fields.get("event", "message"), fields.get("data", ""))
                if message.event in names:
                    found.append(message)
                    if len(found) == n:
                        return found
            fields = {}
            continue
        if line.startswith(":"):
            continue
        key, _, value = line.partition(":")
        fields[key] = value[1:] if value.startswith(" ") else value
    return found


@dataclass(frozen=True)
class ListenAt:
    host: str = "127.0.0.1"
    port: int = 0
    allowed_origins: tuple[str, ...] = ()
    ip_rate_limit_per_min: int = 0
