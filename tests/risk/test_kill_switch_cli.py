"""``algogrid kill-switch`` as a real subprocess against real PostgreSQL/Redis, seen by RiskActors (R-04).

The CLI is another process: a RiskActor started afterwards rebuilds its HALTED state from the database, and a
running one notices the operator's release through its state poll.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import trio

from actors import CheckSignal, SignalAllowed, SignalDenied
from actors.risk import AlertKind, TradingState
from storage import ChangeSource
from tests.risk.risk_kit import Collector, make_signal, running_risk
from tests.support import eventually_async

ROOT = Path(__file__).resolve().parents[2]


async def _cli(tmp_path: Path, db_url: str, redis_url: str, *args: str) -> tuple[int, dict[str, Any], str]:
    settings = tmp_path / "settings.yaml"
    settings.write_text("logging:\n  level: ERROR\n  json_stdout: true\n  file: null\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALGOGRID_")}
    env.update(DATABASE_URL=db_url, REDIS_URL=redis_url)
    done = await trio.run_process(
        [sys.executable, "-m", "algogrid.cli", "kill-switch", *args, "--config", str(settings)],
        cwd=ROOT,
        env=env,
        capture_stdout=True,
        capture_stderr=True,
        check=False,
    )
    stdout = done.stdout.decode()
    start = stdout.find("{\n")
    return done.returncode, orjson.loads(stdout[start:]) if start >= 0 else {}, done.stderr.decode()


async def _verdict(rig: Any) -> object:
    replies = Collector()
    return await rig.ask(CheckSignal(signal=make_signal("LINKUSDT"), reply_to=replies))


async def test_the_cli_engages_the_kill_switch_for_a_restarted_engine_and_releases_a_running_one(
    tmp_path: Path, risk_db_url: str, redis_clean_url: str
) -> None:
    code, out, err = await _cli(
        tmp_path, risk_db_url, redis_clean_url, "on", "--reason", "drill", "--by", "alice"
    )
    assert code == 0, err
    assert (out["state"], out["kill_switch"], out["changed_by"], out["changed"]) == (
        "HALTED",
        True,
        "cli:alice",
        True,
    )
    assert out["mirror"]["state"] == "HALTED"
    assert out["history"][0]["actor"] == "cli:alice"
    assert out["history"][0]["reason"] == "drill"

    async with running_risk(risk_db_url, redis_clean_url, state_poll_s=1.0) as rig:
        record = (await rig.snapshot()).record
        assert record is not None
        assert (record.state, record.kill_switch, record.source) == (
            TradingState.HALTED,
            True,
            ChangeSource.OPERATOR,
        )
        denied = await _verdict(rig)
        assert isinstance(denied, SignalDenied)
        assert denied.reason == "halted"

        code, _, err = await _cli(tmp_path, risk_db_url, redis_clean_url, "off")
        assert code == 2
        assert "--reason" in err

        code, out, err = await _cli(
            tmp_path, risk_db_url, redis_clean_url, "off", "--reason", "drill over", "--by", "bob"
        )
        assert code == 0, err
        assert (out["state"], out["kill_switch"]) == ("ACTIVE", False)

        async def allowed() -> bool:
            rig.clock.advance(1.0)
            return isinstance(await _verdict(rig), SignalAllowed)

        await eventually_async(allowed)
        # the running actor announces the release it noticed (webhook alert), once
        assert [a.event for a in rig.alerts.alerts] == [AlertKind.KILL_SWITCH_RELEASED]

    code, out, err = await _cli(tmp_path, risk_db_url, redis_clean_url, "status")
    assert code == 0, err
    assert (out["state"], out["changed_by"], out["changed"]) == ("ACTIVE", "cli:bob", False)
    assert [h["actor"] for h in out["history"][:2]] == ["cli:bob", "cli:alice"]


async def test_reducing_can_be_engaged_from_the_cli(
    tmp_path: Path, risk_db_url: str, redis_clean_url: str
) -> None:
    code, out, err = await _cli(
        tmp_path, risk_db_url, redis_clean_url, "on", "--state", "reducing", "--reason", "exit all"
    )
    assert code == 0, err
    assert (out["state"], out["kill_switch"]) == ("REDUCING", True)


def test_an_unreachable_database_exits_with_a_storage_error(tmp_path: Path) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text("logging:\n  level: ERROR\n  file: null\nstorage:\n  connect_timeout_seconds: 1\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALGOGRID_")}
    env.update(DATABASE_URL="postgresql://postgres@127.0.0.1:1/none", REDIS_URL="redis://127.0.0.1:1/0")
    done = subprocess.run(
        [sys.executable, "-m", "algogrid.cli", "kill-switch", "status", "--config", str(settings)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr.decode()
    assert "storage unavailable" in done.stderr.decode()
