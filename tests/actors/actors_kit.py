"""Test kit of the actors room: a synthetic uptrend market and an in-trio pump for the behaviours.

``Pump`` runs the three behaviours in the trio thread with one FIFO mailbox each and a real work queue whose
jobs run against real PostgreSQL; nothing is mocked: storage, strategy and book code are the real ones.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import trio

from actors import (
    ROOT,
    CheckSignal,
    PipelineConfig,
    RefResolver,
    SignalAllowed,
    SymbolDeps,
    SymbolRouter,
    TradingInputs,
    TrioWorkPort,
    feed_path,
    symbols_spec,
)
from exchange.bybit import BookSnapshot, KlineUpdate, TickerUpdate
from storage import ServerUrls, StorageConfig, open_storage
from strategy_core import ConfirmedCandle, InstrumentRules
from supervision import (
    ActorUnavailable,
    SupervisionTree,
    SupervisorSpec,
    TrioBridge,
    TrioWorkQueue,
    UnknownPath,
)
from tests.support import eventually_async

BAR_MS = 300_000
T0_MS = 1_767_225_600_000  # 2026-01-01T00:00Z, a 15m boundary
ONE_R = Decimal(25)  # 1R in USD: the default of risk.risk_per_trade_usd
INSTRUMENT = InstrumentRules(tick_size=Decimal("0.01"), qty_step=Decimal("0.001"), min_qty=Decimal("0.001"))


def price(i: int) -> Decimal:
    """Close of bar ``i`` of a steady uptrend (every bar closes above VWAP + θσ once warmed up)."""
    return Decimal(100) + Decimal("0.05") * i


def bar_events(symbol: str, i: int, *, u: int) -> list[object]:
    """Return the book snapshot, ticker and closing kline of bar ``i`` (in arrival order)."""
    start = T0_MS + i * BAR_MS
    close = price(i)
    open_ = close - Decimal("0.05")
    ts = start + BAR_MS + 100
    bid = close - Decimal("0.01")
    bids = tuple((bid - Decimal("0.01") * k, Decimal(5)) for k in range(20))
    asks = tuple((close + Decimal("0.01") * k, Decimal(2)) for k in range(20))
    return [
        BookSnapshot(symbol, bids, asks, u, u, ts - 50, None),
        TickerUpdate(
            symbol,
            close,
            close,
            close,
            bid,
            Decimal(5),
            close,
            Decimal(2),
            Decimal("0.0001"),
            ts + 4 * 3_600_000,
            ts - 60,
            True,
        ),
        KlineUpdate(
            symbol,
            "5",
            start,
            start + BAR_MS - 1,
            open_,
            close + Decimal("0.02"),
            open_ - Decimal("0.02"),
            close,
            Decimal(10),
            Decimal(10) * close,
            True,
            ts,
        ),
    ]


def bar_start(i: int) -> dt.datetime:
    """Return the start of bar ``i``."""
    return dt.datetime.fromtimestamp((T0_MS + i * BAR_MS) / 1000, tz=dt.UTC)


@asynccontextmanager
async def open_test_storage(db_url: str, redis_url: str) -> AsyncIterator[Any]:
    """Open the real storage on the test's database and Redis."""
    async with open_storage(
        StorageConfig(pool_min_size=1, pool_max_size=5), ServerUrls(db_url, redis_url)
    ) as s:
        yield s


class AllowingRiskGate:
    """Test double of the ``RiskGate`` port: answers every ``CheckSignal`` with ``SignalAllowed``.

    The behaviour tests exercise the pipeline without risk limits; the RiskActor has its own tests
    (tests/risk), and the engine always runs the real one.
    """

    def __init__(self) -> None:
        self.checked = 0

    def tell(self, message: object) -> None:
        if isinstance(message, CheckSignal):
            self.checked += 1
            message.reply_to.tell(SignalAllowed(signal_id=message.signal.id))


@dataclass
class Mailbox:
    """A FIFO mailbox in front of a behaviour (``tell`` appends; the pump delivers)."""

    queue: deque[object] = field(default_factory=deque)
    target: Any = None

    def tell(self, message: object) -> None:
        self.queue.append(message)


class PumpQueue:
    """A ``WorkQueue`` whose jobs the pump awaits in the trio thread; results are told as messages."""

    def __init__(self) -> None:
        self.jobs: deque[tuple[Callable[[], Any], Any, Callable[[Exception], object]]] = deque()
        self.submitted = 0

    def submit(self, job: Callable[[], Any], reply_to: Any, on_error: Callable[[Exception], object]) -> None:
        self.submitted += 1
        self.jobs.append((job, reply_to, on_error))


