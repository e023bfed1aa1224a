"""``algogrid backup`` and ``algogrid restore`` (O-04, Q-05): pg_dump custom format, verified both ways.

A backup dumps one exported snapshot (``pg_dump --snapshot``) whose row counts and newest fill were read in
the same snapshot, checks the dump is readable (``pg_restore --list``), records its SHA-256 and the schema
revision in a manifest, optionally copies both files off-site, and keeps the newest ``keep_last`` backups.

A restore checks the checksum, creates a *fresh* database (it refuses an existing one), runs ``pg_restore``
and then compares the restored database with the manifest: every row count, the newest fill and the schema
revision. Any difference raises :class:`VerificationError` naming it.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import structlog

from ops.config import BackupConfig
from ops.errors import BackupError, RestoreError, VerificationError
from ops.manifest import MANIFEST_SUFFIX, BackupManifest, list_manifests, sha256_of
from ops.offsite import upload
from ops.pgtools import libpq_environment, matching_tools
from storage import current_revision
from storage.inventory import create_database, database_exists, exported_snapshot, inventory, server_major

__all__ = [
    "RestoreReport", "create_backup", "prune_backups", "restore_backup", "verify_restored", "with_database",
]

log = structlog.get_logger(__name__)


def with_database(url: str, name: str) -> str:
    """Return ``url`` pointing at database ``name`` on the same server."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _database_of(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "postgres"


def _run(args: list[str], env: dict[str, str], error: type[BackupError | RestoreError]) -> None:
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise error(f"{Path(args[0]).name} exited {result.returncode}: {result.stderr.strip()[-500:]}")


def create_backup(
    database_url: str, config: BackupConfig, *, now: dt.datetime | None = None
) -> BackupManifest:
    """Back up the database at ``database_url`` into ``config.dir`` and return the manifest.

    Raises:
        BackupError: no matching pg_dump, pg_dump failed or the dump is unreadable.
        OffsiteError: the off-site copy was configured and failed (the local backup is complete).
    """
    created = now or dt.datetime.now(dt.UTC)
    name = f"algogrid-{created.strftime('%Y%m%dT%H%M%SZ')}"
    directory = config.dir
    directory.mkdir(parents=True, exist_ok=True)
    major = server_major(database_url)
    tools = matching_tools(major, config.pg_bin_dir)
    dump = directory / f"{name}.dump"
    staging = dump.with_suffix(".partial")
    env = libpq_environment(database_url)
    revision = current_revision(database_url)
    with exported_snapshot(database_url) as (snapshot, counted):
        _run([tools.pg_dump, "--format=custom", f"--snapshot={snapshot}", "--no-password",
              f"--file={staging}"], env, BackupError)
    _run([tools.pg_restore, "--list", str(staging)], env, BackupError)  # the archive is readable
    staging.replace(dump)
    manifest = BackupManifest(
        name=name, created_at=created, dump_file=dump.name, size_bytes=dump.stat().st_size,
        sha256=sha256_of(dump), database=_database_of(database_url), server_major=major,
        pg_dump_major=tools.major, schema_revision=revision, row_counts=counted.row_counts,
        last_fill_at=counted.last_fill_at,
    )
    manifest.write(directory)
    log.info("backup written", name=name, size_bytes=manifest.size_bytes, revision=revision,
             rows=sum(counted.row_counts.values()))
    if config.offsite.bucket is not None:
        uri = upload(config.offsite, [dump, manifest.path_in(directory)])
        manifest = manifest.model_copy(update={"offsite_uri": uri})
        manifest.write(directory)
        log.info("backup copied off-site", name=name, uri=uri)
    prune_backups(directory, config.keep_last)
    return manifest


def prune_backups(directory: Path, keep_last: int) -> list[str]:
    """Delete all but the newest ``keep_last`` complete backups in ``directory``; return the names removed."""
    removed: list[str] = []
    manifests = list_manifests(directory)
    for old in manifests[: max(0, len(manifests) - keep_last)]:
        (directory / old.dump_file).unlink(missing_ok=True)
        old.path_in(directory).unlink(missing_ok=True)
        removed.append(old.name)
    if removed:
        log.info("old backups removed", names=removed)
    return removed


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """What a restore did: the manifest it followed, the database it created and what it verified."""

    manifest: BackupManifest
    database: str
    tables_verified: int
    last_fill_at: dt.datetime | None
    schema_revision: str | None


def _manifest_for(path: Path) -> tuple[BackupManifest, Path]:
    manifest_path = path if path.name.endswith(MANIFEST_SUFFIX) else path.with_name(
        path.name.removesuffix(".dump") + MANIFEST_SUFFIX
    )
    try:
        manifest = BackupManifest.model_validate_json(manifest_path.read_text())
    except (OSError, ValueError) as exc:
        raise RestoreError(f"expected a readable manifest at {manifest_path}: {exc}") from exc
    return manifest, manifest_path.parent / manifest.dump_file


def verify_restored(url: str, manifest: BackupManifest) -> RestoreReport:
    """Compare the database at ``url`` with ``manifest``.

    Raises:
        VerificationError: a table's row count, the newest fill or the schema revision differs.
    """
    found = inventory(url)
    differences = [
        f"{table}: expected {expected} rows, got {found.row_counts.get(table)}"
        for table, expected in sorted(manifest.row_counts.items())
        if found.row_counts.get(table) != expected
    ]
    if found.last_fill_at != manifest.last_fill_at:
        differences.append(f"last fill: expected {manifest.last_fill_at}, got {found.last_fill_at}")
    revision = current_revision(url)
    if revision != manifest.schema_revision:
        differences.append(f"schema revision: expected {manifest.schema_revision}, got {revision}")
    if differences:
        raise VerificationError("the restored database differs from its manifest: " + "; ".join(differences))
    return RestoreReport(manifest, _database_of(url), len(manifest.row_counts), found.last_fill_at, revision)


def restore_backup(path: Path, server_url: str, database: str, config: BackupConfig) -> RestoreReport:
    """Restore the backup at ``path`` (dump or manifest) into the new database ``database`` and verify it.

    Args:
        path: the ``.dump`` or its ``.manifest.json``.
        server_url: any URL of the target server (its database part is ignored).
        database: the database to create; it must not exist (a restore never overwrites).

    Raises:
        RestoreError: unreadable manifest, checksum mismatch, existing target, pg_restore failure.
        VerificationError: the restored database differs from the manifest.
    """
    manifest, dump = _manifest_for(path)
    if not dump.exists():
        raise RestoreError(f"expected the dump {dump} named by its manifest")
    checksum = sha256_of(dump)
    if checksum != manifest.sha256:
        raise RestoreError(f"checksum mismatch for {dump.name}: expected {manifest.sha256}, got {checksum}")
    maintenance = with_database(server_url, "postgres")
    if database_exists(maintenance, database):
        raise RestoreError(
            f"database {database} exists: a restore goes into a fresh database (drop it or pick --database)"
        )
    target = with_database(server_url, database)
    try:
        tools = matching_tools(server_major(maintenance), config.pg_bin_dir)
    except BackupError as exc:
        raise RestoreError(str(exc)) from exc
    create_database(maintenance, database)
    _run([tools.pg_restore, "--no-owner", "--exit-on-error", "--no-password", f"--dbname={database}",
          str(dump)], libpq_environment(target), RestoreError)
    report = verify_restored(target, manifest)
    log.info("backup restored", name=manifest.name, database=database, tables=report.tables_verified,
             revision=report.schema_revision)
    return report

