"""Real parts for the gateway tests: the real supervision tree, real storage, the real gateway wiring.

``open_stack`` runs ``algogrid.gateway_wiring.serve_gateway`` on a free port over the production engine view
(``algogrid.engine_view.SupervisionEngineView``) of

* a real ``SupervisionTree`` (``root → risk, symbols → <SYM> → feed, position``) of small real actors
  (``TickFeed``, subclassing ``supervision.SupervisedActor`` and answering the actors room's
  ``GetFeedStatus``; ``DeskPosition`` at the position path answering the position room's
  ``PlaceOrderFromSignal`` / ``ClosePosition`` through their reply futures and publishing ``PositionChanged``
  to the gateway's feed; ``PreviewRisk`` at ``root/risk`` answering ``PreviewTrade``) — they speak the real
  messages of the contract, so the gateway and its one engine view are exercised over real HTTP and a real
  tree; the real PositionActor's own path is tested in tests/e2e,
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
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, Decimal
from functools import partial
from typing import Any

import trio
from pydantic import SecretStr

from actors import ExecutionConfig, FeedStatusReport, GetFeedStatus, SignalGenerated, feed_path
from actors.monitor import MonitorConfig
from actors.paths import RISK_NAME, position_path
from actors.position import (
    CloseOutcome,
    ClosePosition,
    PlacementOutcome,
    PlaceOrderFromSignal,
    PositionChanged,
    PositionView,
)
from actors.risk import PreviewTrade, RiskConfig, TradePreview
from algogrid.engine_view import SupervisionEngineView
from algogrid.forward_gate import ForwardConfig
from algogrid.gateway_wiring import serve_gateway
from exchange.config import ExchangeConfig
from gateway import GatewayConfig, GatewayHandle, SignalFeed
from gateway.auth import AuthConfig
from storage import Storage, StorageConfig, open_storage
from strategy_core import Signal
from strategy_core.config import AVI5Config
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
from tests.support.auth import TEST_AUTH

# ----------------------------------------------------------------------------------------------- actors


@dataclass(frozen=True, slots=True)
class Tick:
    """Market data reached the feed at ``at`` (what a kline/book update does to a real feed); a ticker also
    tells the mark price and the next funding time."""

    at: dt.datetime
    mark: Decimal | None = None
    funding_at: dt.datetime | None = None


class TickFeed(SupervisedActor):
    """A small real feed actor: remembers its last market event, answers ``GetFeedStatus``."""

    def on_start(self) -> None:
        self.symbol = self.path.split("/")[-2]
        self.last_event_at: dt.datetime | None = None
        self.ticks = 0
        self.mark: Decimal | None = None
        self.funding_at: dt.datetime | None = None

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
                mark_price=self.mark,
                next_funding_time=self.funding_at,
            )
        if isinstance(message, Tick):
            self.last_event_at = message.at
            self.ticks += 1
            self.mark = message.mark or self.mark
            self.funding_at = message.funding_at or self.funding_at
        return None


@dataclass(frozen=True, slots=True)
class Script:
    """Tell the desk how to answer the next click on ``signal_id``: ``filled`` (default), ``rejected`` (by
    the exchange), ``silent`` (never answers), or a refusal ``reason_code`` (``signal_expired``,
    ``risk_denied:heat``, ``unknown_signal`` …)."""

    signal_id: str
    outcome: str


@dataclass
class DeskLog:
    """What the desk actors saw, shared with the test (appended in actor threads; read after answers)."""

    clicks: list[PlaceOrderFromSignal] = field(default_factory=list)
    closes: list[ClosePosition] = field(default_factory=list)
    previews: list[PreviewTrade] = field(default_factory=list)


class DeskPosition(SupervisedActor):
    """A small real position actor: fills every click at the entry, once per signal, and closes on demand.

    A second click on the same signal answers the first position (no second "order"), as the contract says.
    """

    def __init__(self, publisher: SignalFeed, desk: DeskLog, signals: dict[str, Signal]) -> None:
        super().__init__()
        self._publisher = publisher
        self._desk = desk
        self._signals = signals

    def on_start(self) -> None:
        self.by_signal: dict[str, PositionView] = {}
        self.positions: dict[str, PositionView] = {}
        self.scripts: dict[str, str] = {}

    def handle(self, message: Any) -> Any:
        match message:
            case Script(signal_id, outcome):
                self.scripts[signal_id] = outcome
            case PlaceOrderFromSignal():
                self._desk.clicks.append(message)
                self._place(message)
            case ClosePosition():
                self._desk.closes.append(message)
                self._close(message)
        return None

    def _place(self, click: PlaceOrderFromSignal) -> None:
        known = self.by_signal.get(click.signal_id)
        if known is not None:
            click.reply.set(self._filled(known, "This signal was placed already; here is its position."))
            return
        outcome = self.scripts.pop(click.signal_id, "filled")
        signal = self._signals.get(click.signal_id)
        if outcome == "silent":
            return
        if outcome == "rejected" or signal is None:
            click.reply.set(
                PlacementOutcome(
                    position_id=None,
                    order_status="rejected",
                    fill_ratio=Decimal(0),
                    avg_price=None,
                    position=None,
                    message="The exchange rejected the order: the balance is too low for this size.",
                    reason_code="insufficient_balance",
                )
            )
            return
        if outcome != "filled":
            click.reply.set(
                PlacementOutcome(
                    position_id=None,
                    order_status="rejected",
                    fill_ratio=Decimal(0),
                    avg_price=None,
                    position=None,
                    message=f"Not placed: {outcome.replace('_', ' ')}.",
                    reason_code=outcome,
                )
            )
            return
        position = PositionView(
            id=str(uuid.uuid4()),
            signal_id=click.signal_id,
            symbol=signal.symbol,
            side=signal.side,
            status="open",
            requested_size=signal.qty,
            executed_size=signal.qty,
            fill_ratio=Decimal(1),
            avg_entry_price=signal.entry,
            avg_exit_price=None,
            sl=signal.sl,
            tp1=signal.tp1,
            tp2=signal.tp2,
            tp3=signal.tp3,
            pnl_usd=None,
            fees_usd=Decimal("0.39"),
            funding_usd=Decimal(0),
            be_moved=False,
            opened_at=dt.datetime.now(dt.UTC),
            closed_at=None,
            close_reason=None,
            message="Filled in full.",
        )
        self.by_signal[click.signal_id] = position
        self.positions[position.id] = position
        self._publisher.publish(PositionChanged(position=position, at=position.opened_at))
        click.reply.set(self._filled(position, "Filled in full at the entry price."))

    @staticmethod
    def _filled(position: PositionView, message: str) -> PlacementOutcome:
        return PlacementOutcome(
            position_id=position.id,
            order_status="filled",
            fill_ratio=position.fill_ratio,
            avg_price=position.avg_entry_price,
            position=position,
            message=message,
        )

    def _close(self, close: ClosePosition) -> None:
        position = self.positions.get(close.position_id)
        if position is None or position.status == "closed":
            status = "unknown_position" if position is None else "already_closed"
            close.reply.set(
                CloseOutcome(
                    position_id=close.position_id,
                    status=status,
                    position=position,
                    pnl_usd=None,
                    fees_usd=None,
                    funding_usd=None,
                    message=f"Not closed: {status.replace('_', ' ')}.",
                )
            )
            return
        at = dt.datetime.now(dt.UTC)
        closed = replace(
            position,
            status="closed",
            closed_at=at,
            close_reason=close.reason,
            avg_exit_price=position.avg_entry_price,
            pnl_usd=Decimal(0),
            message="Closed by hand.",
        )
        self.positions[closed.id] = closed
        self._publisher.publish(PositionChanged(position=closed, at=at))
        close.reply.set(
            CloseOutcome(
                position_id=closed.id,
                status="closed",
                position=closed,
                pnl_usd=Decimal(0),
                fees_usd=closed.fees_usd,
                funding_usd=Decimal(0),
                message="Closed at the entry price: no profit, no loss before fees.",
            )
        )


class PreviewRisk(SupervisedActor):
    """A small real risk actor answering ``PreviewTrade``: 1R = 25 USD, sized on the instrument's qty step;
    each click so far adds 1R of heat, and the third position on a base is denied (limit 2)."""

    def __init__(self, desk: DeskLog) -> None:
        super().__init__()
        self._desk = desk

    def handle(self, message: Any) -> Any:
        if not isinstance(message, PreviewTrade):
            return None
        self._desk.previews.append(message)
        step = message.instrument.qty_step
        qty = (Decimal(25) / abs(message.entry - message.sl) / step).to_integral_value(ROUND_DOWN) * step
        notional = qty * message.entry
        risk_usd = qty * abs(message.entry - message.sl)
        placed = len(self._desk.clicks)
        allowed = placed < 2
        return TradePreview(
            symbol=message.symbol,
            side=message.side,
            qty=qty,
            price=message.entry,
            notional_usd=notional,
            fee_estimate_usd=notional * message.taker_fee_rate * 2,
            risk_usd=risk_usd,
            risk_r=risk_usd / 25,
            total_risk_usd_after=placed * Decimal(25) + risk_usd,
            total_risk_r_after=placed + risk_usd / 25,
            positions_after=placed + 1,
            base_usage_after=placed + 1,
            base_limit=2,
            verdict="allowed" if allowed else "denied",
            reason_code=None if allowed else "max_positions_per_base",
            reason=None if allowed else "Two positions on this base already: the limit is 2.",
        )


@dataclass
class Desk:
    """The desk's shared state: the feed positions publish to, what the actors saw, the stored signals."""

    feed: SignalFeed = field(default_factory=SignalFeed)
    log: DeskLog = field(default_factory=DeskLog)
    signals: dict[str, Signal] = field(default_factory=dict)


