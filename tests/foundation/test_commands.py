"""The CLI: ``run`` (ready, clean stop on SIGINT/SIGTERM), ``migrate``, ``create-admin``, config errors."""

from __future__ import annotations

import hashlib
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg2
import pytest

from storage import head_revision

ROOT = Path(__file__).resolve().parents[2]
ALGOGRID = [sys.executable, "-m", "algogrid.cli"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALGOGRID_")}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.update(extra)
    return env


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ALGOGRID, *args], check=False, cwd=ROOT, capture_output=True, text=True, timeout=60, env=env
    )


@pytest.fixture
def config(tmp_path: Path) -> Path:
    tmp_path.chmod(0o755)  # embedded PostgreSQL may run as another user
    path = tmp_path / "settings.yaml"
    var = tmp_path / "var"
    path.write_text(
        f"storage:\n  data_dir: {var}\nlogging:\n  file: {var / 'log' / 'a.jsonl'}\n"
        "gateway:\n  host: 127.0.0.1\n  port: 8099\n"
    )
    return path


class Running:
    """A ``algogrid run`` subprocess whose JSON stdout lines are read with a deadline."""

    def __init__(self, config: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [*ALGOGRID, "run", "--no-engine", "--config", str(config)], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.lines: list[dict[str, object]] = []

    def wait_for(self, event: str, timeout: float = 30.0) -> dict[str, object]:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if not ready:
                continue
            raw = self.proc.stdout.readline()
            if not raw:
                break
            line = json.loads(raw)
            self.lines.append(line)
            if line["event"] == event:
                return line
        stderr = self.proc.stderr.read() if self.proc.stderr else ""
        raise AssertionError(f"no {event!r} line; stderr: {stderr}")

    def finish(self, timeout: float = 30.0) -> int:
        assert self.proc.stdout is not None
        out, _err = self.proc.communicate(timeout=timeout)
        self.lines += [json.loads(raw) for raw in out.splitlines() if raw.strip()]
        return self.proc.returncode


@pytest.fixture
def kill_leftovers() -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for run in started:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait()


def test_run_with_external_servers_is_ready_and_stops_on_sigterm(
    config: Path, migrated_db_url: str, redis_clean_url: str, kill_leftovers: list[Running]
) -> None:
    run = Running(config, _env(DATABASE_URL=migrated_db_url, REDIS_URL=redis_clean_url))
    kill_leftovers.append(run)
    ready = run.wait_for("ready")
    assert ready["mode"] == "simulation"
    assert ready["level"] == "info"
    run.proc.send_signal(signal.SIGTERM)
    assert run.finish() == 0
    assert run.lines[-1]["event"] == "stopped"
    assert run.lines[-1]["signal"] == "SIGTERM"
    for line in run.lines:  # the DB URL never appears, even without a password in it
        assert migrated_db_url not in json.dumps(line)
    with psycopg2.connect(migrated_db_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT action, details->>'signal' FROM audit_trail WHERE actor_label = 'system' ORDER BY id"
        )
        assert cur.fetchall() == [("system_started", None), ("system_stopped", "SIGTERM")]
    conn.close()


def test_run_with_embedded_servers_stops_on_sigint_and_restarts_on_the_same_data(
    config: Path, kill_leftovers: list[Running]
) -> None:
    first = Running(config, _env())
    kill_leftovers.append(first)
    first.wait_for("ready", timeout=60)
    first.proc.send_signal(signal.SIGINT)
    assert first.finish() == 0
    assert first.lines[-1]["event"] == "stopped"
    assert first.lines[-1]["signal"] == "SIGINT"
    assert any(line["event"] == "embedded postgres initdb" for line in first.lines)
    second = Running(config, _env())
    kill_leftovers.append(second)
    ready = second.wait_for("ready", timeout=60)
    assert isinstance(ready["seconds_to_ready"], float)
    assert ready["seconds_to_ready"] < 10
    second.proc.send_signal(signal.SIGTERM)
    assert second.finish() == 0
    assert not any(line["event"] == "embedded postgres initdb" for line in second.lines)  # data dir reused
    assert second.lines[-1]["event"] == "stopped"


def test_bad_config_value_exits_2_with_one_line_naming_key_and_value(config: Path) -> None:
    result = _cli(["run", "--config", str(config)], _env(ALGOGRID_RISK__MAX_POSITIONS_PER_BASE="0"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "config error: risk.max_positions_per_base = '0': Input should be greater than or equal to 1"
    ]


def test_migrate_upgrades_an_empty_database(config: Path, empty_db_url: str) -> None:
    result = _cli(
        ["migrate", "--config", str(config)], _env(DATABASE_URL=empty_db_url, REDIS_URL="redis://127.0.0.1:1/0")
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["revision"] == head_revision()


def _create_admin(config: Path, db_url: str, email: str) -> subprocess.CompletedProcess[str]:
    return _cli(
        ["create-admin", "--email", email, "--config", str(config)],
        _env(DATABASE_URL=db_url, REDIS_URL="redis://127.0.0.1:1/0"),
    )


def test_create_admin_prints_a_one_time_link_and_stores_only_the_token_hash(
    config: Path, migrated_db_url: str
) -> None:
    result = _create_admin(config, migrated_db_url, "Ops@Example.com")
    assert result.returncode == 0, result.stderr
    match = re.search(r"http://127\.0\.0\.1:8099/ui/#/activate\?token=([A-Za-z0-9_-]{40,})", result.stdout)
    assert match is not None, result.stdout
    token = match.group(1)
    assert result.stdout.count(token) == 1  # printed once, never logged
    with psycopg2.connect(migrated_db_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT u.role, u.password_hash, t.token_hash, t.expires_at - t.created_at FROM users u "
            "JOIN user_tokens t ON t.user_id = u.id WHERE u.email = 'Ops@Example.com'"
        )
        [(role, password_hash, token_hash, ttl)] = cur.fetchall()
        assert (role, password_hash) == ("admin", None)
        assert token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert ttl == timedelta(hours=48)
        cur.execute("SELECT count(*) FROM user_tokens WHERE token_hash = %s", (token,))
        assert cur.fetchone() == (0,)  # the plain token is stored nowhere
    conn.close()


def test_create_admin_reissues_for_an_unactivated_user_and_refuses_an_active_one(
    config: Path, migrated_db_url: str
) -> None:
    assert _create_admin(config, migrated_db_url, "twice@example.com").returncode == 0
    assert _create_admin(config, migrated_db_url, "TWICE@example.com").returncode == 0
    with psycopg2.connect(migrated_db_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT count(*), count(*) FILTER (WHERE used_at IS NULL) FROM user_tokens t "
            "JOIN users u ON u.id = t.user_id WHERE lower(u.email) = 'twice@example.com'"
        )
        assert cur.fetchone() == (2, 1)  # the first link was voided
        cur.execute("UPDATE users SET password_hash = 'argon2id$...' WHERE email = 'twice@example.com'")
    conn.close()
    refused = _create_admin(config, migrated_db_url, "twice@example.com")
    assert refused.returncode == 1
    assert "already exists" in refused.stderr
