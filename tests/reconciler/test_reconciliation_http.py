"""``GET /admin/reconciliation/status``, ``POST /admin/reconciliation/acknowledge`` and the SSE event
``reconciliation`` over HTTP, on the real reconciler tree (G-01, G-03, C-02)."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import trio

from algogrid.engine_view import SupervisionEngineView
from algogrid.gateway_wiring import serve_gateway
from algogrid.reconciler_wiring import ReconciliationAccess
from exchange.simulator import Simulator
from gateway import GatewayConfig, GatewayHandle, SignalFeed
from storage import Topic
from tests.gateway.gw_kit import DevSwitches, WiringSettings, read_sse
from tests.position.position_kit import SYMBOL, best_ask
from tests.reconciler.recon_kit import FAST, market, other_client, running_system
from tests.support import eventually_async
from tests.support.auth import activate, authorise, bootstrap_admin, login


async def test_status_acknowledge_and_the_sse_event_over_http(
    recon_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    feed = SignalFeed(announced=Topic.with_state())  # as algogrid run wires it
    config = GatewayConfig(port=0, ip_rate_limit_per_min=100_000, ask_timeout_s=2.0, heartbeat_s=0.3)
    settings = WiringSettings(gateway=config, dev=DevSwitches(fault_injection=False))
    async with (
        running_system(recon_db_url, redis_clean_url, sim, publisher=feed) as rig,
        trio.open_nursery() as n,
    ):
        view = SupervisionEngineView(rig.tree, rig.bridge, (SYMBOL,))
        access = ReconciliationAccess(rig.tree.ref, rig.bridge, rig.storage, FAST)
        stop = trio.Event()
        handle: GatewayHandle = await n.start(
            lambda task_status: serve_gateway(
                settings, rig.storage, view, feed, shutdown_trigger=stop.wait, reconciliation=access,
                task_status=task_status,
            )
        )  # fmt: skip
        async with httpx.AsyncClient(base_url=handle.url, timeout=10.0) as client:
            assert (await client.get("/admin/reconciliation/status")).status_code == 401  # no session
            email, token = await bootstrap_admin(rig.storage)  # the first admin, as create-admin makes it
            admin = await activate(client, token, email, "admin")
            await login(client, admin)
            authorise(client, admin)
            body = (await client.get("/admin/reconciliation/status")).json()
            assert body["passes"]
            assert body["hold"] is False
            assert body["open_findings"] == []
            assert body["owner"] == body["passes"][0]["holder"]

            async with client.stream("GET", "/stream") as stream:
                ask, _ = best_ask(sim)
                signal_id = await rig.signal(entry=ask + 50, sl_distance=Decimal(500))
                assert (await rig.place(signal_id)).order_status == "filled"
                async with other_client(sim) as other_bot:
                    await market(other_bot, "Buy", Decimal("0.010"), "other-bot-2")
                events = await read_sse(stream.aiter_lines(), 1, names=("reconciliation",))
                assert json.loads(events[0].data)["run_id"]

                async def critical_open() -> dict[str, object] | None:
                    found = (await client.get("/admin/reconciliation/status")).json()
                    critical = [f for f in found["open_findings"] if f["severity"] == "critical"]
                    return found if critical else None

                found = await eventually_async(critical_open, timeout=10)
                assert found["hold"] is True

            answer = await client.post("/admin/reconciliation/acknowledge", json={})
            assert answer.status_code == 200
            assert answer.json()["acknowledged"]
            by = await rig.storage.db.fetchval(
                "SELECT acknowledged_by FROM reconciliation_log WHERE acknowledged_at IS NOT NULL LIMIT 1"
            )
            assert by == admin.user_id  # the acknowledging admin, audited by id (U-11)
            bad = await client.post("/admin/reconciliation/acknowledge", json={"ids": "all"})
            assert bad.status_code == 422

            async def released() -> bool:
                return (await client.get("/admin/reconciliation/status")).json()["hold"] is False

            await eventually_async(released, timeout=10)
        stop.set()
