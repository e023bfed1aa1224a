"""Prometheus metrics of the reconciler (C-01..C-04): pass duration, findings by severity, drift age."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["ReconcilerMetrics"]


class ReconcilerMetrics:
    """The reconciler's collectors on one registry (the engine's: served on the gateway's ``/metrics``)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.pass_duration = Histogram(
            "algogrid_reconciliation_pass_duration_ms",
            "Duration of a reconciliation pass (lock, reads, classification, fenced write), ms.",
            buckets=(10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000),
            registry=registry,
        )
        self.passes = Counter(
            "algogrid_reconciliation_passes",
            "Reconciliation passes by outcome (clean, findings, skipped, refused, failed).",
            ["outcome"],
            registry=registry,
        )
        self.findings = Counter(
            "algogrid_reconciliation_findings",
            "New reconciliation findings by severity and kind.",
            ["severity", "kind"],
            registry=registry,
        )
        self.open_findings = Gauge(
            "algogrid_reconciliation_open_findings",
            "Open findings by severity (unresolved, or critical and not acknowledged).",
            ["severity"],
            registry=registry,
        )
        self.drift_age = Gauge(
            "algogrid_reconciliation_drift_age_seconds",
            "Age of the oldest unresolved finding (0 when none).",
            registry=registry,
        )
        self.hold = Gauge(
            "algogrid_reconciliation_hold",
            "1 while new exposure waits for a clean pass (start-up, or a critical finding open).",
            registry=registry,
        )
        self.last_pass = Gauge(
            "algogrid_reconciliation_last_pass_timestamp_seconds",
            "Wall time of the last recorded pass (liveness).",
            registry=registry,
        )
        for severity in ("info", "warning", "critical"):
            self.open_findings.labels(severity=severity).set(0)
        self.hold.set(1)
