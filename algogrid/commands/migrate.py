"""``algogrid migrate``: upgrade (or downgrade) the database schema with Alembic (T-01)."""

from __future__ import annotations

import argparse

import structlog

from algogrid.commands import Subparsers
from algogrid.commands.bootstrap import EXIT_CONFIG, add_config_argument, load_or_report
from storage import downgrade, start_servers, upgrade

__all__ = ["register", "run"]

log = structlog.get_logger(__name__)


def register(subparsers: Subparsers) -> None:
    """Add the ``migrate`` sub-command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "migrate", help="upgrade the database schema (embedded servers unless DATABASE_URL is set)"
    )
    add_config_argument(parser)
    parser.add_argument("--revision", default="head", help="target revision (default: %(default)s)")
    parser.add_argument(
        "--downgrade", action="store_true", help="downgrade to --revision instead (e.g. --revision base)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Migrate and return the exit code."""
    settings = load_or_report(args.config)
    if settings is None:
        return EXIT_CONFIG
    with start_servers(settings.storage) as urls:
        if args.downgrade:
            revision = downgrade(urls.database_url, args.revision)
        else:
            revision = upgrade(urls.database_url, args.revision)
    log.info("migrate done", revision=revision or "base")
    return 0
