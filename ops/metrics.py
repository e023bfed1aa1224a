"""Prometheus metrics of the operations room (G-06): retention, partitions and the newest backup."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ops.manifest import latest_manifest

__all__ = ["BackupCollector", "OpsMetrics"]


class BackupCollector(Collector):
    """Reads the newest complete backup's manifest at scrape time (a backup runs in another process)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def collect(self) -> Iterable[Metric]:
        """Yield the newest backup's time (0 when there is none, so BackupTooOld fires) and size."""
        manifest = latest_manifest(self._directory)
        when = GaugeMetricFamily(
            "algogrid_backup_last_success_timestamp_seconds",
            "Unix time of the newest complete backup (0: none).",
        )
        size = GaugeMetricFamily("algogrid_backup_last_size_bytes", "Size of the newest complete backup.")
        when.add_metric([], manifest.created_at.timestamp() if manifest else 0.0)
        size.add_metric([], float(manifest.size_bytes) if manifest else 0.0)
        yield when
        yield size


class OpsMetrics:
    """The archiver's and the partition maintainer's collectors, on one registry."""

    def __init__(self, registry: CollectorRegistry, backup_dir: Path | None = None) -> None:
        self.registry = registry
        self.rows_archived = Counter(
            "algogrid_retention_rows_archived", "Rows archived then deleted, by table.", ["table"],
            registry=registry,
        )
        self.days_archived = Counter(
            "algogrid_retention_days_archived", "Days of a family archived, by family.", ["family"],
            registry=registry,
        )
        self.runs = Counter(
            "algogrid_retention_runs", "Retention passes by outcome (ok, failed).", ["outcome"],
            registry=registry,
        )
        self.pending_days = Gauge(
            "algogrid_retention_pending_days", "Days still to archive in the current pass, by family.",
            ["family"], registry=registry,
        )
        self.last_success = Gauge(
            "algogrid_retention_last_success_timestamp_seconds", "Unix time of the last complete pass.",
            registry=registry,
        )
        self.partitions_created = Counter(
            "algogrid_partitions_created", "Monthly partitions created ahead, by table.", ["table"],
            registry=registry,
        )
        self.partitions_dropped = Counter(
            "algogrid_partitions_dropped", "Empty partitions dropped after archiving, by table.", ["table"],
            registry=registry,
        )
        if backup_dir is not None:
            registry.register(BackupCollector(backup_dir))
