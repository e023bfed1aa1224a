"""The SSE channel ``metrics`` (G-03): the MonitorActor's figures reach a browser through the outbox.

The real MonitorActor and RiskActor run under the tree on real PostgreSQL with a manual clock; closed trades
are rows of ``positions`` and the clock's ``advance`` fires the monitor's 60 s assessment. The monitor hands
its figures to the gateway's ``SignalFeed`` (as ``algogrid run`` wires it), which appends them to the outbox;
the relay sends them to ``GET /stream``, read over HTTP.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import httpx
import trio

from actors.monitor import GetMonitorSnapshot, MonitorConfig, MonitorSnapshot
from algogrid.engine_view import SupervisionEngineView
from algogrid.gateway_wiring import serve_gateway
from gateway import GatewayConfig, GatewayHandle, SignalFeed
from storage import Topic
from tests.gateway.gw_kit import DevSwitches, WiringSettings, read_sse
from tests.risk.risk_kit import T0, RiskRig, running_risk
from tests.support import eventually_async
from tests.support.auth import first_admin


async def _closed(rig: RiskRig, closed_at: dt.datetime, pnl_usd: str) -> None:
    await rig.storage.db.execute(
        "INSERT INTO positions (symbol, side, status, requested_size_base, executed_size_base, "
        "avg_entry_price, risk_usd, risk_r, opened_at, closed_at, close_reason, pnl_usd) "
        "VALUES ('BTCUSDT', 'long', 'closed', 1, 1, 100, 25, 1, $1, $2, 'tp', $3)",
        closed_at - dt.timedelta(hours=1),
        closed_at,
        Decimal(pnl_usd),
    )


async def _assess(rig: RiskRig) -> MonitorSnapshot:
    """Fire the monitor's next 60 s tick; return its state once it has assessed."""
    expected = rig.clock.now() + dt.timedelta(seconds=60)
    rig.clock.advance(60.0)

    async def assessed() -> MonitorSnapshot | None:
        snap: MonitorSnapshot = await rig.bridge.ask(rig.monitor, GetMonitorSnapshot(), timeout=5)
        return snap if snap.last_tick_at == expected else None

    return await eventually_async(assessed, timeout=10)


def _figures(snap: MonitorSnapshot) -> dict[str, Any]:
    """The SSE data the assessment in ``snap`` must produce: every Decimal as its exact string."""
    assessment = snap.last_assessment
    assert assessment is not None
    assert assessment.stats is not None
    stats = assessment.stats

    def exact(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {
        "trades": stats.trades,
        "win_rate": exact(stats.win_rate),
        "profit_factor": exact(stats.profit_factor),
        "net_expectancy_r": exact(stats.net_expectancy_r),
        "daily_drawdown_r": exact(assessment.daily_drawdown_r),
        "max_drawdown_pct": exact(assessment.max_drawdown_pct),
    }


async def _metrics_rows(rig: RiskRig) -> int:
    count: int = await rig.storage.db.fetchval("SELECT count(*) FROM outbox WHERE topic = 'metrics'")
    return count


async def test_a_closed_trade_changes_the_figures_and_a_browser_gets_one_metrics_event_per_change(
    migrated_db_url: str, redis_clean_url: str
) -> None:
    feed = SignalFeed(announced=Topic.with_state())  # as algogrid run wires it
    config = GatewayConfig(port=0, ip_rate_limit_per_min=100_000, ask_timeout_s=2.0, heartbeat_s=0.3)
    settings = WiringSettings(gateway=config, dev=DevSwitches(fault_injection=False))
    monitor = MonitorConfig(starting_equity_usd=Decimal(1000))
    async with (
        running_risk(migrated_db_url, redis_clean_url, monitor=monitor, ui=feed) as rig,
        trio.open_nursery() as nursery,
    ):
        view = SupervisionEngineView(rig.tree, rig.bridge, ())
        stop = trio.Event()
        handle: GatewayHandle = await nursery.start(
            lambda task_status: serve_gateway(
                settings, rig.storage, view, feed, shutdown_trigger=stop.wait, task_status=task_status
            )
        )
        async with httpx.AsyncClient(base_url=handle.url, timeout=10.0) as client:
            await first_admin(rig.storage, client)
            async with client.stream("GET", "/stream") as stream:
                lines = stream.aiter_lines()
                await _closed(rig, T0 - dt.timedelta(hours=2), "50")  # +2R
                first = _figures(await _assess(rig))
                with trio.fail_after(10):
                    [event] = await read_sse(lines, 1, names=("metrics",))
                data = json.loads(event.data)
                assert {k: data[k] for k in first} == first
                assert (data["trades"], data["win_rate"]) == (1, "1")
                assert data["at"] == "2026-03-02T09:01:00Z"

                await _assess(rig)  # the same trades: the same figures, nothing sent
                assert await _metrics_rows(rig) == 1

                await _closed(rig, T0 - dt.timedelta(hours=1), "-25")  # -1R
                second = _figures(await _assess(rig))
                with trio.fail_after(10):
                    [event] = await read_sse(lines, 1, names=("metrics",))
                data = json.loads(event.data)  # the next metrics event is the changed one: none in between
                assert {k: data[k] for k in second} == second
                assert (data["trades"], data["win_rate"], data["profit_factor"]) == (2, "0.5", "2")
                assert data["at"] == "2026-03-02T09:03:00Z"
                assert await _metrics_rows(rig) == 2
        stop.set()
