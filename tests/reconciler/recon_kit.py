"""Test kit of the reconciler: the real RiskActor, PositionActor and ReconcilerActor in one real tree.

``running_system`` starts ``root → risk, symbols/BTCUSDT/position, reconciler`` (the engine's shape and
start order) on real PostgreSQL and Redis, the real trio work queue, the real ``BybitRestClient`` against the
simulator over real sockets and the real ``PrivateSession`` (its events routed to the PositionActor; a resume
re-validates and runs a pass, as ``algogrid.engine`` does). Stopping the tree and starting it again on the
same simulator is a restart: the exchange keeps its state, the engine rebuilds from PostgreSQL.
``other_client`` is a second REST client on the *same account* (another bot, a person on the website).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import trio
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from actors import RefResolver, TradingInputs
from actors.paths import position_path
from actors.position import ExecutionConfig, PositionActor, PositionDeps, PrivateStreamResumed
from actors.reconciler import (
    GetReconciliationStatus,
    ReconcilerConfig,
    ReconcilerMetrics,
    ReconciliationStatus,
    RunPass,
)
from actors.risk import (
    GetRiskSnapshot,
    RiskActor,
    RiskActorDeps,
    RiskConfig,
    RiskMetrics,
    RiskSnapshot,
    risk_limits_from,
)
from algogrid.market_clock import SimMarketClock
from algogrid.reconciler_wiring import FirstPass, ForeignActivityTap, reconciler_child
from exchange import Credentials, ExchangeConfig
from exchange.bybit import BybitRestClient, OrderRequest, PrivateSession
from exchange.simulator import Simulator
from storage import ServerUrls, StorageConfig, open_storage
from supervision import ChildSpec, Intensity, SupervisionTree, SupervisorSpec, TrioBridge, TrioWorkQueue
from tests.position.position_kit import (
    API_KEY,
    API_SECRET,
    RESTART,
    RULES,
    SYMBOL,
    PositionRig,
    Published,
    Router,
)
from tests.risk.risk_kit import Collector, LateSink, WorkPort
from tests.support import eventually_async

FAST = ReconcilerConfig(interval_s=0.5, lock_ttl_s=10.0, pass_timeout_s=8.0, actor_timeout_s=2.0)


def exchange_config(sim: Simulator, **overrides: Any) -> ExchangeConfig:
    """Return the exchange config of the simulator with short retries (and ``overrides``)."""
    values: dict[str, Any] = {
        "rest_url": sim.rest_url,
        "ws_public_url": sim.ws_public_url,
        "ws_private_url": sim.ws_private_url,
        "request_timeout_s": 2.0,
        "retry_backoff_min_s": 0.05,
        "retry_backoff_max_s": 0.2,
        **overrides,
    }
    return ExchangeConfig(**values)


CREDS = Credentials(api_key=API_KEY, api_secret=SecretStr(API_SECRET))


@dataclass
class ReconRig(PositionRig):
    """A running tree with the RiskActor, the PositionActor of ``BTCUSDT`` and the ReconcilerActor."""

    metrics: ReconcilerMetrics | None = None
    first_pass: FirstPass | None = None
    session: PrivateSession | None = None

    async def status(self) -> ReconciliationStatus:
        status: ReconciliationStatus = await self.bridge.ask(
            self.tree.ref("root/reconciler"), GetReconciliationStatus(), timeout=5
        )
        return status

    async def risk(self) -> RiskSnapshot:
        snapshot: RiskSnapshot = await self.bridge.ask(
            self.tree.ref("root/risk"), GetRiskSnapshot(), timeout=5
        )
        return snapshot

    async def next_pass(self, timeout: float = 15.0) -> ReconciliationStatus:  # noqa: ASYNC109
        """Ask for a pass now and return the status once a newer pass than now is recorded."""
        before = len((await self.status()).passes)
        self.tree.ref("root/reconciler").tell(RunPass("test"))

        async def newer() -> ReconciliationStatus | None:
            status = await self.status()
            ahead = status.passes and status.passes[0].run_id
            return status if len(status.passes) > before and ahead and not status.running else None

        return await eventually_async(newer, timeout=timeout)


@asynccontextmanager
async def running_system(
    db_url: str,
    redis_url: str,
    sim: Simulator,
    *,
    config: ReconcilerConfig = FAST,
    r_unit: Decimal = Decimal(25),
    owner: str | None = None,
    exchange_overrides: dict[str, Any] | None = None,
    publisher: Any = None,
) -> AsyncIterator[ReconRig]:
    """Start the tree (the reconciler's start-up pass included); stop it and the private session after."""
    execution = ExecutionConfig(fill_wait_seconds=1.0, poll_interval_s=0.2)
    xconfig = exchange_config(sim, **(exchange_overrides or {}))
    async with (
        open_storage(
            StorageConfig(pool_min_size=1, pool_max_size=8), ServerUrls(db_url, redis_url)
        ) as storage,
        BybitRestClient(xconfig, CREDS) as rest,
        trio.open_nursery() as nursery,
    ):
        queue = TrioWorkQueue(maxsize=10_000, concurrency=8, name="recon")
        await nursery.start(queue.run)
        work = WorkPort(queue)
        risk_config = RiskConfig(
            risk_per_trade_usd=r_unit, max_total_risk_usd=r_unit * 10, await_reconciliation=True
        )
        market = SimMarketClock(sim.clock)
        registry = CollectorRegistry()
        risk_deps = RiskActorDeps(
            work=work, store=storage.risk_state, metrics=RiskMetrics(registry), market_clock=market
        )
        risk_sink, published, monitor = LateSink(), Published(), Collector()
        deps = PositionDeps(
            work=work,
            store=storage.execution,
            exchange=rest,
            risk=risk_sink,
            publisher=published,
            monitor=monitor,
            market_clock=market,
        )
        inputs = TradingInputs(risk_per_trade_usd=r_unit, instruments={SYMBOL: RULES})
        tolerant = Intensity(max_restarts=10, within_seconds=60.0)
        position = ChildSpec(
            "position", lambda: PositionActor.start(SYMBOL, execution, inputs, deps), kind="position"
        )
        symbol = SupervisorSpec(
            SYMBOL, children=(position,), intensity=tolerant, backoff=RESTART, kind="symbol"
        )
        symbols = SupervisorSpec("symbols", children=(symbol,), intensity=tolerant, backoff=RESTART)
        risk = ChildSpec(
            "risk",
            lambda: RiskActor.start(risk_config, risk_limits_from(risk_config), risk_deps),
            kind="risk",
        )
        bridge = TrioBridge()
        resolver = RefResolver()
        metrics = ReconcilerMetrics(registry)
        first = FirstPass()
        events = _Events()
        reconciler = reconciler_child(
            config,
            storage,
            work=work,
            exchange=rest,
            resolve=resolver,
            bridge=bridge,
            symbols=lambda: [SYMBOL],
            metrics=metrics,
            publisher=publisher or events,
            market_clock=market,
            on_recorded=first,
            lock_owner=owner,
        )
        spec = SupervisorSpec(
            "root", children=(risk, symbols, reconciler), intensity=tolerant, backoff=RESTART
        )
        router = Router()
        tree = SupervisionTree.start(spec, watchdog_interval=None)
        resolver.bind(tree.ref)
        risk_sink.target = tree.ref("root/risk")

        def resumed(at_ms: int) -> None:
            at = dt.datetime.fromtimestamp(at_ms / 1000, tz=dt.UTC)
            tree.ref(position_path(SYMBOL)).tell(PrivateStreamResumed(at=at))
            tree.ref("root/reconciler").tell(RunPass("stream_resumed"))

        tap = ForeignActivityTap(router, lambda: tree.ref("root/reconciler"))  # as algogrid.engine does
        session = PrivateSession(xconfig, CREDS, tap, rest, on_resumed=resumed)
        await nursery.start(session.run)
        with trio.fail_after(10):
            await session.wait_ready()
        try:
            await eventually_async(tree.settled, timeout=10)
            router.target = tree.ref(position_path(SYMBOL))
            rig = ReconRig(
                tree,
                bridge,
                storage,
                sim,
                rest,
                published,
                monitor,
                execution,
                r_unit,
                metrics,
                first,
                session,
            )
            rig.events = events  # type: ignore[attr-defined]

            async def first_pass_acted() -> bool:
                return bool((await rig.status()).passes)

            await eventually_async(first_pass_acted, timeout=10)  # DESIGN §9: reconciliation, then clicks
            yield rig
        finally:
            tree.faults.clear()
            await bridge.stop_tree(tree, timeout=30)
            nursery.cancel_scope.cancel()


class _Events:
    """The reconciler's publisher: records ``ReconciliationEvent``s."""

    def __init__(self) -> None:
        self.events: list[object] = []

    def publish(self, event: object) -> None:
        self.events.append(event)


@asynccontextmanager
async def other_client(sim: Simulator) -> AsyncIterator[BybitRestClient]:
    """Yield a second REST client on the same account (a person or another bot)."""
    async with BybitRestClient(exchange_config(sim), CREDS) as rest:
        yield rest


async def market(
    client: BybitRestClient, side: str, qty: Decimal, link: str, *, reduce_only: bool = False
) -> None:
    """Place a market order as the other client."""
    await client.create_order(
        OrderRequest(
            symbol=SYMBOL,
            side=side,  # type: ignore[arg-type]
            order_type="Market",
            qty=qty,
            time_in_force="IOC",
            order_link_id=link,
            reduce_only=reduce_only,
        )
    )
