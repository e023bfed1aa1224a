"""``algogrid run`` as a subprocess: /metrics exports every metric the dashboard and the alert rules read, and
SIGHUP applies a changed risk limit to the running RiskActor without a restart, audited (G-06, G-07, O-02).
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg2
import pytest
import yaml
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from tests.ops.promql_names import metric_names
from tests.ops.test_monitoring_rules import alert_rules, dashboard_exprs
from tests.support import eventually
from tests.support.system import RunningSystem

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]

# SPEC G-06 as exposition names (counters with ``_total``); the two rates' window is the default 30 days.
G06 = (
    "signal_generation_latency_ms_count", "be_delivery_latency_ms_count", "signals_generated_total",
    "positions_opened_total", "win_rate_last_30d", "profit_factor_last_30d", "max_drawdown_pct",
    "ws_reconnects_total", "rate_limit_hits_total", "db_query_duration_ms_count",
    "http_request_duration_ms_count", "bybit_errors_total", "algogrid_execution_slippage_bps_count",
    "algogrid_execution_slippage_excess_bps_count", "algogrid_realised_profit_usd_total",
    "algogrid_realised_loss_usd_total", "algogrid_positions_closed_total", "actor_restarts_total",
)

def _exported(text: str) -> set[str]:
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}.get(family.type, ())
        names.update(family.name + s for s in suffixes)
        names.update(sample.name for sample in family.samples)
    return names


def _exposed_name(family: Metric) -> str:
    """Return a family's name as it appears on /metrics (``_total`` on counters)."""
    return family.name + ("_total" if family.type == "counter" else "")


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "settings.yaml"
    settings = {"symbols": ["BTCUSDT", "ETHUSDT"], "risk": {"max_concurrent_positions": 10}}
    path.write_text(yaml.safe_dump(settings))
    return path


@pytest.fixture
def started(
    migrated_db_url: str, redis_clean_url: str, tmp_path: Path, config_file: Path
) -> Iterator[RunningSystem]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALGOGRID_")}
    env.update(
        DATABASE_URL=migrated_db_url, REDIS_URL=redis_clean_url,
        ALGOGRID_LOGGING__FILE=str(tmp_path / "log" / "algogrid.jsonl"),
        ALGOGRID_OPS__BACKUP__DIR=str(tmp_path / "backups"),
    )
    args = ["--config", str(config_file), "--port", "0", "--data-dir", str(tmp_path / "data")]
    system = RunningSystem(args, env)
    try:
        yield system
    finally:
        system.close()


def _audit_reloads(db_url: str) -> list[dict[str, Any]]:
    with psycopg2.connect(db_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT details FROM audit_trail WHERE action = 'config_reloaded' ORDER BY id")
        rows = [r[0] for r in cur.fetchall()]
    conn.close()
    return rows


def test_metrics_cover_dashboard_and_alerts_and_sighup_reloads_a_risk_limit(
    started: RunningSystem, migrated_db_url: str, config_file: Path
) -> None:
    ready = eventually(lambda: started.line("ready"), timeout=60, interval=0.1, message="ready line")
    with httpx.Client(base_url=ready["url"], timeout=10) as client:
        text = client.get("/metrics").text
        exported = _exported(text)
        families = {_exposed_name(f) for f in text_string_to_metric_families(text)}

        def timed_statements() -> list[float]:  # the engine stores bars: its statements are timed
            families = text_string_to_metric_families(client.get("/metrics").text)
            return [
                s.value for f in families if f.name == "db_query_duration_ms" for s in f.samples
                if s.name.endswith("_count") and s.labels["query"].startswith("insert") and s.value > 0
            ]  # fmt: skip

        assert eventually(timed_statements, timeout=30, message="timed INSERT statements")
    exprs = dashboard_exprs() + [str(r["expr"]) for r in alert_rules()]
    used = set().union(*(metric_names(e) for e in exprs))
    assert used <= exported, sorted(used - exported)
    assert set(G06) <= exported, sorted(set(G06) - exported)
    documented = set(re.findall(r"`([a-z_0-9]+)`", (ROOT / "docs" / "metrics.md").read_text()))
    # the client library's own families, and the creation-time gauges it adds beside some counters
    ours = {n for n in families if not n.startswith(("python_", "process_")) and not n.endswith("_created")}
    assert ours <= documented, f"exported but not in docs/metrics.md: {sorted(ours - documented)}"

    config_file.write_text(yaml.safe_dump({
        "symbols": ["BTCUSDT", "ETHUSDT", "SOLUSDT"],  # structural: needs a restart
        "risk": {"max_concurrent_positions": 3},  # hot
    }))
    started.proc.send_signal(signal.SIGHUP)
    reloads = eventually(lambda: _audit_reloads(migrated_db_url), timeout=20, message="config_reloaded row")
    details = reloads[-1]
    assert details["source"] == "sighup"
    assert details["applied"] == ["risk.max_concurrent_positions"]
    assert details["restart_required"] == ["symbols"]
    assert details["changes"]["risk.max_concurrent_positions"] == {"from": 10, "to": 3}
    applied = eventually(lambda: started.line("risk limits reloaded"), timeout=10, message="actor applied")
    assert "max_concurrent_positions=3" in json.dumps(applied)
    assert started.proc.poll() is None  # no restart
    assert started.stop(signal.SIGTERM) == 0
