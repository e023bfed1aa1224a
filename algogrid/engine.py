"""The engine's composition root: exchange, work queue and supervision tree, started by ``algogrid run``.

``serve(settings, storage, task_status=...)`` starts, in order:

1. in simulation mode, the exchange simulator on loopback (speed from ``settings.simulator``), started after
   the newest stored bar when a previous run left bars ahead of wall time (``_resume_after_stored``) and
   paused until the public session is subscribed (``_resume_market``: ``PublicSession.wait_subscribed``);
   the engine creates its trading account in it (``_simulator_credentials``: a fresh random key pair, never
   logged), so the private stream runs in simulation as in paper/live;
2. the REST client (``rest_client``: every call draws from the Redis-backed E-08 buckets ``rest_read`` /
   ``rest_order`` shared by every client of the same Redis), the instrument rules (a symbol without real
   rules is *unavailable for orders*, with its reason in ``TradingInputs.unavailable``) and the REST warm-up
   of the last N 5m candles per symbol;
3. the actor → trio work queue, and the alert webhook dispatcher when ``webhooks.urls`` is set (G-05), in
   the *services* nursery;
4. the supervision tree ``root → risk, monitor, symbols → <SYM> → signal, indicator, feed``: ``root/risk``
   is the RiskActor in every mode (signals reach it as ``CheckSignal``), ``root/monitor`` the MonitorActor
   (kill conditions, R-04); both decide on the *market clock* (``algogrid.market_clock``: the simulator's
   exchange time in simulation mode, wall time otherwise), while the tree keeps the wall clock;
5. the public WS session, whose sink is the ``SymbolRouter``, in the *feeds* nursery nested inside; and,
   when the exchange config has credentials (always in simulation), the private WS session (``order``,
   ``execution``, ``position``, ``wallet``), whose sink is the ``PrivateRouter``: each private event to
   ``root/symbols/<SYM>/position``, and ``PrivateStreamResumed`` to every routed PositionActor once the
   session reconnected, re-subscribed and caught up (``PrivateSession(on_resumed=router.resumed)``).

It reports an ``Engine`` (the handle: tree, bridge, session, metrics and ``view``, the gateway's
``EngineView``) through ``task_status`` once the session is subscribed, as ``gateway.serve`` reports its
``GatewayHandle``, and runs until ``shutdown_trigger`` returns (or until cancelled).

Shutdown follows the nesting, innermost first (O-03): the feeds nursery is cancelled (no more events), the
tree stops in a worker thread (the trio thread never blocks on pykka; children stop in reverse start order:
symbols, monitor, risk) while the services still run (the RiskActor flushes denials on stop through the work
queue), then the services nursery is cancelled and the simulator closes. A failing root ends ``serve`` the
same way, then raises ``EngineError`` (the process exits non-zero). Cancelled from outside instead (a test, a
crash elsewhere), ``serve`` still stops the tree within ``engine.stop_timeout_s`` — actor threads must not
outlive the run — but the services are cancelled with it: jobs submitted while stopping get
``WorkQueueClosed``.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, TypeVar, overload

import structlog
import trio

from actors import (
    MONITOR,
    RECONCILER,
    RISK,
    ROOT,
    BackfillReport,
    EngineError,
    LazySink,
    MarketMetrics,
    PipelineConfig,
    PrivateRouter,
    RefResolver,
    RestBarHistory,
    SignalPublisher,
    StreamRecorder,
    SymbolDeps,
    SymbolRouter,
    SymbolsController,
    TeeSink,
    TradingInputs,
    TrioWorkPort,
    backfill,
    feed_path,
    position_path,
    signal_path,
    symbols_spec,
)
from actors.position import ExecutionMetrics, PositionDeps
from actors.reconciler import ReconcilerMetrics, RunPass
from actors.risk import RiskMetrics, WebhookDispatcher, risk_limits_from
from algogrid.calibration_job import watch_theta_maps
from algogrid.engine_config import EngineConfig
from algogrid.engine_view import EngineCheck, SupervisionEngineView
from algogrid.forward_gate import NoOrderExchange
from algogrid.heap import freeze_startup_heap, unfreeze_heap
from algogrid.logging_setup import register_secret
from algogrid.market_clock import market_clock_for
from algogrid.reconciler_wiring import (
    FirstPass,
    ForeignActivityTap,
    ReconciliationAccess,
    reconciler_children,
)
from algogrid.risk_wiring import LiveRiskLimits, RiskWiring, new_metrics, risk_children, start_alerts
from exchange import bybit
from exchange.bybit import BybitRestClient, EventSink, PrivateSession, PublicSession
from exchange.config import Credentials, ExchangeConfig
from exchange.simulator import Simulator, open_simulator
from storage import KlineRepository
from strategy_core import InstrumentRules
from supervision import (
    ActorUnavailable,
    Ask,
    Clock,
    FailureInfo,
    SupervisionMetrics,
    SupervisionTree,
    SupervisorSpec,
    TrioBridge,
    TrioWorkQueue,
    UnknownPath,
)

__all__ = [
    "Engine",
    "LoadedInstruments",
    "LoggingPublisher",
    "instrument_rules",
    "rest_client",
    "serve",
    "trading_inputs",
]

log = structlog.get_logger(__name__)

R = TypeVar("R")


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


@dataclass
class Engine:
    """The running engine, as ``serve`` reports it: its parts, and ``view``, what the gateway sees of it."""

    tree: SupervisionTree
    router: SymbolRouter
    controller: SymbolsController
    bridge: TrioBridge
    mode: str
    warmup: BackfillReport
    metrics: RiskMetrics
    view: SupervisionEngineView
    alerts: WebhookDispatcher | None = None
    session: PublicSession | None = None
    simulator: Simulator | None = None
    market_clock: Clock | None = None  # what the risk side's decisions read (market time)
    rest: BybitRestClient | None = None  # the engine's REST client (rate-limited through Redis, E-08)
    inputs: TradingInputs | None = None  # what the trees trade with (instrument rules, unavailable symbols)
    private_session: PrivateSession | None = None  # None without credentials (paper/live)
    private_router: PrivateRouter | None = None
    risk_limits: LiveRiskLimits | None = None  # the RiskActor's limits as last reloaded (O-02)
    reconciliation: ReconciliationAccess | None = None  # the gateway's ReconciliationPort (None: disabled)
    recorder: StreamRecorder | None = None  # trades, tickers, funding → storage (P-06); None when off
    market_metrics: MarketMetrics | None = None  # holes, repairs, skipped signals, stored streams (D-02)

    @overload
    async def ask(self, path: str, message: Ask[R], *, timeout_s: float) -> R: ...
    @overload
    async def ask(self, path: str, message: object, *, timeout_s: float) -> Any: ...
    async def ask(self, path: str, message: object, *, timeout_s: float) -> Any:
        """Ask the actor at ``path`` without blocking the trio thread (ops, tests and benches).

        Raises:
            UnknownPath / ActorUnavailable / AskTimeout: from the supervision library, unchanged.
        """
        return await self.bridge.ask(self.tree.ref(path), message, timeout=timeout_s)


def _readiness_checks(
    session: PublicSession, warmup: BackfillReport, private: PrivateSession | None
) -> dict[str, EngineCheck]:
    """Return the engine's synchronous readiness checks (None when ready, else the reason).

    These never block: they read flags only, so the gateway may call them on the trio thread.
    """

    def exchange_public() -> str | None:
        return None if session.stats.connected else "public session not connected"

    def exchange_private() -> str | None:
        if private is None:
            return "no exchange credentials configured: private stream off, no trading"
        return None if private.stats.connected else "private session not connected"

    def warmed_up() -> str | None:
        failed = warmup.failed
        return None if not failed else f"backfill failed for {', '.join(sorted(failed))}"

    return {
        "exchange_public": exchange_public,
        "exchange_private": exchange_private,
        "warmup": warmed_up,
    }


def trading_inputs(
    settings: Any,
    instruments: Mapping[str, InstrumentRules],
    unavailable: Mapping[str, str] | None = None,
) -> TradingInputs:
    """Return what the symbol trees trade with: the strategy and 1R from ``settings`` (R-01), ``instruments``.

    1R is ``risk.risk_per_trade_usd``: the signals are sized with the unit the RiskActor counts in.
    ``unavailable`` names the symbols without real instrument rules and why (no orders for them).
    """
    return TradingInputs(
        risk_per_trade_usd=settings.risk.risk_per_trade_usd,
        strategy=settings.strategy,
        research_mode=bool(settings.research_mode),
        instruments=instruments,
        unavailable=dict(unavailable or {}),
    )


def rest_client(exchange_config: ExchangeConfig, storage: Any) -> BybitRestClient:
    """Return the engine's REST client: credentials from ``exchange_config``, limits from ``storage.redis``.

    Every call draws a token from the Redis-backed buckets (E-08: ``rest_read`` 1200/min, ``rest_order``
    10/s, keys under ``exchange.rate_limit_prefix``), shared with every other client on the same Redis; the
    sessions built on it take their ``ws`` subscription tokens from the same limiter. The key pair is masked
    in every later log line, whatever logs it.
    """
    if exchange_config.credentials is not None:
        register_secret(exchange_config.credentials.api_key)
        register_secret(exchange_config.credentials.api_secret)
    return BybitRestClient.with_shared_limits(exchange_config, storage.redis, exchange_config.credentials)


def _simulator_credentials(simulator: Simulator) -> Credentials:
    """Create the engine's trading account in ``simulator`` and return its key pair (never logged)."""
    api_key = f"algogrid-{secrets.token_hex(8)}"
    api_secret = secrets.token_hex(32)
    simulator.add_account(api_key, api_secret)
    log.info("simulator account created", balance=str(simulator.config.default_balance))
    return Credentials(api_key=api_key, api_secret=api_secret)


