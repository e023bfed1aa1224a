"""Risk room: the RiskActor, MonitorActor, kill switch and alert webhooks (SPEC R-01..R-07, C-03, G-05)."""

from __future__ import annotations

from actors.risk.alerts import Alert, AlertKind, Severity
from actors.risk.errors import KillSwitchCommandError, RiskError, RiskStoreError, WebhookDeliveryError
from actors.risk.metrics import RiskMetrics
from actors.risk.state import ChangeSource, TradingState, TradingStateRecord, is_tightening
from actors.risk.store import MIRROR_CHANNEL, MIRROR_KEY, DenialRecord, MirrorClient, RiskStore, SqlClient
from actors.risk.webhooks import (
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    AlertSink,
    DeliveryAttempt,
    DeliveryLog,
    WebhookConfig,
    WebhookDispatcher,
    sign_payload,
    verify_signature,
)

__all__ = [
    "EVENT_HEADER",
    "MIRROR_CHANNEL",
    "MIRROR_KEY",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Alert",
    "AlertKind",
    "AlertSink",
    "ChangeSource",
    "DeliveryAttempt",
    "DeliveryLog",
    "DenialRecord",
    "KillSwitchCommandError",
    "MirrorClient",
    "RiskError",
    "RiskMetrics",
    "RiskStore",
    "RiskStoreError",
    "Severity",
    "SqlClient",
    "TradingState",
    "TradingStateRecord",
    "WebhookConfig",
    "WebhookDeliveryError",
    "WebhookDispatcher",
    "is_tightening",
    "sign_payload",
    "verify_signature",
]
