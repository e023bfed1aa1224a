"""Real parts for the gateway tests: the real supervision tree, real storage, the real gateway wiring.

``open_stack`` runs ``algogrid.gateway_wiring.serve_gateway`` on a free port over the production engine view
(``algogrid.engine_view.SupervisionEngineView``) of

* a real ``SupervisionTree`` (``root → symbols → <SYM> → feed``) of small real actors (``TickFeed``,
  subclassing ``supervision.SupervisedActor`` and answering the actors room's ``GetFeedStatus``),
* real storage (``storage.open_storage``: asyncpg through trio-asyncio on a migrated database, Redis).

Signals are real ``strategy_core.Signal`` values, stored with ``storage.signals.insert`` and published as the
actors room's ``SignalGenerated`` event, exactly as the engine does. Nothing here is a mock.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import trio
from pydantic import SecretStr

from actors import FeedStatusReport, GetFeedStatus, SignalGenerated, feed_path
from algogrid.engine_view import SupervisionEngineView
from algogrid.gateway_wiring import serve_gateway
from gateway import GatewayConfig, GatewayHandle, SignalFeed
from storage import Storage, StorageConfig, open_storage
from strategy_core import Signal
from supervision import (
    Backoff,
    ChildSpec,
    Clock,
    Intensity,
    Restart,
    SupervisedActor,
    SupervisionTree,
    SupervisorSpec,
    TrioBridge,
)

# ----------------------------------------------------------------------------------------------- actors


@dataclass(frozen=True, slots=True)
class Tick:
    """Market data reached the feed at ``at`` (what a kline/book update does to a real feed)."""

    at: dt.datetime


class TickFeed(SupervisedActor):
    """A small real feed actor: remembers its last market event, answers ``GetFeedStatus``."""

    def on_start(self) -> None:
        self.symbol = self.path.split("/")[-2]
        self.last_event_at: dt.datetime | None = None
        self.ticks = 0

    def handle(self, message: Any) -> Any:
        if isinstance(message, GetFeedStatus):
            return FeedStatusReport(
                symbol=self.symbol,
                last_event_at=self.last_event_at,
                book_synced=False,
                closes=0,
                forwarded=self.ticks,
                duplicates=0,
                invalid=0,
            )
        if isinstance(message, Tick):
            self.last_event_at = message.at
            self.ticks += 1
        return None


def tree_spec(symbols: Sequence[str], temporary: Sequence[str] = ()) -> SupervisorSpec:
    """Return ``root → symbols → <SYM> → feed``; feeds of ``temporary`` symbols are never restarted."""
    fast = Backoff(0.0, 0.0, 0.0)
    return SupervisorSpec(
        "root",
        kind="root",
        children=(
            SupervisorSpec(
                "symbols",
                kind="symbols",
                backoff=fast,
                intensity=Intensity(50, 10.0),
                children=tuple(
                    SupervisorSpec(
                        symbol,
                        kind="symbol",
                        backoff=fast,
                        intensity=Intensity(50, 10.0),
                        children=(
                            ChildSpec(
                                "feed",
                                TickFeed.start,
                                restart=Restart.TEMPORARY if symbol in temporary else Restart.PERMANENT,
                                kind="feed",
                            ),
                        ),
                    )
                    for symbol in symbols
                ),
            ),
        ),
    )


# ----------------------------------------------------------------------------------------------- signals

_counter = itertools.count(1)


def make_signal(
    symbol: str = "BTCUSDT", side: str = "long", probability: float = 0.62, at: dt.datetime | None = None
) -> Signal:
    """Return a valid ``strategy_core.Signal`` with consistent levels (S-03)."""
    base = Decimal(65000) + next(_counter)
    step = Decimal("250.5")
    sign = 1 if side == "long" else -1
    now = at or dt.datetime.now(dt.UTC)
    return Signal.model_validate(
        {
            "id": uuid.uuid4(),
            "symbol": symbol,
            "side": side,
            "entry": base,
            "tp1": base + sign * step,
            "tp2": base + sign * 2 * step,
            "tp3": base + sign * 3 * step,
            "sl": base - sign * step,
            "qty": Decimal("0.01"),
            "risk_usd": Decimal("2.505"),
            "risk_r": Decimal(1),
            "p_win": Decimal(str(probability)),
            "strategy": "avi5",
            "strategy_version": "1",
            "created_at": now,
            "bar_start": now.replace(microsecond=0),
        }
    )


def generated(signal: Signal) -> SignalGenerated:
    """Return the event the signal actor publishes for a stored ``signal``."""
    return SignalGenerated(
        signal=signal,
        status="new",
        queued_until=None,
        bar_start_ms=int(signal.bar_start.timestamp() * 1000),
        close_to_signal_ms=1.0,
    )


# ----------------------------------------------------------------------------------------------- stack


@dataclass(frozen=True)
class WiringSettings:
    """The fields of ``algogrid.settings.Settings`` that ``serve_gateway`` reads."""

    gateway: GatewayConfig
    dev: Any


@dataclass(frozen=True)
class DevSwitches:
    fault_injection: bool


@dataclass
class Stack:
    """A running gateway and the real parts behind it."""

    url: str
    handle: GatewayHandle
    tree: SupervisionTree
    storage: Storage
    feed: SignalFeed
    stop: trio.Event
    engine_checks: dict[str, str | None] = field(default_factory=dict)

    async def store(self, signal: Signal) -> None:
        """Insert ``signal`` through the storage room's repository."""
        assert await self.storage.signals.insert(signal)

    def tick(self, symbol: str, at: dt.datetime | None = None) -> None:
        """Tell the feed of ``symbol`` that market data arrived (at ``at``, default now)."""
        self.tree.ref(feed_path(symbol)).tell(Tick(at or dt.datetime.now(dt.UTC)))


