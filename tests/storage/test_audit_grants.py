"""The audit trail is append-only for the application's role (U-11): ``algogrid_app`` may INSERT and
SELECT ``audit_trail`` but holds no UPDATE, DELETE or TRUNCATE grant on it, while it may change other
tables. Checked by logging in as a member of the role, as a production deployment does."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import psycopg2.errors
import pytest


def _as(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{user}:{password}@{host}:{parts.port}" if parts.port else f"{user}:{password}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@pytest.fixture
def app_role_url(migrated_db_url: str) -> str:
    name, password = f"app_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    admin = psycopg2.connect(migrated_db_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{password}' IN ROLE algogrid_app")
    admin.close()
    return _as(migrated_db_url, name, password)


def test_the_app_role_appends_audit_rows_but_cannot_rewrite_them(app_role_url: str) -> None:
    conn = psycopg2.connect(app_role_url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO audit_trail (actor_label, action) VALUES ('app', 'login') RETURNING id")
            row = cur.fetchone()
            assert row is not None
            cur.execute("SELECT action FROM audit_trail WHERE id = %s", row)
            for statement in (
                "UPDATE audit_trail SET action = 'forged' WHERE id = %s",
                "DELETE FROM audit_trail WHERE id = %s",
            ):
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cur.execute(statement, row)
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("TRUNCATE audit_trail")
            cur.execute("UPDATE runtime_config SET value = value WHERE false")  # other tables: writable
    finally:
        conn.close()
