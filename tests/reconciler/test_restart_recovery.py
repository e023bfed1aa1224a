"""P-10: restart is recovery. ``algogrid run`` (paper mode, a real subprocess) is killed with SIGKILL at each
point of an order's placement, restarted, and must show exactly one exchange order per click and the right
position, with no manual step and no critical reconciliation finding.

The exchange is the simulator in *this* process (it outlives the engine, like a real venue); the engine talks
to it over real sockets with its own key pair, and to the harness's real PostgreSQL and Redis.
The kill points, one symbol each (so the positions do not net out on the one-way account):

1. before the REST call — the order-create request reaches the venue, which crashes the engine and refuses it;
2. after the REST call — the venue accepted the order (it fills 300 ms later), the answer never arrives;
3. after the first fill — the order is matched and its execution pushed, the answer never arrives;
4. after the DB commit — the entry's execution row is committed, then the engine dies.

Kill point 1 leaves no order at all: the intent was committed, the venue never saw it, and the restarted
PositionActor settles it as expired by looking its ``orderLinkId`` up — it never re-sends an entry by itself
(E-01: only a person's click places an order; the click's moment has passed). The other three leave exactly
one order, and the position stored equals the exchange's.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from algogrid.market_clock import SimMarketClock
from exchange.simulator import Simulator, SimulatorConfig, open_simulator
from exchange.simulator.errors import BybitRejection
from storage import ServerUrls, Storage, StorageConfig, open_storage
from strategy_core.execution import OrderPurpose, order_link_id
from strategy_core.models import Side
from strategy_core.signal import Signal
from tests.e2e.test_run_system import RunningSystem
from tests.support import eventually_async
from tests.support.auth import activate, bootstrap_admin, login

pytestmark = pytest.mark.slow  # five starts of the whole product (~30-60 s)

API_KEY, API_SECRET = "recovery-key", "recovery-secret"
POINTS = {
    "before_rest": "BTCUSDT",
    "after_rest": "ETHUSDT",
    "after_fill": "SOLUSDT",
    "after_commit": "XRPUSDT",
}


def _env(sim: Simulator, db_url: str, redis_url: str, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALGOGRID_")}
    env.update(
        DATABASE_URL=db_url,
        REDIS_URL=redis_url,
        ALGOGRID_MODE="paper",
        ALGOGRID_AUTH__JWT_SECRET="paper-mode-signing-secret-of-32-bytes-or-more",  # paper refuses none
        ALGOGRID_SYMBOLS=",".join(POINTS.values()),
        ALGOGRID_EXCHANGE__REST_URL=sim.rest_url,
        ALGOGRID_EXCHANGE__WS_PUBLIC_URL=sim.ws_public_url,
        ALGOGRID_EXCHANGE__WS_PRIVATE_URL=sim.ws_private_url,
        ALGOGRID_EXCHANGE__CREDENTIALS__API_KEY=API_KEY,
        ALGOGRID_EXCHANGE__CREDENTIALS__API_SECRET=API_SECRET,
        ALGOGRID_RECONCILER__INTERVAL_S="1",
        ALGOGRID_RECONCILER__LOCK_TTL_S="4",
        ALGOGRID_RECONCILER__PASS_TIMEOUT_S="4",
        ALGOGRID_EXECUTION__FILL_WAIT_SECONDS="1",
        ALGOGRID_EXECUTION__POLL_INTERVAL_S="0.2",
        ALGOGRID_RISK__CHURN_BLOCK_SEC="0",
        ALGOGRID_PIPELINE__BACKFILL_BARS="30",
        ALGOGRID_LOGGING__FILE=str(tmp / "log" / "algogrid.jsonl"),
    )
    return env


class Engine:
    """``algogrid run`` as a subprocess, started and restarted on the same data."""

    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.env, self.tmp = env, tmp
        self.system: RunningSystem | None = None
        self.url = ""

    async def start(self) -> str:
        args = ["--port", "0", "--data-dir", str(self.tmp / "data")]
        self.system = system = RunningSystem(args, self.env)

        def ready() -> dict[str, Any] | None:
            return system.line("ready")

        line = await eventually_async(ready, timeout=60, interval=0.05, message="ready line")
        self.url = str(line["url"])
        return self.url

    def kill(self) -> None:
        """SIGKILL: no shutdown path runs."""
        assert self.system is not None
        self.system.proc.kill()

    def close(self) -> None:
        if self.system is not None:
            self.system.close()


async def _signal(storage: Storage, sim: Simulator, symbol: str) -> str:
    market = sim.market(symbol)
    ask = market.spec.price_of(market.book.best_ask())  # type: ignore[arg-type]
    entry = ask * Decimal("1.003")
    distance = ask * Decimal("0.03")
    now = SimMarketClock(sim.clock).now()
    signal = Signal(
        id=uuid.uuid4(), symbol=symbol, side=Side.LONG, entry=entry, tp1=entry + distance,
        tp2=entry + 2 * distance, tp3=entry + 3 * distance, sl=entry - distance, qty=Decimal(25) / distance,
        risk_usd=Decimal(25), risk_r=Decimal(1), p_win=Decimal("0.6"), strategy="avi5", strategy_version="1",
        created_at=now, bar_start=now.replace(second=0, microsecond=0),
    )  # fmt: skip
    assert await storage.signals.insert(signal)
    return str(signal.id)


def _entry_orders(sim: Simulator, signal_id: str) -> list[Any]:
    link = order_link_id(signal_id, OrderPurpose.ENTRY, 0)
    return [o for o in sim.account(API_KEY).orders.values() if o.order_link_id == link]


def _exchange_size(sim: Simulator, symbol: str) -> Decimal:
    position = sim.account(API_KEY).positions.get(symbol)
    return Decimal(0) if position is None else position.size


async def _click(url: str, signal_id: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(base_url=url, timeout=15.0, headers=headers) as client:
            answer = await client.post("/positions/open", json={"signal_id": signal_id})
    except httpx.HTTPError:
        return  # the engine was killed under the request
    assert answer.status_code not in {401, 403}, answer.text  # the trader's click was accepted


async def _trader_token(url: str, storage: Storage) -> str:
    """Log the first admin in over the subprocess's gateway (tokens outlive a restart: same secret, stored
    sessions)."""
    async with httpx.AsyncClient(base_url=url, timeout=15.0) as client:
        email, token = await bootstrap_admin(storage)
        admin = await activate(client, token, email, "admin")
        return str((await login(client, admin))["access_token"])


def _hook(point: str, engine: Engine, symbol: str, fired: list[str]) -> Callable[[str, dict[str, Any]], None]:
    def hook(stage: str, params: dict[str, Any]) -> None:
        if fired or params.get("symbol") != symbol or not str(params.get("orderLinkId", "")).endswith("-e0"):
            return
        if point == "before_rest" and stage == "received":
            fired.append(point)
            engine.kill()
            raise BybitRejection(10016, "service restarting")  # the venue never creates it
        if point in {"after_rest", "after_fill"} and stage == "executed":
            fired.append(point)
            engine.kill()

    return hook


async def test_kill_9_at_each_point_of_order_placement_then_restart_gives_one_order_per_click(
    migrated_db_url: str, redis_clean_url: str, tmp_path: Path
) -> None:
    config = SimulatorConfig(symbols=tuple(POINTS.values()), speed=1, book_interval_ms=100, history_bars=60)
    storage_config = StorageConfig(pool_min_size=1, pool_max_size=3)
    async with (
        open_simulator(config) as sim,
        open_storage(storage_config, ServerUrls(migrated_db_url, redis_clean_url)) as storage,
    ):
        sim.add_account(API_KEY, API_SECRET, Decimal(1_000_000))
        engine = Engine(_env(sim, migrated_db_url, redis_clean_url, tmp_path), tmp_path)
        clicks: dict[str, str] = {}
        try:
            url = await engine.start()
            token = await _trader_token(url, storage)
            for point, symbol in POINTS.items():
                signal_id = clicks[point] = await _signal(storage, sim, symbol)
                fired: list[str] = []
                sim.faults.fill_delay_ms = 300 if point == "after_rest" else 0
                sim.order_hooks[:] = [_hook(point, engine, symbol, fired)]
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(_click, url, signal_id, token)
                    if point == "after_commit":

                        async def committed(sid: str = signal_id) -> bool:
                            n = await storage.db.fetchval(
                                "SELECT count(*) FROM executions e JOIN positions p ON p.id = e.position_id "
                                "WHERE p.signal_id = $1::uuid",
                                uuid.UUID(sid),
                            )
                            return bool(n)

                        await eventually_async(committed, timeout=20)
                        engine.kill()
                    else:
                        await eventually_async(lambda f=fired: f, timeout=20, message=f"kill point {point}")
                assert engine.system is not None
                await trio.to_thread.run_sync(engine.system.proc.wait)
                engine.close()
                sim.order_hooks.clear()
                sim.faults.fill_delay_ms = 0
                url = await engine.start()  # restart: rebuild, start-up pass, then ready
                await _settled(storage, sim, signal_id, symbol, point)
                await _click(url, signal_id, token)  # a second click on the restarted engine
                assert len(_entry_orders(sim, signal_id)) == (0 if point == "before_rest" else 1)
            critical = await storage.db.fetchval(
                "SELECT count(*) FROM reconciliation_log WHERE severity = 'critical'"
            )
            assert critical == 0
        finally:
            engine.close()


async def _settled(storage: Storage, sim: Simulator, signal_id: str, symbol: str, point: str) -> None:
    """Wait until the stored position of ``signal_id`` matches the exchange; check the one-order rule."""

    async def matches() -> bool:
        row = await storage.db.fetchrow(
            "SELECT status, executed_size_base FROM positions WHERE signal_id = $1::uuid",
            uuid.UUID(signal_id),
        )
        if row is None:
            return False
        if point == "before_rest":
            return row["status"] in {"failed_underfill", "closed"} and row["executed_size_base"] == 0
        return row["status"] == "open" and row["executed_size_base"] == _exchange_size(sim, symbol) > 0

    await eventually_async(matches, timeout=30, message=f"position settled after {point}")
    expected = 0 if point == "before_rest" else 1
    assert len(_entry_orders(sim, signal_id)) == expected
    passes = await storage.db.fetchval(
        "SELECT count(*) FROM reconciliation_passes WHERE finished_at > now() - interval '1 minute'"
    )
    assert passes >= 1