@dataclass(frozen=True, slots=True)
class LoadedInstruments:
    """The exchange's instrument rules of the engine's symbols, as loaded at start.

    ``unavailable`` names each symbol without rules and why; ``min_notional_usd`` the minimum order value of
    the symbols whose instruments-info gives one.
    """

    rules: Mapping[str, InstrumentRules]
    unavailable: Mapping[str, str]
    min_notional_usd: Mapping[str, Decimal]


async def instrument_rules(rest: BybitRestClient, symbols: Sequence[str]) -> LoadedInstruments:
    """Return the exchange's instrument rules of ``symbols`` and, per symbol without any, the reason.

    A symbol whose rules cannot be loaded (the call failed, or the symbol is not listed) is unavailable for
    orders: no tick size or quantity step is guessed for it. Signals still run on the default grid.
    """
    try:
        instruments = await rest.get_instruments()
    except Exception as exc:  # boundary: the engine still starts (signals), the symbols cannot take orders
        reason = f"instrument rules could not be loaded at start: {exc}"
        log.warning("instrument rules unavailable", error=repr(exc), symbols=len(symbols))
        return LoadedInstruments({}, dict.fromkeys(symbols, reason), {})
    listed = [i for i in instruments if i.symbol in set(symbols)]
    rules = {
        i.symbol: InstrumentRules(tick_size=i.tick_size, qty_step=i.qty_step, min_qty=i.min_order_qty)
        for i in listed
    }
    min_notional = {
        i.symbol: i.lot_size_filter.min_notional_value
        for i in listed
        if i.lot_size_filter.min_notional_value is not None
    }
    unavailable = {
        s: "not listed in the exchange's instruments-info at start" for s in symbols if s not in rules
    }
    for symbol, reason in unavailable.items():
        log.warning("symbol unavailable for orders", symbol=symbol, reason=reason)
    return LoadedInstruments(rules, unavailable, min_notional)


