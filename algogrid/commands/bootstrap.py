"""Start-up shared by the foundation commands: settings, logging, servers, schema.

Not a sub-command itself (the CLI only loads ``COMMAND_MODULES``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import structlog

from algogrid.logging_setup import configure_logging, register_secret
from algogrid.settings import DEFAULT_SETTINGS_PATH, ConfigError, Settings, load_settings
from storage import ServerUrls, start_servers, upgrade

__all__ = ["EXIT_CONFIG", "add_config_argument", "load_or_report", "servers_and_schema"]

EXIT_CONFIG = 2

log = structlog.get_logger(__name__)


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--config PATH`` (default ``config/settings.yaml``)."""
    parser.add_argument(
        "--config", type=Path, default=DEFAULT_SETTINGS_PATH, help="settings YAML (default: %(default)s)"
    )


def load_or_report(path: Path, **overrides: Any) -> Settings | None:
    """Load settings and configure logging; on a bad value print ONE line to stderr and return None.

    ``overrides`` (CLI flags) win over every other source.
    """
    try:
        settings = load_settings(path, **overrides)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return None
    configure_logging(settings.logging)
    for secret in (settings.storage.database_url, settings.storage.redis_url):
        register_secret(secret)
    return settings


@contextmanager
def servers_and_schema(settings: Settings) -> Iterator[ServerUrls]:
    """Yield server URLs (embedded unless configured) with the schema upgraded to the newest revision."""
    with start_servers(settings.storage) as urls:
        register_secret(urls.database_url)
        register_secret(urls.redis_url)
        revision = upgrade(urls.database_url)
        log.info(
            "storage ready",
            postgres="external" if settings.storage.database_url else "embedded",
            redis="external" if settings.storage.redis_url else "embedded",
            revision=revision,
        )
        yield urls
