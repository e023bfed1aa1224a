"""Operations room: backups and restores (O-04), retention and partitions (D-05, T-03), their metrics.

Usage::

    manifest = create_backup(database_url, settings.ops.backup)           # pg_dump -Fc + manifest
    report = restore_backup(dump_path, server_url, "algogrid", settings.ops.backup)   # fresh db, verified
    archiver = Archiver(RetentionRepository(storage.db), settings.ops.retention, metrics)
    await archiver.run_pass(now)                                          # archive then delete, partitions
    await nursery.start(MaintenanceService(archiver, config, metrics).run)   # daily

SQL lives in ``storage`` (``storage.retention``, ``storage.inventory``); this room runs the tools and writes
the files.
"""

from __future__ import annotations

from ops.backup import RestoreReport, create_backup, prune_backups, restore_backup, verify_restored
from ops.config import BackupConfig, OffsiteConfig, OpsConfig, RetentionConfig
from ops.errors import ArchiveError, BackupError, OffsiteError, OpsError, RestoreError, VerificationError
from ops.manifest import BackupManifest, latest_manifest, list_manifests
from ops.metrics import BackupCollector, OpsMetrics
from ops.retention import Archiver, PassReport, read_archive
from ops.service import MaintenanceService

__all__ = [
    "ArchiveError",
    "Archiver",
    "BackupCollector",
    "BackupConfig",
    "BackupError",
    "BackupManifest",
    "MaintenanceService",
    "OffsiteConfig",
    "OffsiteError",
    "OpsConfig",
    "OpsError",
    "OpsMetrics",
    "PassReport",
    "RestoreError",
    "RestoreReport",
    "RetentionConfig",
    "VerificationError",
    "create_backup",
    "latest_manifest",
    "list_manifests",
    "prune_backups",
    "read_archive",
    "restore_backup",
    "verify_restored",
]
