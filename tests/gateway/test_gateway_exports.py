"""The ``gateway`` front door exports exactly what other rooms use, and every name resolves (STYLE §1)."""

from __future__ import annotations

import gateway
from tests.support.exports import assert_front_door

EXPECTED = [
    "EngineError", "EngineTimeoutError", "EngineUnavailableError", "EngineView", "EventLogError", "FaultKind",
    "FaultRejectedError", "FaultRequest", "FeedStatus", "FeedStatusView", "GatewayConfig", "GatewayContext",
    "ForwardBody", "ForwardMetricsView", "ForwardReader",
    "GatewayError", "GatewayHandle", "MarketTime", "ReadinessProbe", "RedisEventLog", "SignalFeed",
    "SignalHub", "SignalLevels", "SignalPage", "SignalQuery", "SignalReader", "SignalView", "StreamCommands",
    "StreamEvent", "SupervisionNode", "TimeBody", "UnknownActorPathError", "build_openapi", "create_app",
    "endpoints_for", "format_levels", "parse_event_id", "serve", "wait_for_stop_signal",
    "CloseReason", "CloseResult", "InstrumentUnavailableError", "PositionClosedError", "RiskDeniedError",
    "SignalNotOpenError", "UnknownPositionError", "UnknownSignalError", "OrderOutcome", "PlacementResult",
    "PositionDetail", "PositionQuery", "PositionSummary", "TradePreviewView", "PositionReader",
    "ExecutionItem", "OrderItem", "SlippageItem",
    "FindingBody", "PassBody", "ReconciliationEventView", "ReconciliationPort", "ReconciliationStatusBody",
    "AdminStatusView", "ApiKeyBody", "ApiKeyPort", "ApiKeyRejectedError", "ApiKeyView", "ConfigView",
    "KillSwitchBody", "KillSwitchView", "OpsPort",
    "AuditEntry", "AuditPage", "AuditQuery", "CalibrationRunPage", "CalibrationRunView",
    "KillSwitchStateView", "ConfigRejectedError",
    "OutboxRelay", "OutboxRelayConfig", "RelayStats", "MetricsView",
]  # fmt: skip


def test_the_front_door_exports_exactly_the_pinned_names() -> None:
    assert_front_door(gateway, EXPECTED)
