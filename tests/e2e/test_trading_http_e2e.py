"""A trader's click over HTTP through the real PositionActor and the simulator (E-01, E-02, E-04, E-06).

The gateway (``serve_gateway`` over the production ``SupervisionEngineView``) runs in front of the position
room's real rig (tests/position/position_kit.py: the real PositionActor and RiskActor in a real tree, real
PostgreSQL, the real work queue, ``BybitRestClient`` and ``PrivateSession`` against the simulator over real
sockets). Preview → click → fill → the position with its orders, fills and slippage from PostgreSQL → close
→ a second close is 409; the venue saw exactly one entry order.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))  # the gateway tests' real-parts kit

from gw_kit import DevSwitches, WiringSettings

from algogrid.engine_view import SupervisionEngineView
from algogrid.gateway_wiring import serve_gateway
from exchange.simulator import Simulator, SimulatorConfig, open_simulator
from gateway import GatewayConfig, GatewayHandle, SignalFeed
from tests.position.position_kit import (
    API_KEY,
    API_SECRET,
    RULES,
    SYMBOL,
    best_ask,
    reset_tables,
    running_position,
)
from tests.support import eventually_async
from tests.support.auth import activate, authorise, bootstrap_admin, create_user, login

FAST = SimulatorConfig(symbols=("BTCUSDT", "ETHUSDT"), speed=60, book_interval_ms=20, history_bars=10)


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """A venue whose clock is paused: the book stays as read until the test moves it."""
    async with open_simulator(FAST) as venue:
        venue.add_account(API_KEY, API_SECRET, Decimal(1_000_000))
        venue.clock.pause()
        yield venue


async def test_preview_click_fill_read_and_close_over_http_through_the_real_position_actor(
    migrated_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    reset_tables(migrated_db_url)
    config = GatewayConfig(port=0, ip_rate_limit_per_min=100_000, ask_timeout_s=5.0, order_timeout_s=15.0)
    settings = WiringSettings(gateway=config, dev=DevSwitches(fault_injection=False))
    async with (
        running_position(migrated_db_url, redis_clean_url, sim) as rig,
        trio.open_nursery() as nursery,
    ):
        view = SupervisionEngineView(rig.tree, rig.bridge, (SYMBOL,), instruments=lambda _s: RULES)
        stop = trio.Event()
        handle: GatewayHandle = await nursery.start(
            lambda task_status: serve_gateway(
                settings, rig.storage, view, SignalFeed(), shutdown_trigger=stop.wait, task_status=task_status
            )
        )
        async with (
            httpx.AsyncClient(base_url=handle.url, timeout=30.0) as admin,
            httpx.AsyncClient(base_url=handle.url, timeout=30.0) as client,
        ):
            email, token = await bootstrap_admin(rig.storage)
            boss = await activate(admin, token, email, "admin")
            await login(admin, boss)
            authorise(admin, boss)
            trader = await create_user(admin, "trader")
            await login(client, trader)
            authorise(client, trader)  # the click carries the trader's identity (requested_by)
            ask, _size = best_ask(sim)
            signal_id = await rig.signal(entry=ask, sl_distance=Decimal(500))

            preview = await client.get(f"/signals/{signal_id}/preview")
            assert preview.status_code == 200, preview.text
            assert preview.json()["verdict"] == "allowed"
            assert Decimal(preview.json()["quantity"]) == Decimal("0.05")  # 25 USD / 500 on the 0.001 step

            placed = await client.post("/positions/open", json={"signal_id": signal_id})
            assert placed.status_code == 200, placed.text
            body = placed.json()
            assert body["order"]["status"] == "filled"
            assert Decimal(body["order"]["fill_ratio"]) == 1
            assert Decimal(body["order"]["avg_price"]) == ask
            position_id = body["position_id"]
            assert Decimal(body["position"]["executed_size"]) == Decimal("0.05")

            clicked_by = await rig.storage.db.fetchval(
                "SELECT actor_label FROM audit_trail WHERE target_id = $1 ORDER BY id DESC LIMIT 1",
                position_id,
            )
            assert clicked_by == trader.user_id  # PlaceOrderFromSignal.requested_by is the logged-in user
            again = await client.post("/positions/open", json={"signal_id": signal_id})
            assert again.status_code == 200
            assert again.json()["position_id"] == position_id  # the second click: the first position

            async def open_in_postgres() -> dict[str, Any]:
                detail: dict[str, Any] = (await client.get(f"/positions/{position_id}")).json()
                return detail if detail["position"]["status"] == "open" else {}

            detail = await eventually_async(open_in_postgres, timeout=10)
            assert [o["purpose"] for o in detail["orders"]].count("entry") == 1
            assert sum(Decimal(f["qty"]) for f in detail["fills"]) == Decimal("0.05")
            open_ids = [p["id"] for p in (await client.get("/positions?status=open")).json()["items"]]
            assert open_ids == [position_id]

            async def protected() -> bool:
                return len([o for o in rig.exchange_orders() if o.reduce_only]) == 4

            await eventually_async(protected, timeout=10)
            closed = await client.post(f"/positions/{position_id}/close", json={"reason": "manual"})
            assert closed.status_code == 200, closed.text
            assert closed.json()["status"] in ("closed", "closing")

            async def closed_in_postgres() -> bool:
                row = (await client.get(f"/positions/{position_id}")).json()["position"]
                return bool(row["status"] == "closed")

            await eventually_async(closed_in_postgres, timeout=15)
            twice = await client.post(f"/positions/{position_id}/close", json={"reason": "manual"})
            assert twice.status_code == 409
            assert twice.json()["error"] == "position_closed"
            entries = [o for o in rig.exchange_orders() if not o.reduce_only]
            assert len(entries) == 1  # one click (and a double click) → exactly one entry order at the venue
        stop.set()
