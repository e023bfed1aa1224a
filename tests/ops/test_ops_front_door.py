"""The ops front door exports exactly its public names; each error derives from OpsError (STYLE §1, §10)."""

from __future__ import annotations

import ops

EXPECTED = {
    "ArchiveError", "Archiver", "BackupCollector", "BackupConfig", "BackupError", "BackupManifest",
    "MaintenanceService", "OffsiteConfig", "OffsiteError", "OpsConfig", "OpsError", "OpsMetrics",
    "PassReport", "RestoreError", "RestoreReport", "RetentionConfig", "VerificationError", "create_backup",
    "latest_manifest", "list_manifests", "prune_backups", "read_archive", "restore_backup", "verify_restored",
}


def test_front_door_exports_are_pinned() -> None:
    assert set(ops.__all__) == EXPECTED
    for name in ops.__all__:
        assert getattr(ops, name) is not None


def test_every_ops_error_derives_from_ops_error() -> None:
    for name in ops.__all__:
        obj = getattr(ops, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, ops.OpsError)