def tree_spec(
    symbols: Sequence[str], temporary: Sequence[str] = (), desk: Desk | None = None
) -> SupervisorSpec:
    """Return ``root → risk, symbols → <SYM> → feed, position``; feeds of ``temporary`` symbols are never
    restarted (no risk and position actors without ``desk``)."""
    fast = Backoff(0.0, 0.0, 0.0)
    return SupervisorSpec(
        "root",
        kind="root",
        children=(
            *(
                (ChildSpec(RISK_NAME, partial(PreviewRisk.start, desk.log), kind="risk"),)
                if desk is not None
                else ()
            ),
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
                            *(
                                (
                                    ChildSpec(
                                        "position",
                                        partial(DeskPosition.start, desk.feed, desk.log, desk.signals),
                                        kind="position",
                                    ),
                                )
                                if desk is not None
                                else ()
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
    auth: AuthConfig = TEST_AUTH
    mode: str = "simulation"
    storage: StorageConfig = field(default_factory=StorageConfig)
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
    risk: RiskConfig = field(default_factory=RiskConfig)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)
    strategy: AVI5Config = field(default_factory=AVI5Config)
    exchange: ExchangeConfig = field(default_factory=ExchangeConfig)
    forward: ForwardConfig = field(default_factory=ForwardConfig)  # GET /admin/forward's thresholds

    def model_copy(self, update: dict[str, Any]) -> WiringSettings:
        """Mirror ``Settings.model_copy`` (the admin wiring applies overrides with it)."""
        return replace(self, **update)


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

    desk: Desk | None = None

    async def store(self, signal: Signal) -> None:
        """Insert ``signal`` through the storage room's repository (and let the desk know it)."""
        assert await self.storage.signals.insert(signal)
        if self.desk is not None:
            self.desk.signals[str(signal.id)] = signal

    def script(self, signal: Signal, outcome: str) -> None:
        """Tell the desk of ``signal.symbol`` how to answer the next click on ``signal``."""
        self.tree.ref(position_path(signal.symbol)).tell(Script(str(signal.id), outcome))

    def tick(
        self,
        symbol: str,
        at: dt.datetime | None = None,
        *,
        mark: Decimal | None = None,
        funding_at: dt.datetime | None = None,
    ) -> None:
        """Tell the feed of ``symbol`` that market data arrived (at ``at``, default now), optionally a
        ticker's mark price and next funding time."""
        self.tree.ref(feed_path(symbol)).tell(Tick(at or dt.datetime.now(dt.UTC), mark, funding_at))


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
    desk: Desk | None = None,
    exchange: ExchangeConfig | None = None,
) -> AsyncIterator[Stack]:
    """Run the real tree, real storage and ``serve_gateway`` on a free port for the block.

    ``market_clock`` is the engine's market clock the gateway reports (default wall time, as in paper/live).
    """
    config = StorageConfig(
        database_url=SecretStr(db_url), redis_url=SecretStr(redis_url), pool_min_size=2, pool_max_size=10
    )
    settings = WiringSettings(
        gateway=gateway,
        dev=DevSwitches(fault_injection=fault_injection),
        exchange=exchange or ExchangeConfig(),
    )
    checks_state: dict[str, str | None] = {"exchange_public": None}
    checks: dict[str, Callable[[], str | None]] = {"exchange_public": lambda: checks_state["exchange_public"]}
    tree = SupervisionTree.start(tree_spec(symbols, temporary, desk), watchdog_interval=None)
    bridge = TrioBridge()
    try:
        async with open_storage(config) as storage, trio.open_nursery() as nursery:
            while not tree.settled():  # noqa: ASYNC110 - the tree has no "settled" event to wait on
                await trio.sleep(0.005)
            feed = desk.feed if desk is not None else SignalFeed()
            stop = trio.Event()
            view = SupervisionEngineView(
                tree, bridge, tuple(symbols), checks=checks, market_clock=market_clock
            )
            handle: GatewayHandle = await nursery.start(
                lambda task_status: serve_gateway(
                    settings, storage, view, feed, shutdown_trigger=stop.wait, task_status=task_status
                )
            )
            yield Stack(handle.url, handle, tree, storage, feed, stop, checks_state, desk)
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