async def serve(
    settings: Any,
    storage: Any,
    *,
    publisher: SignalPublisher | None = None,
    metrics: RiskMetrics | None = None,
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
    task_status: trio.TaskStatus[Engine] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the engine until ``shutdown_trigger`` returns (or forever); report the ``Engine`` once events flow.

    Args:
        settings: ``algogrid.settings.Settings`` (mode, symbols, research_mode, engine, exchange, simulator,
            strategy, risk, webhooks).
        storage: an open ``storage.Storage``.
        publisher: the gateway's ``SignalPublisher`` (default: log the signals).
        metrics: the risk room's metrics (default: on a registry of their own, ``Engine.metrics``).
        shutdown_trigger: returns when the engine must stop in order (``algogrid run``: after the gateway
            drained); default never.

    Raises:
        EngineError: the supervision root failed.
    """
    symbols: tuple[str, ...] = tuple(settings.symbols)
    trigger = shutdown_trigger or trio.sleep_forever
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
                update={
                    "rest_url": sim.rest_url,
                    "ws_public_url": sim.ws_public_url,
                    "ws_private_url": sim.ws_private_url,
                    "credentials": _simulator_credentials(sim),
                }
            )
            await _run(settings, storage, exchange_config, publisher, metrics, sim, trigger, task_status)
    else:
        exchange_config = settings.exchange
        if exchange_config.credentials is None:  # U-08: the active stored key, decrypted for this session
            exchange_config = exchange_config.model_copy(
                update={"credentials": await _stored_credentials(settings, storage)}
            )
        await _run(settings, storage, exchange_config, publisher, metrics, None, trigger, task_status)


async def _stored_credentials(settings: Any, storage: Any) -> Credentials | None:
    """Return the active ``api_keys`` row of the configured venue, decrypted through the ``SecretCipher``."""
    from algogrid.api_key_wiring import stored_credentials
    from algogrid.auth_wiring import cipher_for

    url = settings.exchange.rest_url
    environment = "testnet" if "testnet" in url else "demo" if "demo" in url else "mainnet"
    cipher = cipher_for(settings.auth, settings.mode, settings.storage.data_dir)
    return await stored_credentials(storage, cipher, environment)


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


async def _resume_market(simulator: Simulator, session: PublicSession, timeout_s: float) -> None:
    """Let simulated time run once every symbol's topics are subscribed (every book synced).

    The market is paused from the simulator's start: no bar closes between the REST warm-up and the
    subscription, so the stored window (what each IndicatorActor reloads) ends exactly where the live stream
    begins. At high speeds (a bar every 1/6 s at 1800) the start-up would otherwise lose bars for good.
    """
    with trio.move_on_after(timeout_s) as waited:
        await session.wait_subscribed()
    if waited.cancelled_caught:
        log.warning("simulation resumed before subscription", timeout_s=timeout_s)
    simulator.clock.resume()


async def _until_stopped(trigger: Callable[[], Awaitable[None]], root_failed: trio.Event) -> None:
    """Return when ``trigger`` returns or the supervision root failed, whichever comes first."""
    async with trio.open_nursery() as waiters:

        async def wait_for(event: Callable[[], Awaitable[None]]) -> None:
            await event()
            waiters.cancel_scope.cancel()

        waiters.start_soon(wait_for, trigger)
        waiters.start_soon(wait_for, root_failed.wait)


def _announce(
    engine: Engine, config: EngineConfig, unavailable: list[str], task_status: trio.TaskStatus[Engine]
) -> None:
    """Log the start, freeze the warmed-up heap when configured and report the engine started."""
    log.info(
        "engine started",
        mode=engine.mode,
        symbols=len(engine.router.symbols),
        webhooks=engine.alerts is not None,
        private_stream=engine.private_session is not None,
        unavailable_for_orders=unavailable,
    )
    if config.freeze_heap_after_start:
        log.info("start-up heap frozen", objects=freeze_startup_heap())
    task_status.started(engine)


async def _run(  # noqa: PLR0915, PLR0917 - private, called from serve only; one ordered start sequence
    settings: Any,
    storage: Any,
    exchange_config: Any,
    publisher: SignalPublisher | None,
    metrics: RiskMetrics | None,
    simulator: Simulator | None,
    trigger: Callable[[], Awaitable[None]],
    task_status: trio.TaskStatus[Engine],
) -> None:
    mode: str = settings.mode
    symbols: tuple[str, ...] = tuple(settings.symbols)
    config: EngineConfig = settings.engine
    source = "simulator" if mode == "simulation" else "ws"
    store = storage.market(source=source)
    async with rest_client(exchange_config, storage) as rest, trio.open_nursery() as services:
        loaded = await instrument_rules(rest, symbols)
        pipeline: PipelineConfig = settings.pipeline
        log.info("backfill started", symbols=len(symbols), bars=pipeline.backfill_bars)
        report = await backfill(
            rest, store, symbols, bars=pipeline.backfill_bars, min_interval_s=config.backfill_interval_s
        )
        queue = TrioWorkQueue(
            maxsize=config.work_queue_size, concurrency=config.work_concurrency, name="engine"
        )
        # The queue and the dispatcher live in the outer nursery: they outlive the tree's stop (the RiskActor
        # flushes denials on stop, an alert may be submitted last) and are cancelled only after it.
        await services.start(queue.run)
        wiring = RiskWiring(
            metrics=metrics or new_metrics(settings.monitor.stats_window_days),
            alerts=await start_alerts(settings.webhooks, storage, services),
            limits=LiveRiskLimits(risk_limits_from(settings.risk)),
            ui=publisher,  # break-even alerts reach the UI as SSE ``be`` events (R-05, G-03)
        )

        resolver = RefResolver()
        work = TrioWorkPort(queue)
        # Market-data integrity counters go on the registry the gateway serves too (D-02, P-06).
        market_metrics = MarketMetrics(wiring.metrics.registry)
        recorder = _start_recorder(settings, storage, market_metrics)
        if recorder is not None:
            await services.start(recorder.run)  # outlives the feeds: the last rows are flushed after them
        deps = SymbolDeps(
            resolve=resolver,
            work=work,
            store=store,
            snapshots=_RestSnapshots(rest),
            publisher=publisher or LoggingPublisher(),
            history=RestBarHistory(rest),
            market_metrics=market_metrics,
        )
        inputs = await _with_calibration(trading_inputs(settings, loaded.rules, loaded.unavailable), storage)
        market_clock = market_clock_for(simulator.clock if simulator is not None else None)
        # The forward phase (S-07): the PositionActors' exchange port refuses every order.
        deps = replace(
            deps,
            positions=_position_deps(
                deps,
                storage,
                NoOrderExchange(rest) if settings.forward.enabled else rest,
                loaded,
                market_clock,
                metrics=ExecutionMetrics(wiring.metrics.registry),
            ),
        )
        root_failed = trio.Event()
        on_root_failure = _setter_from_any_thread(root_failed)
        bridge = TrioBridge()
        risk, monitor = risk_children(
            settings,
            storage,
            work=work,
            resolve=resolver,
            wiring=wiring,
            market_clock=market_clock,
        )
        first_pass = FirstPass()
        tracked: list[str] = list(symbols)  # the router's symbols once it exists
        reconciliation = settings.reconciler
        # C-01: the reconciler starts after symbols (stops first); its start-up pass holds new exposure.
        recon = reconciler_children(
            reconciliation,
            storage,
            work=work,
            exchange=rest,
            resolve=resolver,
            bridge=bridge,
            symbols=lambda: tracked,
            metrics=ReconcilerMetrics(wiring.metrics.registry),
            alerts=wiring.alerts,
            publisher=deps.publisher,
            market_clock=market_clock,
            on_recorded=first_pass,
        )
        root = SupervisorSpec(
            ROOT,
            children=(
                risk, monitor, symbols_spec(symbols, pipeline, inputs, deps, settings.execution), *recon
            ),
            intensity=pipeline.root_supervisor.intensity,
            backoff=pipeline.root_supervisor.backoff,
        )
        # Supervision counters go on the risk registry, which the gateway serves on /metrics.
        supervision_metrics = SupervisionMetrics(wiring.metrics.registry)
        tree = SupervisionTree.start(root, on_root_failure=on_root_failure, metrics=supervision_metrics)
        resolver.bind(tree.ref)
        _watch_theta_maps(services, storage, tree, symbols=symbols, settings=settings, inputs=inputs)
        try:
            async with trio.open_nursery() as feeds:
                router = SymbolRouter(
                    lambda s: tree.ref(feed_path(s)),
                    lambda exc: isinstance(exc, ActorUnavailable | UnknownPath),
                )
                controller = SymbolsController(
                    tree, bridge, pipeline, inputs, deps, router, execution=settings.execution
                )
                await bridge.wait_settled(tree, timeout=config.stop_timeout_s)
                for symbol in symbols:
                    router.add(symbol)
                tracked[:] = sorted(router.symbols)
                private_router = _private_router(tree, router)
                resumed = _reconcile_on_resume(tree, private_router) if recon else None
                tap = ForeignActivityTap(private_router, lambda: tree.ref(RECONCILER)) if recon else None
                private = await _start_private(
                    feeds,
                    exchange_config,
                    private_router,
                    rest,
                    config.stop_timeout_s,
                    on_resumed=resumed,
                    sink=tap,
                )
                sink = router if recorder is None else TeeSink(router, recorder)
                session = PublicSession(exchange_config, symbols, sink, rest)
                await feeds.start(session.run)
                if simulator is not None:
                    await _resume_market(simulator, session, config.stop_timeout_s)
                if recon:
                    await _first_pass(first_pass, reconciliation.pass_timeout_s)
                engine = Engine(
                    tree=tree,
                    router=router,
                    controller=controller,
                    bridge=bridge,
                    mode=mode,
                    warmup=report,
                    metrics=wiring.metrics,
                    view=SupervisionEngineView(
                        tree,
                        bridge,
                        lambda: sorted(router.symbols),
                        checks=_readiness_checks(session, report, private),
                        market_clock=market_clock,
                        instruments=inputs.order_rules,
                    ),
                    alerts=wiring.alerts,
                    session=session,
                    simulator=simulator,
                    market_clock=market_clock,
                    rest=rest,
                    inputs=inputs,
                    private_session=private,
                    private_router=private_router,
                    risk_limits=wiring.limits,
                    reconciliation=(
                        ReconciliationAccess(tree.ref, bridge, storage, reconciliation) if recon else None
                    ),
                    recorder=recorder,
                    market_metrics=market_metrics,
                )
                _announce(engine, config, sorted(loaded.unavailable), task_status)
                await _until_stopped(trigger, root_failed)
                feeds.cancel_scope.cancel()
        finally:
            unfreeze_heap()
            await _stop_tree(bridge, tree, config.stop_timeout_s)
        services.cancel_scope.cancel()
    if root_failed.is_set():
        raise EngineError(f"the supervision root failed: {tree.failure.as_json() if tree.failure else '?'}")


def _watch_theta_maps(
    services: trio.Nursery, storage: Any, tree: SupervisionTree, *, symbols: Sequence[str], settings: Any,
    inputs: TradingInputs,
) -> None:  # fmt: skip
    """Start the θ-map watcher (S-05): each poll tells every SignalActor the version in force."""
    services.start_soon(
        watch_theta_maps, storage, lambda s, m: tree.ref(signal_path(s)).tell(m), symbols,
        settings.calibration, inputs.theta_map.default,
    )  # fmt: skip


async def _with_calibration(inputs: TradingInputs, storage: Any) -> TradingInputs:
    """Return ``inputs`` with the θ maps and p_win statistics in force (the newest calibration, S-05)."""
    active = await storage.calibration.load_active(inputs.theta_map.default)
    if active is None:
        return inputs
    log.info("calibration in force", version=active.version, symbols=len(active.theta_maps))
    return replace(inputs, theta_maps=dict(active.theta_maps), calibrations=dict(active.stats))


def _position_deps(
    deps: SymbolDeps,
    storage: Any,
    rest: Any,
    loaded: LoadedInstruments,
    market_clock: Clock,
    *,
    metrics: ExecutionMetrics,
) -> PositionDeps:
    """Return the PositionActors' ports (E-01..E-08).

    Placement, fills, protection and close run as work-queue jobs on the rate-limited REST client; the
    RiskActor and the MonitorActor are reached by path; position changes go to the signals' publisher (the
    gateway's feed, SSE ``position``). Private events arrive through the ``PrivateRouter``.
    """
    return PositionDeps(
        work=deps.work,
        store=storage.execution,
        exchange=rest,
        risk=LazySink(deps.resolve, RISK),
        publisher=deps.publisher,
        monitor=LazySink(deps.resolve, MONITOR),
        market_clock=market_clock,
        min_notional_usd=loaded.min_notional_usd,
        metrics=metrics,
    )


async def _first_pass(first: FirstPass, timeout_s: float) -> None:
    """Wait (bounded) for the reconciler's start-up pass: DESIGN §9, storage → reconciliation → clicks.

    A timeout is only logged: new exposure stays held by the RiskActor until a pass is recorded.
    """
    with trio.move_on_after(timeout_s) as waited:
        await first.event.wait()
    if waited.cancelled_caught:
        log.warning("no reconciliation pass at start; new exposure stays held", timeout_s=timeout_s)
        return
    record = first.first
    log.info(
        "start-up reconciliation pass recorded",
        clean=record.clean if record else None,
        critical=record.critical if record else None,
    )


def _reconcile_on_resume(tree: SupervisionTree, router: PrivateRouter) -> Callable[[int], None]:
    """Return the private session's resume hook: REST re-validation by every PositionActor, then a pass."""

    def resumed(at_ms: int) -> None:
        router.resumed(at_ms)
        try:
            tree.ref(RECONCILER).tell(RunPass("stream_resumed"))
        except (ActorUnavailable, UnknownPath) as exc:
            log.warning("reconciler unavailable on resume", error=repr(exc))

    return resumed
def _start_recorder(settings: Any, storage: Any, metrics: MarketMetrics) -> StreamRecorder | None:
    """Return the recorder of trades, tickers and funding (P-06), or None when ``pipeline.streams`` is off."""
    streams = settings.pipeline.streams
    return StreamRecorder(storage.streams, streams, metrics) if streams.record else None


def _private_router(tree: SupervisionTree, router: SymbolRouter) -> PrivateRouter:
    """Return the private session's sink: events to each PositionActor of ``router``'s symbols."""
    return PrivateRouter(
        lambda s: tree.ref(position_path(s)),
        lambda exc: isinstance(exc, ActorUnavailable | UnknownPath),
        lambda: router.symbols,
    )


async def _start_private(
    feeds: trio.Nursery,
    exchange_config: ExchangeConfig,
    router: PrivateRouter,
    rest: BybitRestClient,
    timeout_s: float,
    *,
    on_resumed: Callable[[int], None] | None = None,
    sink: EventSink | None = None,
) -> PrivateSession | None:
    """Start the private WS session on ``router`` in ``feeds`` when the config has credentials, else None.

    Waits (bounded by ``timeout_s``) until it is authenticated and subscribed; a timeout is only logged: the
    engine still starts without it (signals do not need it) and readiness says ``exchange_private``.
    """
    credentials = exchange_config.credentials
    if credentials is None:
        log.warning("no exchange credentials: private stream off, trading unavailable")
        return None
    resumed = on_resumed or router.resumed
    private = PrivateSession(exchange_config, credentials, sink or router, rest, on_resumed=resumed)
    await feeds.start(private.run)
    with trio.move_on_after(timeout_s) as waited:
        await private.wait_ready()
    if waited.cancelled_caught:
        log.warning("private session not ready at start", timeout_s=timeout_s)
    return private


async def _stop_tree(bridge: TrioBridge, tree: SupervisionTree, timeout_s: float) -> None:
    """Stop ``tree`` from trio, in order (reverse start order), within ``timeout_s``.

    On the ordered path nothing is cancelled and this is a plain await. Cancelled from outside, the actor
    threads must still be stopped before the run ends: the stop is then shielded as a bounded cleanup (the
    order of the shutdown is not at stake any more — the services are being cancelled with it).
    """
    log.info("engine stopping")
    with trio.CancelScope(shield=True):  # cleanup of threads, bounded by timeout_s; not an ordering device
        await bridge.stop_tree(tree, timeout=timeout_s)
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


class _RestSnapshots:
    """``SnapshotSource`` over the REST client (runs in the trio thread)."""

    def __init__(self, rest: BybitRestClient) -> None:
        self._rest = rest

    async def fetch_snapshot(self, symbol: str) -> bybit.BookSnapshot:
        return await self._rest.get_orderbook(symbol, limit=50)
