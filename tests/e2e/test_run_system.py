"""``algogrid run --dev`` as a real subprocess with the DEFAULT config (issues 5, 6, 7 end to end).

The process runs the simulator, the engine (RiskActor at ``root/risk``, MonitorActor, 15 symbol trees) and the
gateway on a free port, on the harness's real PostgreSQL and Redis (``DATABASE_URL``/``REDIS_URL``). The test
talks to it only over HTTP, SSE, PostgreSQL and signals, like an operator would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import eventually
from tests.support.auth import activate_sync, login_sync, token_of_link
from tests.support.system import RunningSystem, first_admin_link

ROOT = Path(__file__).resolve().parents[2]
SYMBOL_COUNT = 15  # config/settings.yaml: the whole P-08 whitelist

pytestmark = pytest.mark.slow  # ~15-40 s: the one end-to-end run of the whole product


class SseRecorder:
    """Record the events of one ``GET /stream`` connection from a thread."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.events: list[dict[str, str]] = []
        self._thread = threading.Thread(target=self._run, args=(url, headers), daemon=True)
        self._thread.start()

    def _run(self, url: str, headers: dict[str, str]) -> None:
        current: dict[str, str] = {}
        try:
            timeout = httpx.Timeout(5.0, read=120.0)
            with httpx.stream("GET", url, headers=headers, timeout=timeout) as response:
                for line in response.iter_lines():
                    if not line:
                        if current:
                            self.events.append(current)
                        current = {}
                        continue
                    field, _, value = line.partition(":")
                    current[field] = value.removeprefix(" ")
        except httpx.HTTPError:
            return  # the server closed the stream (shutdown)

    def named(self, name: str) -> list[dict[str, str]]:
        return [e for e in list(self.events) if e.get("event") == name]


@pytest.fixture
def system_env(migrated_db_url: str, redis_clean_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALGOGRID_")}
    env.update(
        DATABASE_URL=migrated_db_url,
        REDIS_URL=redis_clean_url,
        ALGOGRID_LOGGING__FILE=str(tmp_path / "log" / "algogrid.jsonl"),
    )
    return env


@pytest.fixture
def started(system_env: dict[str, str], tmp_path: Path) -> Iterator[RunningSystem]:
    args = ["--host", "0.0.0.0", "--port", "0", "--dev", "--data-dir", str(tmp_path / "data")]
    system = RunningSystem(args, system_env)
    try:
        yield system
    finally:
        system.close()


def _nodes(tree: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield tree
    for child in tree.get("children", []):
        yield from _nodes(child)


def _node(client: httpx.Client, path: str) -> dict[str, Any]:
    tree = client.get("/admin/supervision").json()
    return next(n for n in _nodes(tree) if n["path"] == path)


def _count(db_url: str, sql: str, *args: object) -> int:
    with psycopg2.connect(db_url) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        (value,) = cur.fetchone()
    conn.close()
    return int(value)


def test_run_serves_risk_checked_signals_survives_a_feed_crash_and_stops_cleanly(
    started: RunningSystem, migrated_db_url: str, tmp_path: Path
) -> None:
    ready = eventually(lambda: started.line("ready"), timeout=60, interval=0.1, message="ready line")
    base = ready["url"]
    assert base.startswith("http://0.0.0.0:")  # the configured address: every route is authenticated
    assert ready["ui"] == f"{base}/ui"
    assert ready["supervision"] == f"{base}/admin/supervision"
    assert ready["api"] == f"{base}/openapi.json"
    assert ready["fault_injection"] is True
    assert ready["data_dir"] == str((tmp_path / "data").resolve())

    base = base.replace("0.0.0.0", "127.0.0.1")
    link = eventually(lambda: first_admin_link(started), timeout=10, message="the first admin's link")
    with httpx.Client(base_url=base, timeout=10) as client:
        assert client.get("/signals").status_code == 401  # nothing is open without a session
        admin = activate_sync(client, token_of_link(link), "admin@localhost.localdomain", "admin")
        login_sync(client, admin)
        client.headers["Authorization"] = f"Bearer {admin.tokens['access_token']}"
        sse = SseRecorder(f"{base}/stream", {"Authorization": client.headers["Authorization"]})
        assert client.get("/health").status_code == 200
        eventually(lambda: client.get("/ready").status_code == 200, timeout=30, message="/ready 200")

        # The root's children in start order; every symbol has its own position, signal, indicator and feed.
        tree = client.get("/admin/supervision").json()
        paths = [c["path"] for c in tree["children"]]
        assert paths == ["root/risk", "root/monitor", "root/symbols", "root/reconciler"]
        symbols = tree["children"][2]["children"]
        assert len(symbols) == SYMBOL_COUNT
        assert all(
            [c["kind"] for c in s["children"]] == ["position", "signal", "indicator", "feed"] for s in symbols
        ), [[c["kind"] for c in s["children"]] for s in symbols[:1]]

        # Real AVI-5 signals within 60 s of ready, through the RiskActor, on the SSE stream.
        items = eventually(
            lambda: client.get("/signals").json()["items"], timeout=60, interval=0.5, message="a signal"
        )
        assert {i["strategy"] for i in items} == {"AVI-5"}
        eventually(lambda: sse.named("signal"), timeout=30, interval=0.1, message="an SSE signal event")
        streamed = json.loads(sse.named("signal")[0]["data"])
        assert client.get(f"/signals/{streamed['id']}").status_code == 200

        def signal_decisions() -> float:
            families = text_string_to_metric_families(client.get("/metrics").text)
            return sum(
                sample.value
                for family in families
                if family.name == "algogrid_risk_decisions"
                for sample in family.samples
                if sample.name.endswith("_total") and sample.labels.get("subject") == "signal"
            )

        assert eventually(signal_decisions, timeout=10, message="RiskActor decisions on /metrics") >= 1

        # Crash BTCUSDT's feed: restarted by its supervisor, and BTCUSDT candles keep arriving.
        feed = "root/symbols/BTCUSDT/feed"
        restarts_before = _node(client, feed)["restarts"]
        response = client.post("/admin/faults", json={"path": feed, "kind": "crash"})
        assert response.status_code in (200, 202), response.text
        eventually(
            lambda: _node(client, feed)["restarts"] == restarts_before + 1
            and _node(client, feed)["status"] == "running",
            timeout=10,
            message="feed restarted",
        )
        candles = "SELECT count(*) FROM klines_5m WHERE symbol = %s"
        after_crash = _count(migrated_db_url, candles, "BTCUSDT")
        eventually(
            lambda: _count(migrated_db_url, candles, "BTCUSDT") > after_crash,
            timeout=20,
            interval=0.2,
            message="BTCUSDT candles after the restart",
        )

    # O-03: SIGTERM → orderly stop, final audit row, "stopped" as the last line, exit 0.
    assert started.stop(signal.SIGTERM) == 0
    events = [line.get("event") for line in started.lines]
    assert events[-1] == "stopped"
    assert started.lines[-1]["signal"] == "SIGTERM"
    assert events.index("stopping") < events.index("engine stopped") < events.index("storage closed")
    assert _count(
        migrated_db_url,
        "SELECT count(*) FROM audit_trail WHERE actor_label = 'system' AND action = 'system_stopped' "
        "AND details->>'signal' = %s",
        "SIGTERM",
    ) == 1


def test_dev_flag_is_refused_in_live_mode_with_one_line(system_env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "algogrid.cli", "run", "--dev"],
        cwd=ROOT, env={**system_env, "ALGOGRID_MODE": "live"}, capture_output=True, text=True, timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "config error: settings = {...}: Value error, dev.fault_injection must be false in live mode"
    ]