@asynccontextmanager
async def open_stack(
    db_url: str,
    redis_url: str,
    symbols: Sequence[str],
    *,
    gateway: GatewayConfig,
    fault_injection: bool,
    temporary: Sequence[str] = (),
    market_clock: Clock | None = None,
) -> AsyncIterator[Stack]:
    """Run the real tree, real storage and ``serve_gateway`` on a free port for the block.

    ``market_clock`` is the engine's market clock the gateway reports (default wall time, as in paper/live).
    """
    config = StorageConfig(
        database_url=SecretStr(db_url), redis_url=SecretStr(redis_url), pool_min_size=2, pool_max_size=10
    )
    settings = WiringSettings(gateway=gateway, dev=DevSwitches(fault_injection=fault_injection))
    checks_state: dict[str, str | None] = {"exchange_public": None}
    checks: dict[str, Callable[[], str | None]] = {"exchange_public": lambda: checks_state["exchange_public"]}
    tree = SupervisionTree.start(tree_spec(symbols, temporary), watchdog_interval=None)
    bridge = TrioBridge()
    try:
        async with open_storage(config) as storage, trio.open_nursery() as nursery:
            while not tree.settled():  # noqa: ASYNC110 - the tree has no "settled" event to wait on
                await trio.sleep(0.005)
            feed = SignalFeed()
            stop = trio.Event()
            view = SupervisionEngineView(
                tree, bridge, tuple(symbols), checks=checks, market_clock=market_clock
            )
            handle: GatewayHandle = await nursery.start(
                lambda task_status: serve_gateway(
                    settings, storage, view, feed, shutdown_trigger=stop.wait, task_status=task_status
                )
            )
            yield Stack(handle.url, handle, tree, storage, feed, stop, checks_state)
            stop.set()
    finally:
        tree.faults.clear()  # release any armed delay so the tree stops at once
        await bridge.stop_tree(tree, timeout=10.0)


# ----------------------------------------------------------------------------------------------- SSE


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
