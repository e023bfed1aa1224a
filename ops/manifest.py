"""The manifest written beside every backup (O-04): what the dump holds and how to check it.

``<name>.dump`` (pg_dump custom format) and ``<name>.manifest.json`` live side by side in the backup
directory; the manifest is written last, so a backup without one is incomplete and ignored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from pydantic import BaseModel, ConfigDict

__all__ = ["MANIFEST_SUFFIX", "BackupManifest", "latest_manifest", "list_manifests", "sha256_of"]

MANIFEST_SUFFIX = ".manifest.json"
FORMAT_VERSION = 1


class BackupManifest(BaseModel):
    """One backup: file, checksum, schema revision and the row counts of the dumped snapshot."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: int = FORMAT_VERSION
    name: str
    created_at: dt.datetime
    dump_file: str
    size_bytes: int
    sha256: str
    database: str
    server_major: int
    pg_dump_major: int
    schema_revision: str | None
    row_counts: dict[str, int]
    last_fill_at: dt.datetime | None
    offsite_uri: str | None = None

    def path_in(self, directory: Path) -> Path:
        """Return where this manifest lives in ``directory``."""
        return directory / f"{self.name}{MANIFEST_SUFFIX}"

    def write(self, directory: Path) -> Path:
        """Write the manifest atomically (temporary file, then rename) and return its path."""
        path = self.path_in(directory)
        staging = path.with_suffix(".tmp")
        staging.write_text(self.model_dump_json(indent=2) + "\n")
        staging.replace(path)
        return path


def sha256_of(path: Path) -> str:
    """Return the hex SHA-256 of the file at ``path``."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def list_manifests(directory: Path) -> list[BackupManifest]:
    """Return the complete backups in ``directory``, oldest first (unreadable manifests are skipped)."""
    found: list[BackupManifest] = []
    if not directory.is_dir():
        return found
    for path in directory.glob(f"*{MANIFEST_SUFFIX}"):
        try:
            found.append(BackupManifest.model_validate_json(path.read_text()))
        except (OSError, ValueError):
            continue
    return sorted(found, key=lambda m: m.created_at)


def latest_manifest(directory: Path) -> BackupManifest | None:
    """Return the newest complete backup in ``directory``, or None."""
    manifests = list_manifests(directory)
    return manifests[-1] if manifests else None
