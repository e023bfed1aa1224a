"""Benchmark the order path (E-02, E-04): click → intent → exchange ack, and fill → ``executions`` row.

Starts embedded PostgreSQL/Redis (or uses DATABASE_URL/REDIS_URL), migrates a fresh database and runs the real
engine, ``algogrid.engine.serve``, in simulation mode on the 15 whitelisted symbols (simulator over loopback
sockets, fixed seed, speed 1: market time runs as wall time, so the signals stay within the grace period).
The engine's REST client keeps its Redis-backed limiter (E-08: ``rest_order`` 10/s), so clicks are paced
under it (``--tokens-per-s``).

**The click.** Per order, one signal is stored through the product's repository (``storage.signals``,
status ``new``, created now in market time, levels around the simulator's current mid), then "clicked" the
way the gateway's ``POST /positions/open`` does it, minus HTTP: ``storage.signals.get`` →
``signal_view_of`` → ``Engine.view.open_position`` (``SupervisionEngineView``: a ``ReplyFuture`` in
``PlaceOrderFromSignal`` told to ``actors.position_path(symbol)``, awaited with ``TrioBridge.wait``).
The engine view is called directly, not over HTTP. No preview is asked. Every ``--fill-every``-th signal
is marketable (a buy limit 0.4 % over the mid: it fills, then the actor places SL + TP1..3, i.e. 4 more
``rest_order`` tokens); the others are priced 1 % under the mid, so their IOC entry is acknowledged and
expires unfilled (one token each). Positions stay open (risk limits are raised so that the RiskActor
approves every click; 1R is $5).

**What is measured** (all on this machine's wall clock, ``time.time_ns`` and PostgreSQL's ``now()``):

* ``click_to_ack_*`` — click start (before the signal read) → the engine's REST client got the exchange's
  answer to the entry's ``/v5/order/create``. The PositionActor answers the click only after the fills and
  the protective orders, so the ack instant is observed by wrapping ``create_order`` of the engine's REST
  client instance (``Engine.rest``) with a recorder that notes ``time.time_ns()`` when the call returns,
  keyed by ``orderLinkId``; the call itself, its arguments and its result are unchanged. The path includes
  the signal read, the risk verdict, the intent commit, the rate-limiter token (a Redis call) and the REST
  round trip.
* ``click_to_intent_*`` — click start → the entry intent's ``orders.created_at`` (``now()`` of the one
  statement that inserts the position, the intent and the audit row; it commits before the REST call).
* ``legs_ms`` — click → ack cut at those two marks: the gateway's signal read, read → intent committed
  (the actor's signal load, the RiskActor's verdict, the intent transaction), intent → ack (the limiter
  token, a Redis call, and the REST create round trip).
* ``fill_to_db_*`` — a fill at the exchange → its ``executions`` row. The fill instant is when the simulator
  hands the execution to its private WebSocket hub: the simulator matches and pushes in one synchronous step
  (``/v5/order/create`` flushes its pushes before answering; resting orders flush after the market step), so
  the bench wraps the hub's ``publish_private`` (test infrastructure, not product code) and notes
  ``time.time_ns()`` per ``execId``. The row's ``received_at`` is ``now()`` of the inserting transaction (its
  start; the commit follows in the same round trip, before the actor applies the fill). The simulator's
  ``execTime`` is not used: it is the market's last step time, up to ``book_interval_ms`` (100 ms) stale.
* ``rest_floor_*`` — the same request shape (IOC limit entries, same mix and sizing) sent sequentially by a
  bare ``BybitRestClient.create_order`` (no engine, no limiter) on its own simulator account: the floor.

The timestamps of the rows are read at the end with two read-only queries on ``storage.db`` (measurement
only; no repository exposes ``received_at``). Fewer fills than orders are sampled: positions stay open and
``risk.max_concurrent_positions`` is at most 100, so about one signal in seven fills.

Run: ``.venv/bin/python bench/execution.py [--orders N]``. The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.position import PositionChanged
from actors.risk import RiskConfig
from algogrid.engine import Engine, serve
from algogrid.gateway_wiring import signal_view_of
from algogrid.settings import WHITELIST, Settings
from exchange.bybit import BybitRestClient, OrderAck, OrderRequest
from exchange.config import Credentials, ExchangeConfig
from exchange.simulator import Simulator, SimulatorConfig
from gateway import GatewayError
from storage import ServerUrls, Storage, StorageConfig, StoredSignal, open_storage, start_servers, upgrade
from strategy_core.config import InstrumentRules
from strategy_core.execution import EntrySizing, OrderPurpose, order_link_id, size_entry
from strategy_core.models import Side
from strategy_core.numeric import round_nearest_to_step

RISK_PER_TRADE = Decimal(5)
SL_DISTANCE = Decimal("0.01")
MARKETABLE_OVER_MID = Decimal("1.004")
PASSIVE_UNDER_MID = Decimal("0.99")
PROTECTIVE_ORDERS = 4  # SL + TP1..TP3 after a filled entry
CLICK_TARGET_P99_MS = 50.0
FILL_TARGET_P99_MS = 25.0


# ------------------------------------------------------------------------------------------- observers


class PositionEvents:
    """The engine's publisher: counts the ``PositionChanged`` events (the SSE channel's load in this run)."""

    def __init__(self) -> None:
        self.events = 0

    def publish(self, event: object) -> None:
        """Count a ``PositionChanged``; ignore the signals (non-blocking, runs in actor threads)."""
        if isinstance(event, PositionChanged):
            self.events += 1


class AckRecorder:
    """Notes, per ``orderLinkId``, the wall time the engine's REST client returned the exchange's ack."""

    def __init__(self, rest: BybitRestClient) -> None:
        self.acks_ns: dict[str, int] = {}
        original: Callable[[OrderRequest], Awaitable[OrderAck]] = rest.create_order

        async def create_order(request: OrderRequest) -> OrderAck:
            ack = await original(request)
            self.acks_ns.setdefault(request.order_link_id, time.time_ns())
            return ack

        # An instance attribute shadows the method for this one client: behaviour and result unchanged.
        setattr(rest, "create_order", create_order)  # noqa: B010


class PushRecorder:
    """Notes, per ``execId``, the wall time the simulator pushed the execution to its private WS hub."""

    def __init__(self, sim: Simulator) -> None:
        self.pushed_ns: dict[str, int] = {}
        hub = getattr(sim, "_hub")  # noqa: B009 - the simulator's hub: test infrastructure, observed only
        original: Callable[..., None] = hub.publish_private

        def publish_private(account: object, topic: str, data: list[dict[str, Any]], now_ms: int) -> None:
            if topic == "execution":
                at = time.time_ns()
                for item in data:
                    self.pushed_ns.setdefault(str(item.get("execId")), at)
            original(account, topic, data, now_ms)

        setattr(hub, "publish_private", publish_private)  # noqa: B010


@dataclass
class Click:
    """One placed signal and what was seen of it."""

    signal: StoredSignal
    marketable: bool
    clicked_ns: int = 0
    read_ns: int = 0
    answered_ns: int = 0
    status: str = ""
    error: str | None = None


@dataclass
class Plan:
    """The clicks of the run, in order."""

    clicks: list[Click] = field(default_factory=list)


# ------------------------------------------------------------------------------------------- helpers


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ns(at: dt.datetime) -> int:
    """Return a PostgreSQL timestamp as epoch nanoseconds (microsecond precision)."""
    return int(at.timestamp()) * 1_000_000_000 + at.microsecond * 1000


def _summary(samples: list[float]) -> tuple[float | None, float | None, float | None]:
    """Return (p50, p99, max) in ms, or Nones without samples."""
    if not samples:
        return None, None, None
    return round(statistics.median(samples), 3), round(_pct(samples, 0.99), 3), round(max(samples), 3)


def _signal(
    symbol: str, mid: Decimal, rules: InstrumentRules, marketable: bool, now: dt.datetime
) -> StoredSignal:
    """Return a ``new`` long signal created ``now``: marketable (over the mid) or passive (under it)."""
    tick = rules.tick_size
    entry = round_nearest_to_step(mid * (MARKETABLE_OVER_MID if marketable else PASSIVE_UNDER_MID), tick)
    distance = max(round_nearest_to_step(entry * SL_DISTANCE, tick), tick)
    return StoredSignal(
        id=uuid.uuid4(),
        symbol=symbol,
        side="long",
        entry=entry,
        tp1=entry + distance,
        tp2=entry + 2 * distance,
        tp3=entry + 3 * distance,
        sl=entry - distance,
        qty=max(RISK_PER_TRADE / distance, rules.min_qty),
        risk_usd=RISK_PER_TRADE,
        risk_r=Decimal(1),
        p_win=Decimal("0.6"),
        strategy="avi5",
        strategy_version="bench",
        status="new",
        bar_start=now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0),
        created_at=now,
        queued_until=None,
        error_code=None,
        error_message=None,
    )


async def _ready(engine: Engine, timeout_s: float) -> None:
    with trio.fail_after(timeout_s):
        while True:
            checks = await engine.view.readiness()
            if all(reason is None for reason in checks.values()):
                return
            await trio.sleep(0.1)


# ------------------------------------------------------------------------------------------- the engine


async def _click(engine: Engine, storage: Storage, click: Click, timeout_s: float, plan: Plan) -> None:
    click.clicked_ns = time.time_ns()
    stored = await storage.signals.get(click.signal.id)  # as POST /positions/open reads it
    click.read_ns = time.time_ns()
    if stored is None:
        click.status, click.error = "error", f"signal {click.signal.id} not stored"
    else:
        try:
            result = await engine.view.open_position(signal_view_of(stored), "bench", timeout_s)
            click.status = result.order.status
        except GatewayError as exc:
            click.status, click.error = "error", f"{type(exc).__name__}: {exc}"
    click.answered_ns = time.time_ns()


async def _run_clicks(engine: Engine, storage: Storage, settings: Settings, args: argparse.Namespace) -> Plan:
    sim = engine.simulator
    clock = engine.market_clock
    inputs = engine.inputs
    assert sim is not None
    assert clock is not None
    assert inputs is not None
    plan = Plan()
    total = args.orders + args.warmup
    symbols = list(WHITELIST)
    interval_per_token = 1.0 / args.tokens_per_s
    timeout_s = settings.gateway.order_timeout_s
    async with trio.open_nursery() as nursery:
        next_at = trio.current_time()
        for start in range(0, total, len(symbols)):
            batch: list[Click] = []
            now = clock.now()
            for i in range(start, min(total, start + len(symbols))):
                symbol = symbols[i % len(symbols)]
                marketable = i % args.fill_every == 0
                mid = sim.market(symbol).mid()
                signal = _signal(symbol, mid, inputs.order_rules(symbol), marketable, now)
                batch.append(Click(signal, marketable))
            stored = await storage.signals.insert_many([c.signal for c in batch])
            if not all(stored):
                raise RuntimeError("expected every bench signal to be new")
            for click in batch:
                await trio.sleep_until(next_at)
                plan.clicks.append(click)
                nursery.start_soon(_click, engine, storage, click, timeout_s, plan)
                cost = 1 + (PROTECTIVE_ORDERS if click.marketable else 0)
                next_at = max(next_at, trio.current_time() - 1.0) + cost * interval_per_token
    return plan


async def _fills_settled(storage: Storage, timeout_s: float) -> int:
    """Wait until the ``executions`` count stops growing (fills still on their way); return it."""
    last, stable = -1, 0
    with trio.move_on_after(timeout_s):
        while stable < 5:
            count = int(await storage.db.fetchval("SELECT count(*) FROM executions"))
            stable = stable + 1 if count == last else 0
            last = count
            await trio.sleep(0.2)
    return last


# ------------------------------------------------------------------------------------------- the floor


async def _floor(engine: Engine, args: argparse.Namespace) -> list[float]:
    """Return the bare REST create round trips (ms) of the same request mix on a fresh account."""
    sim, inputs = engine.simulator, engine.inputs
    assert sim is not None
    assert inputs is not None
    key, secret = f"bench-{secrets.token_hex(6)}", secrets.token_hex(32)
    sim.add_account(key, secret, Decimal(1_000_000))
    config = ExchangeConfig(
        rest_url=sim.rest_url, ws_public_url=sim.ws_public_url, ws_private_url=sim.ws_private_url
    )
    samples: list[float] = []
    symbols = list(WHITELIST)
    async with BybitRestClient(config, Credentials(api_key=key, api_secret=secret)) as client:
        for i in range(args.orders + args.warmup):
            symbol = symbols[i % len(symbols)]
            rules = inputs.order_rules(symbol)
            marketable = i % args.fill_every == 0
            now = dt.datetime.now(dt.UTC)
            signal = _signal(symbol, sim.market(symbol).mid(), rules, marketable, now)
            sizing = size_entry(Side.LONG, signal.entry, signal.sl, RISK_PER_TRADE, rules)
            assert isinstance(sizing, EntrySizing), sizing
            # Marketable ones alternate Buy/Sell so the floor account stays near flat.
            sell = marketable and (i // args.fill_every) % 2 == 1
            price = sizing.price
            if sell:
                price = round_nearest_to_step(signal.entry * (2 - MARKETABLE_OVER_MID), rules.tick_size)
            request = OrderRequest(
                symbol=symbol,
                side="Sell" if sell else "Buy",
                order_type="Limit",
                qty=sizing.qty,
                price=price,
                time_in_force="IOC",
                order_link_id=order_link_id(str(signal.id), OrderPurpose.ENTRY, 0),
            )
            started = time.perf_counter_ns()
            await client.create_order(request)
            took = (time.perf_counter_ns() - started) / 1e6
            if i >= args.warmup:
                samples.append(took)
    return samples


# ------------------------------------------------------------------------------------------- main


async def _run(args: argparse.Namespace, urls: ServerUrls) -> dict[str, Any]:
    settings = Settings(
        mode="simulation",
        symbols=WHITELIST,
        risk=RiskConfig(
            risk_per_trade_usd=RISK_PER_TRADE,
            max_total_risk_usd=Decimal(10_000_000),
            max_concurrent_positions=100,
            max_positions_per_base=20,
            churn_block_sec=0,
        ),
        simulator=SimulatorConfig(
            seed=args.seed,
            speed=1.0,
            book_interval_ms=100,
            history_bars=100,
            default_balance=Decimal(1_000_000),
            order_rate_limit_per_s=1000,  # the simulator's per-key cap; the engine keeps its E-08 limiter
        ),
    )
    events = PositionEvents()
    config = StorageConfig(pool_min_size=5, pool_max_size=20)
    async with open_storage(config, urls) as storage, trio.open_nursery() as nursery:
        engine: Engine = await nursery.start(
            lambda task_status: serve(settings, storage, publisher=events, task_status=task_status)
        )
        assert engine.simulator is not None
        assert engine.rest is not None
        await _ready(engine, 60.0)
        acks = AckRecorder(engine.rest)
        pushes = PushRecorder(engine.simulator)
        print(f"execution bench: engine ready; {args.orders + args.warmup} clicks ...", file=sys.stderr)
        started = trio.current_time()
        plan = await _run_clicks(engine, storage, settings, args)
        clicks_s = trio.current_time() - started
        executions = await _fills_settled(storage, 10.0)
        print(f"execution bench: {executions} executions stored; floor ...", file=sys.stderr)
        floor = await _floor(engine, args)
        entry_rows = await storage.db.fetch(
            "SELECT client_order_id, created_at FROM orders WHERE purpose = 'entry'"
        )
        exec_rows = await storage.db.fetch("SELECT exec_id, received_at FROM executions")
        limiter = engine.rest.rate_limiter
        order_bucket = None if limiter is None else limiter.stats.get("rest_order")
        nursery.cancel_scope.cancel()

    intent_ns = {row["client_order_id"]: _ns(row["created_at"]) for row in entry_rows}
    measured = plan.clicks[args.warmup :]
    click_to_ack: list[float] = []
    click_to_intent: list[float] = []
    legs: dict[str, list[float]] = {"signal_read": [], "read_to_intent": [], "intent_to_ack": []}
    for click in measured:
        link = order_link_id(str(click.signal.id), OrderPurpose.ENTRY, 0)
        ack_ns = acks.acks_ns.get(link)
        if ack_ns is not None:
            click_to_ack.append((ack_ns - click.clicked_ns) / 1e6)
        opening_ns = intent_ns.get(link)
        if opening_ns is not None:
            click_to_intent.append((opening_ns - click.clicked_ns) / 1e6)
        legs["signal_read"].append((click.read_ns - click.clicked_ns) / 1e6)
        if opening_ns is not None and ack_ns is not None:
            legs["read_to_intent"].append((opening_ns - click.read_ns) / 1e6)
            legs["intent_to_ack"].append((ack_ns - opening_ns) / 1e6)
    fill_to_db: list[float] = []
    for row in exec_rows:
        pushed_ns = pushes.pushed_ns.get(row["exec_id"])
        if pushed_ns is not None:
            fill_to_db.append((_ns(row["received_at"]) - pushed_ns) / 1e6)
    errors = [c.error for c in measured if c.error]
    outcomes: dict[str, int] = {}
    for click in measured:
        outcomes[click.status] = outcomes.get(click.status, 0) + 1
    ack, intent, fill, rest = (_summary(v) for v in (click_to_ack, click_to_intent, fill_to_db, floor))
    return {
        "bench": "execution",
        "orders": len(measured),
        "samples": {
            "click_to_ack": len(click_to_ack),
            "click_to_intent": len(click_to_intent),
            "fill_to_db": len(fill_to_db),
            "rest_floor": len(floor),
        },
        "click_to_ack_p50_ms": ack[0],
        "click_to_ack_p99_ms": ack[1],
        "click_to_ack_max_ms": ack[2],
        "click_to_intent_p50_ms": intent[0],
        "click_to_intent_p99_ms": intent[1],
        "click_to_intent_max_ms": intent[2],
        "fill_to_db_p50_ms": fill[0],
        "fill_to_db_p99_ms": fill[1],
        "fill_to_db_max_ms": fill[2],
        # where click → ack goes (p50 / p99): the gateway's signal read; the actor's signal load, risk verdict
        # and intent commit; the limiter token and the REST create round trip
        "legs_ms": {
            name: {"p50": round(statistics.median(v), 3), "p99": round(_pct(v, 0.99), 3)}
            for name, v in legs.items()
            if v
        },
        "rest_floor_p50_ms": rest[0],
        "rest_floor_p99_ms": rest[1],
        "rest_floor_max_ms": rest[2],
        "click_to_ack_target_ms": CLICK_TARGET_P99_MS,
        "fill_to_db_target_ms": FILL_TARGET_P99_MS,
        "outcomes": dict(sorted(outcomes.items())),
        "errors": errors[:3],
        "entry_orders_stored": len(entry_rows),
        "position_events": events.events,
        "executions_stored": len(exec_rows),
        "rest_order_limiter": None
        if order_bucket is None
        else {
            "acquired": order_bucket.acquired,
            "waited": order_bucket.waited,
            "wait_s": round(order_bucket.wait_seconds, 3),
        },
        "click_phase_s": round(clicks_s, 2),
        "tokens_per_s": args.tokens_per_s,
        "fill_every": args.fill_every,
        "seed": args.seed,
    }


def main() -> int:
    """Run the benchmark and print one JSON object as the last line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orders", type=int, default=500, help="measured clicks (after the warm-up)")
    parser.add_argument("--warmup", type=int, default=15, help="first clicks not measured (one per symbol)")
    parser.add_argument("--fill-every", type=int, default=7, help="every N-th signal is marketable")
    parser.add_argument("--tokens-per-s", type=float, default=9.0, help="rest_order tokens spent per second")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    env_db, env_redis = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    with tempfile.TemporaryDirectory(prefix="bench-execution-") as tmp:
        config = StorageConfig(data_dir=Path(tmp), database_url=env_db, redis_url=env_redis)
        with start_servers(config) as urls:
            upgrade(urls.database_url)
            result = trio.run(_run, args, urls)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
