"""The front door ``actors.monitor`` exports exactly the pinned names, each resolving (STYLE §1)."""

from __future__ import annotations

import actors.monitor
from tests.support.exports import assert_front_door

EXPECTED = [
    "BreakEvenReached", "FundingExitWarning", "GetMonitorSnapshot", "HaltsLoaded", "MetricsPublisher",
    "MetricsUpdated", "MonitorActor",
    "MonitorConfig", "MonitorDataPort", "MonitorDeps", "MonitorSnapshot", "MoveStopToEntry",
    "PerformanceLoadFailed", "PerformanceLoaded", "PositionMarked", "ReduceOnlyCloseRequested", "Tick",
    "monitor_config_from",
]  # fmt: skip


def test_the_front_door_exports_exactly_the_pinned_names() -> None:
    assert_front_door(actors.monitor, EXPECTED)