class Collector:
    """A ``SignalPublisher`` that keeps what it got."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def publish(self, event: object) -> None:
        self.events.append(event)


async def pump(queue: PumpQueue, *boxes: Mailbox) -> None:
    """Deliver every message and run every job until everything is quiet."""
    while True:
        progressed = False
        for box in boxes:
            while box.queue:
                box.target.handle(box.queue.popleft())
                progressed = True
        while queue.jobs:
            job, reply_to, on_error = queue.jobs.popleft()
            try:
                result = await job()
            except Exception as exc:
                result = on_error(exc)
            if result is not None:
                reply_to.tell(result)
            progressed = True
        if not progressed:
            return


class _NoSnapshots:
    """A ``SnapshotSource`` without REST: the synthetic market sends a book snapshot with every bar."""

    async def fetch_snapshot(self, symbol: str) -> object:
        raise ConnectionError(f"no REST snapshot source in this test for {symbol}")


class KitHistory:
    """A ``BarHistory`` serving the synthetic market's bars (what the venue's REST would return)."""

    async def fetch_bars(self, symbol: str, first_ms: int, last_ms: int) -> list[ConfirmedCandle]:
        candles = []
        for start in range(first_ms, last_ms + BAR_MS, BAR_MS):
            kline = bar_events(symbol, (start - T0_MS) // BAR_MS, u=1)[-1]
            assert isinstance(kline, KlineUpdate)
            candles.append(
                ConfirmedCandle.model_validate(
                    {
                        "symbol": symbol,
                        "start": dt.datetime.fromtimestamp(start / 1000, tz=dt.UTC),
                        "end": dt.datetime.fromtimestamp((start + BAR_MS) / 1000, tz=dt.UTC),
                        "open": kline.open,
                        "high": kline.high,
                        "low": kline.low,
                        "close": kline.close,
                        "volume": kline.volume,
                        "turnover": kline.turnover,
                    }
                )
            )
        return candles


class ThreadSafeCollector:
    """A ``SignalPublisher`` called from actor threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[Any] = []

    def publish(self, event: object) -> None:
        with self._lock:
            self._events.append(event)

    @property
    def events(self) -> list[Any]:
        with self._lock:
            return list(self._events)


@dataclass
class Rig:
    """A running supervision tree with symbol trees over real storage and the real trio work queue."""

    tree: SupervisionTree
    router: SymbolRouter
    storage: Any
    published: ThreadSafeCollector
    queue: TrioWorkQueue
    deps: SymbolDeps

    async def count(self, sql: str, *args: object) -> int:
        return int(await self.storage.db.fetchval(sql, *args))

    def send_bars(self, symbol: str, first: int, last: int) -> None:
        for i in range(first, last):
            for event in bar_events(symbol, i, u=i + 1):
                self.router.publish(event)


@asynccontextmanager
async def running_pipeline(db_url: str, redis_url: str, symbols: list[str]) -> AsyncIterator[Rig]:
    """Start root → symbols → <SYM>/signal|indicator|feed with the allow-all gate; stop it afterwards."""
    async with open_test_storage(db_url, redis_url) as storage, trio.open_nursery() as nursery:
        queue = TrioWorkQueue(maxsize=10_000, concurrency=8)
        await nursery.start(queue.run)
        resolver = RefResolver()
        published = ThreadSafeCollector()
        deps = SymbolDeps(
            resolve=resolver,
            work=TrioWorkPort(queue),
            store=storage.market(),
            snapshots=_NoSnapshots(),
            publisher=published,
            risk=AllowingRiskGate(),
            history=KitHistory(),  # a restarted feed repairs a bar its predecessor stored late (D-02)
        )
        inputs = TradingInputs(risk_per_trade_usd=ONE_R, instruments=dict.fromkeys(symbols, INSTRUMENT))
        spec = symbols_spec(symbols, PipelineConfig(), inputs, deps)
        tree = SupervisionTree.start(SupervisorSpec(ROOT, children=(spec,)))
        resolver.bind(tree.ref)
        bridge = TrioBridge()
        try:
            await eventually_async(tree.settled, timeout=10)
            router = SymbolRouter(
                lambda s: tree.ref(feed_path(s)),
                lambda e: isinstance(e, ActorUnavailable | UnknownPath),
            )
            for symbol in symbols:
                router.add(symbol)
            yield Rig(tree=tree, router=router, storage=storage, published=published, queue=queue, deps=deps)
        finally:
            await bridge.stop_tree(tree, timeout=30)
            nursery.cancel_scope.cancel()
