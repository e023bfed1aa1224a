"""Fixtures of the risk room's tests (on top of the root harness: migrated_db_url, redis_clean_url)."""

from __future__ import annotations

import os

import psycopg2
import pytest

_PG = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
_REDIS = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def risk_db_url(migrated_db_url: str) -> str:
    """The module's migrated database with the risk tables emptied for this test."""
    conn = psycopg2.connect(migrated_db_url)
    with conn, conn.cursor() as cur:
        # audit_trail is append-only (TRUNCATE refused by trigger): tests read only their newest rows.
        cur.execute("TRUNCATE risk_denials, webhook_deliveries, positions CASCADE")
        cur.execute(
            "UPDATE kill_switch_state SET trading_state = 'ACTIVE', engaged = false, reason = NULL, "
            "changed_by_label = 'system', changed_at = now()"
        )
    conn.close()
    return migrated_db_url
