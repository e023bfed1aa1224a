"""``algogrid backup`` copies the dump and its manifest off-site to S3-compatible storage (O-04).

No real S3 service can run on this machine (no MinIO binary, no container runtime), so the off-site end is
moto's standalone S3 server: a stand-in that speaks the S3 REST protocol over a real loopback socket. The
product's own path runs unchanged — the CLI, its settings from the environment, boto3 and its signing.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops import BackupManifest

boto3 = pytest.importorskip("boto3", reason="boto3 is part of .[dev] (pip install -e '.[dev]')")
moto_server = pytest.importorskip("moto.server", reason="moto[server] is part of .[dev]")

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "algogrid-offsite"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "drill", "AWS_SECRET_ACCESS_KEY": "drill-secret", "AWS_DEFAULT_REGION": "us-east-1",
}  # fmt: skip


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _s3(url: str) -> object:
    return boto3.client(
        "s3", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )  # fmt: skip


def _backup(db_url: str, backups: Path, s3_url: str, bucket: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALGOGRID_", "AWS_"))}
    env.update(CREDENTIALS)
    env.update(
        DATABASE_URL=db_url,
        ALGOGRID_OPS__BACKUP__OFFSITE__BUCKET=bucket,
        ALGOGRID_OPS__BACKUP__OFFSITE__ENDPOINT_URL=s3_url,
        ALGOGRID_OPS__BACKUP__OFFSITE__PREFIX="drill/backups",
        ALGOGRID_LOGGING__FILE=str(backups.parent / "algogrid.jsonl"),
    )
    return subprocess.run(
        [sys.executable, "-m", "algogrid.cli", "backup", "--dir", str(backups)], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_dump_and_its_manifest_land_off_site_byte_for_byte(
    migrated_db_url: str, s3_url: str, tmp_path: Path
) -> None:
    client = _s3(s3_url)
    client.create_bucket(Bucket=BUCKET)  # type: ignore[attr-defined]
    made = _backup(migrated_db_url, tmp_path / "backups", s3_url, BUCKET)
    assert made.returncode == 0, made.stderr
    manifest = BackupManifest.model_validate_json(made.stdout.strip().splitlines()[-1])
    assert manifest.offsite_uri == f"s3://{BUCKET}/drill/backups/"

    listed = client.list_objects_v2(Bucket=BUCKET, Prefix="drill/backups/")  # type: ignore[attr-defined]
    keys = sorted(o["Key"] for o in listed["Contents"])
    assert manifest.dump_file.endswith(".dump")
    assert f"drill/backups/{manifest.dump_file}" in keys
    assert len(keys) == 2  # the dump and its manifest
    copied = client.get_object(Bucket=BUCKET, Key=f"drill/backups/{manifest.dump_file}")  # type: ignore[attr-defined]
    body = copied["Body"].read()
    assert hashlib.sha256(body).hexdigest() == manifest.sha256


def test_a_refused_upload_fails_the_command_with_the_bucket_named_and_keeps_the_local_backup(
    migrated_db_url: str, s3_url: str, tmp_path: Path
) -> None:
    backups = tmp_path / "backups"
    made = _backup(migrated_db_url, backups, s3_url, "no-such-bucket")
    assert made.returncode != 0
    assert "s3://no-such-bucket/drill/backups" in made.stderr
    assert "NoSuchBucket" in made.stderr or "does not exist" in made.stderr
    dumps = list(backups.glob("*.dump"))
    assert len(dumps) == 1  # the local backup is complete; only the off-site copy failed
    assert "drill-secret" not in made.stderr + made.stdout  # never a secret in the output
