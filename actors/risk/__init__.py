"""Risk room: the RiskActor, MonitorActor, kill switch and alert webhooks (SPEC R-01..R-07, C-03, G-05)."""

from __future__ import annotations

from actors.risk.alerts import Alert, AlertKind, Severity
from actors.risk.errors import KillSwitchCommandError, RiskError, RiskStoreError, WebhookDeliveryError
from actors.risk.metrics import RiskMetrics
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
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Alert",
    "AlertKind",
    "AlertSink",
    "DeliveryAttempt",
    "DeliveryLog",
    "KillSwitchCommandError",
    "RiskError",
    "RiskMetrics",
    "RiskStoreError",
    "Severity",
    "WebhookConfig",
    "WebhookDeliveryError",
    "WebhookDispatcher",
    "sign_payload",
    "verify_signature",
]
