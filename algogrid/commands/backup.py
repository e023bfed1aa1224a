"""``algogrid backup`` and ``algogrid restore`` (O-04): see ``ops.backup`` for what each does and checks.

Both use the configured servers, or the embedded ones under the data dir (a running ``algogrid run`` keeps
its server: it is shared, never stopped by these commands). Exit codes: 0 done, 1 failed (one line on
stderr saying why), 2 bad settings.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import structlog

from algogrid.commands import Subparsers
from algogrid.commands.bootstrap import EXIT_CONFIG, add_config_argument, load_or_report
from ops import OpsError, create_backup, restore_backup
from storage import StorageError, start_servers

__all__ = ["EXIT_FAILED", "register", "run_backup", "run_restore"]

log = structlog.get_logger(__name__)

EXIT_FAILED = 1


def register(subparsers: Subparsers) -> None:
    """Add the ``backup`` and ``restore`` sub-commands."""
    backup: argparse.ArgumentParser = subparsers.add_parser(
        "backup", help="dump the database (pg_dump custom format) with a verified manifest (O-04)"
    )
    add_config_argument(backup)
    backup.add_argument("--dir", type=Path, help="backup directory (default: ops.backup.dir)")
    backup.set_defaults(func=run_backup)
    restore: argparse.ArgumentParser = subparsers.add_parser(
        "restore", help="restore a backup into a fresh database and verify it against its manifest"
    )
    add_config_argument(restore)
    restore.add_argument("backup", type=Path, help="the .dump file or its .manifest.json")
    restore.add_argument(
        "--database", help="database to create (default: the configured database's name); must not exist"
    )
    restore.set_defaults(func=run_restore)


def _fail(error: Exception) -> int:
    print(f"error: {error}", file=sys.stderr)
    return EXIT_FAILED


def run_backup(args: argparse.Namespace) -> int:
    """Write one backup and return the exit code."""
    overrides = {"ops": {"backup": {"dir": args.dir}}} if args.dir is not None else {}
    settings = load_or_report(args.config, **overrides)
    if settings is None:
        return EXIT_CONFIG
    try:
        with start_servers(settings.storage) as urls:
            manifest = create_backup(urls.database_url, settings.ops.backup)
    except (OpsError, StorageError) as exc:
        return _fail(exc)
    print(manifest.model_dump_json())
    return 0


def run_restore(args: argparse.Namespace) -> int:
    """Restore one backup and return the exit code."""
    settings = load_or_report(args.config)
    if settings is None:
        return EXIT_CONFIG
    try:
        with start_servers(settings.storage, create_database=False) as urls:
            database = args.database or urls.database_url.rsplit("/", 1)[-1].split("?", 1)[0]
            report = restore_backup(args.backup, urls.database_url, database, settings.ops.backup)
    except (OpsError, StorageError) as exc:
        return _fail(exc)
    print(
        f'{{"restored": "{report.manifest.name}", "database": "{report.database}", '
        f'"tables_verified": {report.tables_verified}, "schema_revision": "{report.schema_revision}"}}'
    )
    return 0
