"""Embedded servers: reused across runs, stopped cleanly, and gone when the parent is SIGKILLed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
import redis

from storage import EmbeddedPostgres, EmbeddedRedis
from storage.embedded import pid_alive
from tests.support import eventually

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from storage.embedded import EmbeddedPostgres, EmbeddedRedis
    root = Path(sys.argv[1])
    pg = EmbeddedPostgres(root / "postgres", durable=False)
    rd = EmbeddedRedis(root / "redis", durable=False)
    pg.start(); rd.start()
    print("READY", pg.pid, rd.pid, pg.port, rd.port, flush=True)
    sys.stdin.read()  # block until killed
    """
)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="algogrid-emb-"))
    root.chmod(0o755)
    yield root
    for kind, cls in (("postgres", EmbeddedPostgres), ("redis", EmbeddedRedis)):
        server = cls(root / kind)
        pid = server.pid
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(root, ignore_errors=True)


def test_servers_die_with_a_sigkilled_parent_and_the_data_dir_is_reused(data_dir: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data_dir)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )
    assert child.stdout is not None
    line = ""
    while not line.startswith("READY"):
        line = child.stdout.readline()
        assert line, "child exited before its servers were ready"
    pg_pid, redis_pid, pg_port, redis_port = map(int, line.split()[1:])
    assert pid_alive(pg_pid)
    assert pid_alive(redis_pid)
    conn = psycopg2.connect(f"postgresql://postgres@127.0.0.1:{pg_port}/postgres")
    conn.autocommit = True
    conn.cursor().execute("CREATE DATABASE survivor")
    conn.close()
    child.kill()
    child.wait()
    assert child.stdin is not None
    child.stdin.close()  # the pipes are ours to close, not the garbage collector's
    child.stdout.close()
    eventually(lambda: not pid_alive(pg_pid) and not pid_alive(redis_pid), timeout=15,
               message="servers stopped after parent SIGKILL")
    # next start: same data dir, same port, the data is still there
    pg = EmbeddedPostgres(data_dir / "postgres", durable=False)
    rd = EmbeddedRedis(data_dir / "redis", durable=False)
    try:
        pg.start()
        rd.start()
        assert (pg.port, rd.port) == (pg_port, redis_port)
        with psycopg2.connect(pg.url) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_database WHERE datname = 'survivor'")
            assert cur.fetchone() == (1,)
        assert redis.Redis.from_url(rd.url).ping()
    finally:
        rd.stop()
        pg.stop()
    assert not pg.running
    assert not rd.running


def test_a_running_server_is_shared_or_adopted_but_never_started_twice(data_dir: Path) -> None:
    first = EmbeddedRedis(data_dir / "redis", durable=False)
    first.start()
    try:
        shared = EmbeddedRedis(data_dir / "redis", durable=False)
        shared.start()
        assert (shared.pid, shared.port) == (first.pid, first.port)
        assert shared.owned is True  # same process owns it
        # an orphan whose recorded owner is dead is adopted (and stopped by its adopter)
        (data_dir / "redis" / "owner.pid").write_text("999999\n")
        adopter = EmbeddedRedis(data_dir / "redis", durable=False)
        adopter.start()
        assert adopter.owned
        assert adopter.pid == first.pid
        pid = adopter.pid
        assert pid is not None
        adopter.stop()
        assert not pid_alive(pid)
    finally:
        first.stop()
