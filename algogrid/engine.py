"""The engine's composition root: exchange, work queue and supervision tree, started by ``algogrid run``.

``serve(settings, storage, task_status=...)`` starts, in order (issue 5 item 9, issue 7):

1. in simulation mode, the exchange simulator on loopback (speed from ``settings.simulator``), started after
   the newest stored bar when a previous run left bars ahead of wall time (``_resume_after_stored``) and
   paused until the public session is subscribed (``_resume_market``);
2. the REST client (instrument rules) and the REST warm-up of the last N 5m candles per symbol;
3. the actor → trio work queue, and the alert webhook dispatcher when ``webhooks.urls`` is set (G-05);
4. the supervision tree ``root → risk, monitor, symbols → <SYM> → signal, indicator, feed``: ``root/risk``
   is the RiskActor in every mode (signals reach it as ``CheckSignal``), ``root/monitor`` the MonitorActor
   (kill conditions, R-04); both decide on the *market clock* (``algogrid.market_clock``: the simulator's
   exchange time in simulation mode, wall time otherwise), while the tree keeps the wall clock;
5. the public WS session, whose sink is the ``SymbolRouter``.

It reports an ``Engine`` (the facade the gateway consumes: tree snapshot, fault injection, ask by path,
feed status, readiness) through ``task_status`` and runs until cancelled. Shutdown runs in reverse: the
session stops (no more events), the tree stops in a worker thread (the trio thread never blocks on pykka;
children stop in reverse start order: symbols, monitor, risk), then the work queue, the dispatcher and the
simulator. A failing root ends ``serve`` with ``EngineError`` (the process exits non-zero).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
import trio

import actors
from actors import (
    ROOT,
    BackfillReport,
    EngineError,
    GetFeedStatus,
    PipelineConfig,
    RefResolver,
    SignalPublisher,
    SymbolDeps,
    SymbolRouter,
    SymbolsController,
    TradingInputs,
    TrioWorkPort,
    backfill,
    feed_path,
    symbols_spec,
)
from actors.risk import RiskMetrics, WebhookDispatcher
from algogrid.market_clock import market_clock_for
from algogrid.risk_wiring import RiskWiring, new_metrics, risk_children, start_alerts
from exchange import bybit
from exchange.bybit import BybitRestClient, PublicSession
from exchange.simulator import open_simulator
from storage import KlineRepository
from strategy_core import InstrumentRules
from supervision import (
    ActorUnavailable,
    AskTimeout,
    Clock,
    FailureInfo,
    SupervisionMetrics,
    SupervisionTree,
    SupervisorSpec,
    TrioBridge,
    TrioWorkQueue,
    UnknownPath,
)

__all__ = ["Engine", "EngineOptions", "LoggingPublisher", "serve", "trading_inputs"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineOptions:
    """Engine knobs not in ``Settings`` (every default visible)."""

    backfill_interval_s: float = 0.05
    work_queue_size: int = 10_000
    work_concurrency: int = 16
    ask_timeout_s: float = 5.0
    stop_timeout_s: float = 30.0


class LoggingPublisher:
    """The default ``SignalPublisher`` when no gateway is attached: logs each signal (non-blocking)."""

    def __init__(self) -> None:
        self.published = 0

    def publish(self, event: object) -> None:
        """Log ``event``."""
        self.published += 1
        signal = getattr(event, "signal", None)
        log.info(
            "signal published", symbol=getattr(signal, "symbol", None), status=getattr(event, "status", None)
        )


def _message_types() -> dict[str, type[Any]]:
    names = [*actors.__all__, *bybit.__all__]
    found = {n: getattr(actors, n, None) or getattr(bybit, n, None) for n in names}
    return {n: t for n, t in found.items() if isinstance(t, type)}


@dataclass
class Engine:
    """The running engine as other rooms see it (implements ``gateway.ports.EngineView``)."""

    tree: SupervisionTree
    router: SymbolRouter
    controller: SymbolsController
    bridge: TrioBridge
    mode: str
    warmup: BackfillReport
    metrics: RiskMetrics
    alerts: WebhookDispatcher | None = None
    session: PublicSession | None = None
    options: EngineOptions = field(default_factory=EngineOptions)
    simulator: Any = None
    market_clock: Clock | None = None  # what the risk side's decisions read (market time)

    def symbols(self) -> Sequence[str]:
        """Return the routed symbols in display order."""
        return sorted(self.router.symbols)

    async def supervision_tree(self) -> Mapping[str, Any]:
        """Return the live supervision tree snapshot."""
        return self.tree.snapshot()

    async def ask(self, path: str, message: object, timeout_s: float | None = None) -> Any:
        """Ask the actor at ``path`` without blocking the trio thread.

        Raises:
            UnknownPath / ActorUnavailable / AskTimeout: from the supervision library, unchanged.
        """
        ref = self.tree.ref(path)
        return await self.bridge.ask(ref, message, timeout=timeout_s or self.options.ask_timeout_s)

    async def feed_status(self, symbol: str, timeout_s: float) -> Any:
        """Ask ``root/symbols/<symbol>/feed`` for its liveness (``gateway.ports.FeedStatus``)."""
        from gateway.errors import EngineTimeoutError, EngineUnavailableError, UnknownActorPathError
        from gateway.ports import FeedStatus

        try:
            report = await self.ask(feed_path(symbol), GetFeedStatus(), timeout_s)
        except UnknownPath as exc:
            raise UnknownActorPathError(f"expected a feed for {symbol}, got none") from exc
        except ActorUnavailable as exc:
            raise EngineUnavailableError(f"the feed of {symbol} is not available: {exc}") from exc
        except AskTimeout as exc:
            raise EngineTimeoutError(f"the feed of {symbol} did not answer within {timeout_s}s") from exc
        return FeedStatus(symbol=symbol, last_event_at=report.last_event_at)

    async def inject_fault(self, request: Any) -> None:
        """Arm or fire the fault of a ``gateway.models.FaultRequest`` (DESIGN §4)."""
        from gateway.errors import FaultRejectedError, UnknownActorPathError

        faults = self.tree.faults
        try:
            if request.kind == "crash":
                faults.crash_now(request.path)
            elif request.kind == "crash_on_next":
                message_type = None
                if request.message_type is not None:
                    message_type = _message_types().get(request.message_type)
                    if message_type is None:
                        raise FaultRejectedError(
                            f"expected a known message type, got {request.message_type!r}"
                        )
                faults.crash_on_next(request.path, message_type)
            elif request.kind == "fail_on_start":
                faults.fail_on_start(request.path, request.times)
            elif request.kind == "delay_next":
                faults.delay_next(request.path, request.delay_s)
            else:
                raise FaultRejectedError(f"expected a known fault kind, got {request.kind!r}")
        except UnknownPath as exc:
            raise UnknownActorPathError(f"expected an actor at {request.path}, got none") from exc

    def checks(self) -> dict[str, Callable[[], str | None]]:
        """Return the engine's synchronous readiness checks (None when ready, else the reason).

        These never block: they read flags only, so the gateway may call them on the trio thread.
        """
        checks: dict[str, Callable[[], str | None]] = {}
        session = self.session
        if session is not None:
            checks["exchange_public"] = lambda: (
                None if session.stats.connected else "public session not connected"
            )

        def warmup() -> str | None:
            failed = self.warmup.failed
            return None if not failed else f"backfill failed for {', '.join(sorted(failed))}"

        checks["warmup"] = warmup
        return checks

    async def readiness(self) -> Mapping[str, str | None]:
        """Return readiness checks: supervision root, public session, warm-up."""
        failure = self.tree.failure
        results: dict[str, str | None] = {
            "supervision": None if failure is None else f"root failed: {failure.as_json()}"
        }
        results.update({name: check() for name, check in self.checks().items()})
        return results


def trading_inputs(settings: Any, instruments: Mapping[str, InstrumentRules]) -> TradingInputs:
    """Return what the symbol trees trade with: the strategy and 1R from ``settings`` (R-01), ``instruments``.

    1R is ``risk.risk_per_trade_usd``: the signals are sized with the unit the RiskActor counts in.
    """
    return TradingInputs(
        risk_per_trade_usd=settings.risk.risk_per_trade_usd,
        strategy=settings.strategy,
        research_mode=bool(settings.research_mode),
        instruments=instruments,
    )


async def _instrument_rules(rest: BybitRestClient, symbols: Sequence[str]) -> dict[str, InstrumentRules]:
    try:
        instruments = await rest.get_instruments()
    except Exception as exc:  # boundary: fall back to the default grid rather than refuse to start
        log.warning("instrument rules unavailable", error=repr(exc))
        return {}
    wanted = set(symbols)
    return {
        i.symbol: InstrumentRules(tick_size=i.tick_size, qty_step=i.qty_step, min_qty=i.min_order_qty)
        for i in instruments
        if i.symbol in wanted
    }


async def serve(
    settings: Any,
    storage: Any,
    *,
    publisher: SignalPublisher | None = None,
    options: EngineOptions | None = None,
    metrics: RiskMetrics | None = None,
    task_status: trio.TaskStatus[Engine] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the engine until cancelled; report the ``Engine`` facade once events flow.

    Args:
        settings: ``algogrid.settings.Settings`` (mode, symbols, research_mode, exchange, simulator,
            strategy, risk, webhooks).
        storage: an open ``storage.Storage``.
        publisher: the gateway's ``SignalPublisher`` (default: log the signals).
        options: engine knobs (warm-up size, queue size, timeouts).
        metrics: the risk room's metrics (default: on a registry of their own, ``Engine.metrics``).

    Raises:
        EngineError: the supervision root failed.
    """
    opts = options or EngineOptions()
    symbols: tuple[str, ...] = tuple(settings.symbols)
    if settings.mode == "simulation":
        sim_config = settings.simulator.model_copy(update={"symbols": symbols})
        sim_config = await _resume_after_stored(sim_config, storage.klines, symbols)
        book_step_s = sim_config.speed * sim_config.book_interval_ms / 1000
        if book_step_s > settings.strategy.max_book_age_s:
            # Book updates arrive further apart in simulated time than AVI-5's book_fresh allows.
            log.warning(
                "simulated book too slow for avi5",
                book_step_s=book_step_s,
                max_book_age_s=settings.strategy.max_book_age_s,
            )
        async with open_simulator(sim_config) as sim:
            sim.clock.pause()  # until the live stream is subscribed: see _resume_market
            exchange_config = settings.exchange.model_copy(
                update={"rest_url": sim.rest_url, "ws_public_url": sim.ws_public_url}
            )
            await _run(settings, storage, exchange_config, publisher, metrics, opts, sim, task_status)
    else:
        await _run(settings, storage, settings.exchange, publisher, metrics, opts, None, task_status)


