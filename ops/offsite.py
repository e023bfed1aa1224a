"""The off-site copy of a backup (O-04) on S3-compatible storage, through boto3 (a well-kept client).

boto3 is an optional dependency (``pip install 'algogrid[s3]'``): it is imported only when
``ops.backup.offsite.bucket`` is set, and its absence is reported as one sentence with the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ops.config import OffsiteConfig
from ops.errors import OffsiteError

__all__ = ["upload"]


def _client(config: OffsiteConfig) -> Any:
    try:
        import boto3  # type: ignore[import-not-found, import-untyped, unused-ignore]  # optional extra, untyped
    except ModuleNotFoundError as exc:
        raise OffsiteError(
            "ops.backup.offsite.bucket is set but boto3 is not installed: pip install 'algogrid[s3]'"
        ) from exc
    return boto3.client("s3", endpoint_url=config.endpoint_url, region_name=config.region)


def upload(config: OffsiteConfig, files: list[Path]) -> str:
    """Upload ``files`` under ``s3://bucket/prefix/`` and return that URI.

    Raises:
        OffsiteError: boto3 is missing, or the service refused an upload.
    """
    if config.bucket is None:
        raise OffsiteError("expected ops.backup.offsite.bucket to be set for an off-site copy")
    client = _client(config)
    prefix = config.prefix.strip("/")
    try:
        for path in files:
            client.upload_file(str(path), config.bucket, f"{prefix}/{path.name}")
    except Exception as exc:  # boundary: botocore raises many types; one translated error for the caller
        raise OffsiteError(f"off-site upload to s3://{config.bucket}/{prefix} failed: {exc}") from exc
    return f"s3://{config.bucket}/{prefix}/"
