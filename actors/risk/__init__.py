"""Risk room: the RiskActor and its behaviour, book, messages, config; kill switch; alerts (R-01..R-07).

Other rooms import from here only. What lives here and why:

* ``actor`` / ``behaviour`` / ``book`` / ``messages`` / ``config`` / ``deps`` — the RiskActor (``root/risk``);
* ``state`` — who may change the trading state how (the record and its SQL are ``storage``'s);
* ``alerts`` / ``webhooks`` / ``metrics`` — the risk events (kill switch, R-04..R-06 findings), their webhook
  delivery (G-05) and gauges. They stay here, not in ``actors.monitor``: the RiskActor emits them too, and
  the monitor depends on the risk room (it tells ``KillConditionTriggered``), never the reverse.
"""

from __future__ import annotations

from actors.risk.actor import RiskActor
from actors.risk.alerts import Alert, AlertKind, Severity
from actors.risk.behaviour import RiskBehaviour
from actors.risk.book import reason_sentence
from actors.risk.client import RISK_UNAVAILABLE, ask_order_verdict
from actors.risk.config import RiskConfig, risk_limits_from
from actors.risk.deps import RiskActorDeps, RiskStatePort
from actors.risk.errors import KillSwitchCommandError, RiskError, WebhookDeliveryError
from actors.risk.messages import (
    CheckOrder,
    CriticalDiscrepancy,
    GetRiskSnapshot,
    KillConditionTriggered,
    OrderAllowed,
    OrderDenied,
    PollTradingState,
    PositionClosed,
    PositionOpened,
    PreviewTrade,
    ReconciliationVerdict,
    RiskSnapshot,
    SetTradingState,
    TradePreview,
    TradingStateChanged,
    TradingStateUnchanged,
    UpdateRiskLimits,
)
from actors.risk.metrics import RiskMetrics
from actors.risk.state import TradingState
from actors.risk.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    AlertSink,
    DeliveryAttempt,
    DeliveryLog,
    WebhookConfig,
    WebhookDispatcher,
    verify_signature,
)

__all__ = [
    "RISK_UNAVAILABLE",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Alert",
    "AlertKind",
    "AlertSink",
    "CheckOrder",
    "CriticalDiscrepancy",
    "DeliveryAttempt",
    "DeliveryLog",
    "GetRiskSnapshot",
    "KillConditionTriggered",
    "KillSwitchCommandError",
    "OrderAllowed",
    "OrderDenied",
    "PollTradingState",
    "PositionClosed",
    "PositionOpened",
    "PreviewTrade",
    "ReconciliationVerdict",
    "RiskActor",
    "RiskActorDeps",
    "RiskBehaviour",
    "RiskConfig",
    "RiskError",
    "RiskMetrics",
    "RiskSnapshot",
    "RiskStatePort",
    "SetTradingState",
    "Severity",
    "TradePreview",
    "TradingState",
    "TradingStateChanged",
    "TradingStateUnchanged",
    "UpdateRiskLimits",
    "WebhookConfig",
    "WebhookDeliveryError",
    "WebhookDispatcher",
    "ask_order_verdict",
    "reason_sentence",
    "risk_limits_from",
    "verify_signature",
]
