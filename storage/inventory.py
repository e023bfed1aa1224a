"""What a backup records and a restore verifies (O-04): row counts, last fill, server version, databases.

Synchronous (psycopg2): the ``backup`` and ``restore`` commands run outside trio. :func:`exported_snapshot`
holds a REPEATABLE READ transaction open and exports its snapshot, so ``pg_dump --snapshot`` dumps exactly
the rows that were counted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg2  # type: ignore[import-untyped]  # no stubs installed

from storage.errors import StorageUnavailableError

__all__ = [
    "DatabaseInventory",
    "create_database",
    "database_exists",
    "drop_database",
    "exported_snapshot",
    "inventory",
    "server_major",
]

_TABLES = """
SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
 ORDER BY c.relname
"""


@dataclass(frozen=True, slots=True)
class DatabaseInventory:
    """Exact row counts per table (partitioned tables counted at the parent) and the newest fill."""

    row_counts: dict[str, int]
    last_fill_at: dt.datetime | None


def _connect(url: str) -> Any:
    try:
        return psycopg2.connect(url)
    except psycopg2.OperationalError as exc:
        raise StorageUnavailableError(f"PostgreSQL unavailable: {exc}".strip()) from exc


def _inventory(cursor: Any) -> DatabaseInventory:
    cursor.execute(_TABLES)
    tables = [name for (name,) in cursor.fetchall()]
    counts: dict[str, int] = {}
    for table in tables:
        cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 - names from pg_class
        counts[table] = int(cursor.fetchone()[0])
    last_fill = None
    if "executions" in counts:
        cursor.execute("SELECT max(exec_time) FROM executions")
        last_fill = cursor.fetchone()[0]
    return DatabaseInventory(counts, last_fill)


def inventory(url: str) -> DatabaseInventory:
    """Return the row counts and the newest fill of the database at ``url``."""
    connection = _connect(url)
    try:
        with connection.cursor() as cursor:
            return _inventory(cursor)
    finally:
        connection.close()


@contextmanager
def exported_snapshot(url: str) -> Iterator[tuple[str, DatabaseInventory]]:
    """Yield ``(snapshot id, inventory)`` of one snapshot that stays valid until the block ends."""
    connection = _connect(url)
    try:
        connection.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = str(cursor.fetchone()[0])
            yield snapshot, _inventory(cursor)
        connection.rollback()
    finally:
        connection.close()


def server_major(url: str) -> int:
    """Return the server's major version (e.g. 18)."""
    connection = _connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version_num")
            return int(cursor.fetchone()[0]) // 10000
    finally:
        connection.close()


def _admin(maintenance_url: str, statement: str, *args: object) -> Any:
    connection = _connect(maintenance_url)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement, args)
            return cursor.fetchone() if cursor.description else None
    finally:
        connection.close()


def database_exists(maintenance_url: str, name: str) -> bool:
    """Return True when database ``name`` exists on the server."""
    return _admin(maintenance_url, "SELECT 1 FROM pg_database WHERE datname = %s", name) is not None


def create_database(maintenance_url: str, name: str) -> None:
    """Create the empty database ``name`` (from ``template0``, as a restore needs)."""
    _admin(maintenance_url, f'CREATE DATABASE "{name}" TEMPLATE template0')


def drop_database(maintenance_url: str, name: str) -> None:
    """Drop database ``name`` and end its sessions (a disaster drill; never called by the product)."""
    _admin(maintenance_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
