"""monitoring/: the alert rules pass ``promtool check rules`` and their unit tests, every ops alert links to a
runbook that exists, and the Grafana dashboard reads only metrics the code exports (checked against a running
system in ``test_running_system_ops.py``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.ops.promql_names import metric_names

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "monitoring"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is missing (Debian package 'prometheus'; .ci/run installs it)"
)


def alert_rules() -> list[dict[str, object]]:
    document = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    dashboard = json.loads((MONITORING / "grafana_dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


@needs_promtool
def test_promtool_accepts_the_rules() -> None:
    result = subprocess.run([str(PROMTOOL), "check", "rules", str(MONITORING / "alerts.yml")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_unit_tests_pass() -> None:
    result = subprocess.run([str(PROMTOOL), "test", "rules", str(MONITORING / "alerts_test.yml")],
                            capture_output=True, text=True, check=False, cwd=MONITORING)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_ops_alert_links_to_a_runbook_file_that_exists() -> None:
    for rule in alert_rules():
        annotations = rule["annotations"]
        assert isinstance(annotations, dict)
        path = str(annotations["runbook_url"]).partition("#")[0]
        assert (ROOT / path).is_file(), (rule["alert"], path)


def test_the_dashboard_and_the_rules_name_metrics() -> None:
    for expr in dashboard_exprs() + [str(rule["expr"]) for rule in alert_rules()]:
        assert metric_names(expr), expr
