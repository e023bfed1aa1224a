"""Fixtures of the reconciler's tests: the position room's simulator and tables, plus emptied reconciliation
tables and fence (each test's Redis starts flushed, so its lock tokens start again at 1)."""

from __future__ import annotations

import psycopg2
import pytest

from tests.position.conftest import FAST, sim  # noqa: F401 - fixtures shared with the position room
from tests.position.position_kit import reset_tables


@pytest.fixture
def recon_db_url(migrated_db_url: str) -> str:
    reset_tables(migrated_db_url)
    conn = psycopg2.connect(migrated_db_url)
    with conn, conn.cursor() as cur:
        cur.execute("TRUNCATE reconciliation_log, reconciliation_passes")
        cur.execute("UPDATE reconciliation_fence SET fence = 0")
    conn.close()
    return migrated_db_url
