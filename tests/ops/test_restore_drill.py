"""The restore drill (O-04, Q-05): data made through the running system survives a lost database.

A click opens a position through the real gateway, PositionActor and simulator, and a close ends it (signal,
orders, fills, slippage in PostgreSQL). ``algogrid backup`` dumps the database; the database is destroyed;
``algogrid restore`` creates it afresh and verifies it against the manifest (row counts, last fill, schema
revision); the same gateway stack over the restored database serves the same ``GET /positions`` answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))  # the gateway tests' real-parts kit

from gw_kit import DevSwitches, WiringSettings

from algogrid.engine_view import SupervisionEngineView
from algogrid.gateway_wiring import serve_gateway
from exchange.simulator import Simulator, SimulatorConfig, open_simulator
from gateway import GatewayConfig, GatewayHandle, SignalFeed
from ops import BackupManifest
from storage.inventory import drop_database
from tests.position.position_kit import (
    API_KEY,
    API_SECRET,
    RULES,
    SYMBOL,
    PositionRig,
    best_ask,
    reset_tables,
    running_position,
)
from tests.support import eventually_async
from tests.support.auth import Account, activate, authorise, bootstrap_admin, login

ROOT = Path(__file__).resolve().parents[2]
FAST = SimulatorConfig(symbols=("BTCUSDT", "ETHUSDT"), speed=60, book_interval_ms=20, history_bars=10)
SETTINGS = WiringSettings(
    gateway=GatewayConfig(port=0, ip_rate_limit_per_min=100_000, ask_timeout_s=5.0, order_timeout_s=15.0),
    dev=DevSwitches(fault_injection=False),
)


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with open_simulator(FAST) as venue:
        venue.add_account(API_KEY, API_SECRET, Decimal(1_000_000))
        venue.clock.pause()
        yield venue


async def _with_gateway(rig: PositionRig, body: Any, person: list[Account]) -> Any:
    """Serve the gateway over ``rig`` and run ``body`` with a logged-in admin (made now when ``person`` is
    empty; after the restore the same person logs in again: the users came back with the data)."""
    async with trio.open_nursery() as nursery:
        view = SupervisionEngineView(rig.tree, rig.bridge, (SYMBOL,), instruments=lambda _s: RULES)
        stop = trio.Event()
        handle: GatewayHandle = await nursery.start(
            lambda task_status: serve_gateway(
                SETTINGS, rig.storage, view, SignalFeed(), shutdown_trigger=stop.wait, task_status=task_status
            )
        )
        async with httpx.AsyncClient(base_url=handle.url, timeout=30.0) as client:
            if not person:
                email, token = await bootstrap_admin(rig.storage)
                person.append(await activate(client, token, email, "admin"))
            await login(client, person[0])
            authorise(client, person[0])
            result = await body(client)
        stop.set()
    return result


async def _trade_and_read(rig: PositionRig, sim: Simulator, client: httpx.AsyncClient) -> Any:
    ask, _size = best_ask(sim)
    signal_id = await rig.signal(entry=ask + 50, sl_distance=Decimal(500))  # deep enough to fill whole
    placed = await client.post("/positions/open", json={"signal_id": signal_id})
    assert placed.status_code == 200, placed.text
    position_id = placed.json()["position_id"]

    async def protected() -> bool:
        return len([o for o in rig.exchange_orders() if o.reduce_only]) == 4

    await eventually_async(protected, timeout=10)
    closed = await client.post(f"/positions/{position_id}/close", json={"reason": "manual"})
    assert closed.status_code == 200, closed.text

    async def closed_in_postgres() -> bool:
        row = (await client.get(f"/positions/{position_id}")).json()["position"]
        return bool(row["status"] == "closed")

    await eventually_async(closed_in_postgres, timeout=15)
    return (await client.get("/positions")).json()


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "algogrid.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )


async def test_backup_destroy_restore_serves_the_same_positions(
    migrated_db_url: str, redis_clean_url: str, sim: Simulator, tmp_path: Path
) -> None:
    reset_tables(migrated_db_url)
    person: list[Account] = []
    async with running_position(migrated_db_url, redis_clean_url, sim) as rig:
        before = await _with_gateway(rig, lambda client: _trade_and_read(rig, sim, client), person)
    assert [p["status"] for p in before["items"]] == ["closed"]

    env = {k: v for k, v in os.environ.items() if not k.startswith("ALGOGRID_")}
    env.update(
        DATABASE_URL=migrated_db_url, REDIS_URL=redis_clean_url,
        ALGOGRID_LOGGING__FILE=str(tmp_path / "algogrid.jsonl"),
    )
    backups = tmp_path / "backups"
    made = await trio.to_thread.run_sync(_cli, ["backup", "--dir", str(backups)], env)
    assert made.returncode == 0, made.stderr
    manifest = BackupManifest.model_validate_json(made.stdout.strip().splitlines()[-1])
    assert manifest.row_counts["positions"] == 1
    assert manifest.row_counts["executions"] >= 2  # the entry and the exit fills
    assert manifest.last_fill_at is not None
    assert (backups / manifest.dump_file).exists()

    database = urlsplit(migrated_db_url).path.lstrip("/")
    drop_database(migrated_db_url.rsplit("/", 1)[0] + "/postgres", database)  # the disk is gone
    restored = await trio.to_thread.run_sync(_cli, ["restore", str(backups / manifest.dump_file)], env)
    assert restored.returncode == 0, restored.stderr
    report = json.loads(restored.stdout.strip().splitlines()[-1])
    assert report["database"] == database
    assert report["tables_verified"] == len(manifest.row_counts)
    again = await trio.to_thread.run_sync(_cli, ["restore", str(backups / manifest.dump_file)], env)
    assert again.returncode == 1
    assert "exists" in again.stderr  # a restore never overwrites a database

    async with running_position(migrated_db_url, redis_clean_url, sim) as rig:
        after = await _with_gateway(rig, lambda client: client.get("/positions"), person)
    assert after.json() == before
