"""The ``actors.risk`` front door exports exactly what other rooms use, and every name resolves (STYLE §1)."""

from __future__ import annotations

import actors.risk
from tests.support.exports import assert_front_door

EXPECTED = [
    "Alert", "AlertKind", "AlertSink", "CheckOrder", "CriticalDiscrepancy", "DeliveryAttempt",
    "DeliveryLog", "GetRiskSnapshot", "UpdateRiskLimits", "KillConditionTriggered", "KillSwitchCommandError",
    "OrderAllowed",
    "OrderDenied", "PollTradingState", "PositionClosed", "PositionOpened", "PreviewTrade",
    "ReconciliationVerdict",
    "RISK_UNAVAILABLE", "RiskActor", "RiskActorDeps", "RiskBehaviour", "RiskConfig", "RiskError",
    "RiskMetrics", "RiskSnapshot", "RiskStatePort", "SIGNATURE_HEADER", "SetTradingState", "Severity",
    "TIMESTAMP_HEADER", "TradePreview", "TradingState", "TradingStateChanged", "TradingStateUnchanged",
    "WebhookConfig", "WebhookDeliveryError", "WebhookDispatcher", "ask_order_verdict", "reason_sentence",
    "risk_limits_from", "verify_signature",
]  # fmt: skip


def test_the_front_door_exports_exactly_the_pinned_names() -> None:
    assert_front_door(actors.risk, EXPECTED)
