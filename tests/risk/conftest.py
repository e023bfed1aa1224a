"""Fixtures of the risk room's tests.

TEMPORARY: ``_tmp_risk_db_url`` creates a fully migrated database (``storage.migrate.upgrade``) until the
root conftest's ``migrated_db_url`` lands.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg2
import pytest
import redis

from storage.migrate import upgrade

_PG = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
_REDIS = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="module")
def _tmp_risk_db_url() -> Iterator[str]:
    name = f"risk_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(_PG)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = _PG.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    yield url
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def risk_redis_url() -> Iterator[str]:
    url = _REDIS.rsplit("/", 1)[0] + "/13"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def risk_db_url(_tmp_risk_db_url: str) -> str:
    """A database with the risk tables, emptied for this test."""
    conn = psycopg2.connect(_tmp_risk_db_url)
    with conn, conn.cursor() as cur:
        # audit_trail is append-only (TRUNCATE refused by trigger): tests filter it by time instead.
        cur.execute("TRUNCATE risk_denials, webhook_deliveries, positions CASCADE")
        cur.execute(
            "UPDATE kill_switch_state SET trading_state = 'ACTIVE', engaged = false, reason = NULL, "
            "changed_by_label = 'system', changed_at = now()"
        )
    conn.close()
    return _tmp_risk_db_url
