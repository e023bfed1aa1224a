"""Monitor room: the MonitorActor (``root/monitor``) — kill conditions, break-even, funding exit (R-04..R-06).

Other rooms import from here only. The monitor decides; the RiskActor (``actors.risk``) engages the kill
switch on its ``KillConditionTriggered``, and its alerts and gauges are the risk room's (``Alert``,
``RiskMetrics``); its reads are ``storage.MonitorRepository`` (``MonitorDataPort``).
"""

from __future__ import annotations

from actors.monitor.actor import MonitorActor
from actors.monitor.config import MonitorConfig, monitor_config_from
from actors.monitor.deps import MetricsPublisher, MonitorDataPort, MonitorDeps
from actors.monitor.messages import (
    BreakEvenReached,
    FundingExitWarning,
    GetMonitorSnapshot,
    HaltsLoaded,
    MetricsUpdated,
    MonitorSnapshot,
    MoveStopToEntry,
    PerformanceLoaded,
    PerformanceLoadFailed,
    PositionMarked,
    ReduceOnlyCloseRequested,
    Tick,
)

__all__ = [
    "BreakEvenReached",
    "FundingExitWarning",
    "GetMonitorSnapshot",
    "HaltsLoaded",
    "MetricsPublisher",
    "MetricsUpdated",
    "MonitorActor",
    "MonitorConfig",
    "MonitorDataPort",
    "MonitorDeps",
    "MonitorSnapshot",
    "MoveStopToEntry",
    "PerformanceLoadFailed",
    "PerformanceLoaded",
    "PositionMarked",
    "ReduceOnlyCloseRequested",
    "Tick",
    "monitor_config_from",
]
