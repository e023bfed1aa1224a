"""The shared test harness: real PostgreSQL and Redis for every room.

Fixtures (use these names; do not redefine them in room conftests):

- ``pg_url`` (session): maintenance-database URL of a real PostgreSQL: ``DATABASE_URL`` when set, else an
  embedded server started once per session under a temp dir (``storage.EmbeddedPostgres``).
- ``redis_url`` (session): URL of a real Redis: ``REDIS_URL`` when set, else an embedded ``redis-server``.
- ``migrated_db_url`` (module): a fresh, fully migrated database for this test module, cloned from a template
  migrated once per session (``CREATE DATABASE … TEMPLATE``); dropped after the module.
- ``empty_db_url`` (module): a fresh, empty (unmigrated) database, e.g. for migration tests.
- ``redis_clean_url`` (function): a Redis URL on a db index flushed for this test.
- ``pg_server`` / ``redis_server`` (function): an *embedded* server handle for fault tests (``.url``,
  ``.stop()``, ``.start()``); always embedded even when env URLs are set; restarted after the test.

Helpers: ``from tests.support import eventually, eventually_async``.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
import redis
from hypothesis import settings

from storage.embedded import EmbeddedPostgres, EmbeddedRedis
from storage.migrate import upgrade

# Property tests check results, not speed (speed lives in bench/): no per-example deadline, so a loaded
# 2-core CI machine cannot fail a correct example for being slow.
settings.register_profile("algogrid", deadline=None)
settings.load_profile("algogrid")


def flushed(url: str) -> str:
    """Empty the Redis database of ``url`` and return ``url``."""
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
    return url


def with_database(url: str, name: str) -> str:
    """Return ``url`` pointing at database ``name`` on the same server."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _admin_execute(pg_url: str, sql: str) -> None:
    connection = psycopg2.connect(pg_url)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


class EmbeddedServers:
    """Embedded servers for one test session, started lazily on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._postgres: EmbeddedPostgres | None = None
        self._redis: EmbeddedRedis | None = None

    def postgres(self) -> EmbeddedPostgres:
        if self._postgres is None:
            self._postgres = EmbeddedPostgres(self.root / "postgres", durable=False)
            self._postgres.start()
        return self._postgres

    def redis(self) -> EmbeddedRedis:
        if self._redis is None:
            self._redis = EmbeddedRedis(self.root / "redis", durable=False)
            self._redis.start()
        return self._redis

    def stop_all(self) -> None:
        for server in (self._redis, self._postgres):
            if server is not None:
                server.stop()


@pytest.fixture(scope="session")
def embedded_servers() -> Iterator[EmbeddedServers]:
    """Own the session's embedded servers (world-traversable dir: PostgreSQL may run as another user)."""
    root = Path(tempfile.mkdtemp(prefix="algogrid-test-"))
    root.chmod(0o755)
    servers = EmbeddedServers(root)
    try:
        yield servers
    finally:
        servers.stop_all()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_url(embedded_servers: EmbeddedServers) -> str:
    """Return the maintenance-database URL of the session's PostgreSQL."""
    return os.environ.get("DATABASE_URL") or embedded_servers.postgres().url


@pytest.fixture(scope="session")
def redis_url(embedded_servers: EmbeddedServers) -> str:
    """Return the URL of the session's Redis."""
    return os.environ.get("REDIS_URL") or embedded_servers.redis().url


@pytest.fixture(scope="session")
def migrated_template(pg_url: str) -> Iterator[str]:
    """Migrate a template database once per session and return its name."""
    name = f"algogrid_tpl_{uuid.uuid4().hex[:12]}"
    _admin_execute(pg_url, f'CREATE DATABASE "{name}"')
    try:
        upgrade(with_database(pg_url, name))
        yield name
    finally:
        _admin_execute(pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def migrated_db_url(pg_url: str, migrated_template: str) -> Iterator[str]:
    """Return the URL of a fresh, fully migrated database for this test module."""
    name = f"algogrid_t_{uuid.uuid4().hex[:12]}"
    _admin_execute(pg_url, f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"')
    try:
        yield with_database(pg_url, name)
    finally:
        _admin_execute(pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def empty_db_url(pg_url: str) -> Iterator[str]:
    """Return the URL of a fresh, empty (unmigrated) database for this test module."""
    name = f"algogrid_e_{uuid.uuid4().hex[:12]}"
    _admin_execute(pg_url, f'CREATE DATABASE "{name}"')
    try:
        yield with_database(pg_url, name)
    finally:
        _admin_execute(pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_redis_db_indexes = itertools.cycle(range(1, 16))


def _flushed_db_url(redis_url: str) -> str:
    return flushed(with_database(redis_url, str(next(_redis_db_indexes))))


@pytest.fixture
def redis_clean_url(redis_url: str) -> str:
    """Return a Redis URL on a db index (1-15) flushed for this test."""
    return _flushed_db_url(redis_url)


@pytest.fixture(scope="module")
def redis_module_url(redis_url: str) -> str:
    """Return a Redis URL on a db index (1-15) flushed for this test module (one system per module)."""
    return _flushed_db_url(redis_url)


def _restart_if_stopped(server: EmbeddedPostgres | EmbeddedRedis) -> None:
    if not server.running:
        server.start()


@pytest.fixture
def pg_server(embedded_servers: EmbeddedServers) -> Iterator[EmbeddedPostgres]:
    """Yield an embedded PostgreSQL a fault test may stop and start; it is running again afterwards."""
    server = embedded_servers.postgres()
    _restart_if_stopped(server)
    yield server
    _restart_if_stopped(server)


@pytest.fixture
def redis_server(embedded_servers: EmbeddedServers) -> Iterator[EmbeddedRedis]:
    """Yield an embedded Redis a fault test may stop and start; it is running again afterwards."""
    server = embedded_servers.redis()
    _restart_if_stopped(server)
    yield server
    _restart_if_stopped(server)


def pytest_report_header() -> list[str]:
    """Say which servers the session uses."""
    pg = "DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded"
    rd = "REDIS_URL" if os.environ.get("REDIS_URL") else "embedded"
    return [f"algogrid harness: postgres={pg} redis={rd} (started at {time.strftime('%H:%M:%S')})"]
