"""Exceptions raised by the operations room.

The tree::

    OpsError
    ├── BackupError          a backup could not be written or checked (pg_dump failed, no matching client)
    ├── RestoreError         a restore could not run (bad checksum, target database not fresh, pg_restore)
    │   └── VerificationError  the restored database differs from its manifest
    ├── OffsiteError         the off-site copy failed (boto3 missing, upload refused)
    └── ArchiveError         the retention archive could not be written

Subprocess and boto3 errors are translated here with ``raise … from exc``.
"""

from __future__ import annotations

__all__ = ["ArchiveError", "BackupError", "OffsiteError", "OpsError", "RestoreError", "VerificationError"]


class OpsError(Exception):
    """Base class of every error raised by the operations room."""


class BackupError(OpsError):
    """A backup could not be written or checked."""


class RestoreError(OpsError):
    """A restore could not run."""


class VerificationError(RestoreError):
    """The restored database differs from what its manifest recorded."""


class OffsiteError(OpsError):
    """The off-site copy could not be made."""


class ArchiveError(OpsError):
    """A retention archive could not be written."""