_BAR_MS = 300_000


def _resume_start_ms(latest_open: dt.datetime | None, now_ms: int) -> int | None:
    """Return where simulated time must start so it never runs behind storage, or None to start at now.

    ``latest_open`` is the open time of the newest stored 5m bar. When that bar ends after ``now_ms`` (a
    previous accelerated run ran ahead of wall time), return its end rounded up to a 5-minute boundary: the
    new run's first live bar then opens exactly where storage stops.
    """
    if latest_open is None:
        return None
    end_ms = int(latest_open.timestamp() * 1000) + _BAR_MS
    if end_ms <= now_ms:
        return None
    return -(-end_ms // _BAR_MS) * _BAR_MS


async def _resume_after_stored(config: Any, klines: KlineRepository, symbols: Sequence[str]) -> Any:
    """Start the simulator after the newest stored bar of ``symbols`` when that bar lies ahead of wall time.

    A previous run at speed 60 leaves bars (and signals keyed by bar) hours ahead of wall time; replaying
    those bar times would make the IndicatorActor skip every new bar as older than its reloaded window and
    the per-bar signal ids collide. An explicit ``start_time_ms`` or a CSV replay keeps its own timeline.
    """
    if config.start_time_ms is not None or config.kline_csv:
        return config
    latest = await klines.latest_open(symbols)
    now_ms = time.time_ns() // 1_000_000
    start_ms = _resume_start_ms(latest, now_ms)
    if start_ms is None:
        return config
    log.info(
        "simulation resumes after stored data",
        latest_bar=latest.isoformat() if latest is not None else None,
        start=dt.datetime.fromtimestamp(start_ms / 1000, tz=dt.UTC).isoformat(),
        gap_s=round((start_ms - now_ms) / 1000),  # how far ahead of wall time the market starts
    )
    return config.model_copy(update={"start_time_ms": start_ms})


async def _resume_market(simulator: Any, session: PublicSession, timeout_s: float) -> None:
    """Let simulated time run once every symbol's topics are subscribed (every book synced).

    The market is paused from the simulator's start: no bar closes between the REST warm-up and the
    subscription, so the stored window (what each IndicatorActor reloads) ends exactly where the live stream
    begins. At high speeds (a bar every 1/6 s at 1800) the start-up would otherwise lose bars for good.
    """
    with trio.move_on_after(timeout_s) as waited:
        while not (session.stats.connected and all(b.synced for b in session.books.values())):  # noqa: ASYNC110
            await trio.sleep(0.01)
    if waited.cancelled_caught:
        log.warning("simulation resumed before subscription", timeout_s=timeout_s)
    simulator.clock.resume()


async def _run(  # noqa: PLR0917 - private, called from serve only
    settings: Any,
    storage: Any,
    exchange_config: Any,
    publisher: SignalPublisher | None,
    metrics: RiskMetrics | None,
    opts: EngineOptions,
    simulator: Any,
    task_status: trio.TaskStatus[Engine],
) -> None:
    mode: str = settings.mode
    symbols: tuple[str, ...] = tuple(settings.symbols)
    source = "simulator" if mode == "simulation" else "ws"
    store = storage.market(source=source)
    async with BybitRestClient(exchange_config) as rest, trio.open_nursery() as services:
        instruments = await _instrument_rules(rest, symbols)
        pipeline: PipelineConfig = settings.pipeline
        log.info("backfill started", symbols=len(symbols), bars=pipeline.backfill_bars)
        report = await backfill(
            rest, store, symbols, bars=pipeline.backfill_bars, min_interval_s=opts.backfill_interval_s
        )
        queue = TrioWorkQueue(maxsize=opts.work_queue_size, concurrency=opts.work_concurrency, name="engine")
        # The queue and the dispatcher outlive the tree's stop (the RiskActor flushes denials on stop, an
        # alert may be submitted last): they run shielded and are cancelled only after the tree stopped.
        lasting = _LastingServices(services)
        await lasting.start(queue.run)
        wiring = RiskWiring(
            metrics=metrics or new_metrics(),
            alerts=await start_alerts(settings.webhooks, storage, lasting),
        )

        resolver = RefResolver()
        work = TrioWorkPort(queue)
        deps = SymbolDeps(
            resolve=resolver,
            work=work,
            store=store,
            snapshots=_RestSnapshots(rest),
            publisher=publisher or LoggingPublisher(),
        )
        inputs = trading_inputs(settings, instruments)
        root_failed = trio.Event()
        on_root_failure = _setter_from_any_thread(root_failed)
        market_clock = market_clock_for(simulator.clock if simulator is not None else None)
        risk, monitor = risk_children(
            settings,
            storage,
            work=work,
            resolve=resolver,
            wiring=wiring,
            market_clock=market_clock,
        )
        root = SupervisorSpec(
            ROOT,
            children=(risk, monitor, symbols_spec(symbols, pipeline, inputs, deps)),
            intensity=pipeline.root_supervisor.intensity,
            backoff=pipeline.root_supervisor.backoff,
        )
        # Supervision counters go on the risk registry, which the gateway serves on /metrics.
        supervision_metrics = SupervisionMetrics(wiring.metrics.registry)
        tree = SupervisionTree.start(root, on_root_failure=on_root_failure, metrics=supervision_metrics)
        resolver.bind(tree.ref)
        bridge = TrioBridge()
        try:
            router = SymbolRouter(
                lambda s: tree.ref(feed_path(s)),
                lambda exc: isinstance(exc, ActorUnavailable | UnknownPath),
            )
            controller = SymbolsController(tree, bridge, pipeline, inputs, deps, router)
            await bridge.wait_settled(tree, timeout=opts.stop_timeout_s)
            for symbol in symbols:
                router.add(symbol)
            session = PublicSession(exchange_config, symbols, router, rest)
            engine = Engine(
                tree=tree,
                router=router,
                controller=controller,
                bridge=bridge,
                mode=mode,
                warmup=report,
                metrics=wiring.metrics,
                alerts=wiring.alerts,
                session=session,
                options=opts,
                simulator=simulator,
                market_clock=market_clock,
            )
            async with trio.open_nursery() as feeds:
                await feeds.start(session.run)
                if simulator is not None:
                    await _resume_market(simulator, session, opts.stop_timeout_s)
                log.info(
                    "engine started", mode=mode, symbols=len(symbols), webhooks=wiring.alerts is not None
                )
                task_status.started(engine)
                await root_failed.wait()
                feeds.cancel_scope.cancel()
            raise EngineError(
                f"the supervision root failed: {tree.failure.as_json() if tree.failure else '?'}"
            )
        finally:
            with trio.CancelScope(shield=True):
                log.info("engine stopping")
                await bridge.stop_tree(tree, timeout=opts.stop_timeout_s)
                lasting.cancel()
                services.cancel_scope.cancel()
                log.info("engine stopped")


def _setter_from_any_thread(event: trio.Event) -> Callable[[FailureInfo], None]:
    """Return a root-failure callback (runs in an actor thread) that sets ``event`` in the trio thread."""
    token = trio.lowlevel.current_trio_token()

    def on_root_failure(failure: FailureInfo) -> None:
        try:
            token.run_sync_soon(event.set)
        except trio.RunFinishedError:
            log.error("root failed after trio finished", failure=failure.as_json())  # noqa: TRY400 - no traceback

    return on_root_failure


class _LastingServices:
    """Start trio services that ignore outside cancellation until ``cancel()`` (see ``_run``)."""

    def __init__(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery
        self._scopes: list[trio.CancelScope] = []

    async def start(self, run: Callable[..., Awaitable[None]]) -> None:
        """Start ``run(task_status=...)`` shielded in the nursery and wait until it reports started."""

        async def shielded(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
            with trio.CancelScope(shield=True) as scope:
                self._scopes.append(scope)
                await run(task_status=task_status)

        await self._nursery.start(shielded)

    def cancel(self) -> None:
        """Cancel every service started here."""
        for scope in self._scopes:
            scope.cancel()


class _RestSnapshots:
    """``SnapshotSource`` over the REST client (runs in the trio thread)."""

    def __init__(self, rest: BybitRestClient) -> None:
        self._rest = rest

    async def fetch_snapshot(self, symbol: str) -> bybit.BookSnapshot:
        return await self._rest.get_orderbook(symbol, limit=50)
