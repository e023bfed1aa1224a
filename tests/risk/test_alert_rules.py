"""The risk group of monitoring/alerts.yml speaks our metric names and links each alert to its runbook."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry

from actors.reconciler import ReconcilerMetrics
from actors.risk import AlertKind, RiskMetrics

ROOT = Path(__file__).resolve().parents[2]


def _rules() -> list[dict[str, object]]:
    document = yaml.safe_load((ROOT / "monitoring" / "alerts.yml").read_text())
    groups = [group for group in document["groups"] if group["name"] == "algogrid-risk"]
    return [rule for group in groups for rule in group["rules"]]


def _metric_names() -> set[str]:
    registry = CollectorRegistry()
    RiskMetrics(registry)
    ReconcilerMetrics(registry)  # the reconciler's gauges share the engine's registry
    names: set[str] = set()
    for family in registry.collect():
        names.add(family.name)
        if family.type == "counter":
            names.add(f"{family.name}_total")
    return names


def test_every_rule_uses_only_metrics_the_risk_room_exports() -> None:
    exported = _metric_names()
    for rule in _rules():
        used = set(re.findall(r"algogrid_[a-z_]+", str(rule["expr"])))
        assert used, rule["alert"]
        assert used <= exported, (rule["alert"], used - exported)


def test_every_rule_links_to_an_existing_runbook_section() -> None:
    runbook = (ROOT / "docs" / "alerting_rules.md").read_text()
    anchors = {line[3:].strip().lower() for line in runbook.splitlines() if line.startswith("## ")}
    for rule in _rules():
        annotations = rule["annotations"]
        assert isinstance(annotations, dict)
        url = str(annotations["runbook_url"])
        path, _, anchor = url.partition("#")
        assert path == "docs/alerting_rules.md"
        assert anchor == str(rule["alert"]).lower()
        assert anchor in anchors, anchor
        assert rule["labels"]["severity"] in {"info", "warning", "critical"}  # type: ignore[index]


def test_every_webhook_event_is_documented() -> None:
    runbook = (ROOT / "docs" / "alerting_rules.md").read_text()
    for kind in AlertKind:
        assert f"`{kind.value}`" in runbook, kind
