"""Run the Alembic migrations in ``migrations/`` against a database URL (T-01).

Alembic runs synchronously (psycopg2); call these from a worker thread when inside trio
(``await trio.to_thread.run_sync(upgrade, url)``).
"""

from __future__ import annotations

from pathlib import Path

import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

__all__ = ["current_revision", "downgrade", "head_revision", "upgrade"]

log = structlog.get_logger(__name__)

_ROOT = Path(__file__).resolve().parent.parent


def _sync_url(url: str) -> str:
    scheme, rest = url.split("://", 1)
    if scheme in {"postgresql", "postgres"}:
        return f"postgresql+psycopg2://{rest}"
    return url


def _config(url: str) -> Config:
    ini = _ROOT / "alembic.ini"
    config = Config(str(ini)) if ini.exists() else Config()
    config.set_main_option("script_location", str(_ROOT / "migrations"))
    # `%` must be doubled for configparser interpolation (passwords may contain it)
    config.set_main_option("sqlalchemy.url", _sync_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> str | None:
    """Upgrade the database at ``url`` to ``revision`` and return the revision it is at afterwards."""
    command.upgrade(_config(url), revision)
    rev = current_revision(url)
    log.info("database migrated", revision=rev)
    return rev


def downgrade(url: str, revision: str = "base") -> str | None:
    """Downgrade the database at ``url`` to ``revision`` (default: an empty schema)."""
    command.downgrade(_config(url), revision)
    return current_revision(url)


def current_revision(url: str) -> str | None:
    """Return the revision the database is at, or None when it is not migrated."""
    engine = create_engine(_sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str:
    """Return the newest revision shipped in ``migrations/``."""
    head = ScriptDirectory.from_config(_config("postgresql://unused/none")).get_current_head()
    assert head is not None
    return head
