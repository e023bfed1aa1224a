"""The algogrid gateway: Starlette on hypercorn (trio) — REST, SSE, metrics, OpenAPI and the static UI.

Front door (STYLE §1): other rooms import only the names below.
"""

from __future__ import annotations

from gateway.app import create_app, endpoints_for
from gateway.config import GatewayConfig
from gateway.context import GatewayContext
from gateway.errors import (
    EngineError,
    EngineTimeoutError,
    EngineUnavailableError,
    EventLogError,
    FaultRejectedError,
    GatewayError,
    InstrumentUnavailableError,
    PositionClosedError,
    RiskDeniedError,
    SignalNotOpenError,
    UnknownActorPathError,
    UnknownPositionError,
    UnknownSignalError,
)
from gateway.events import RedisEventLog, StreamEvent, parse_event_id
from gateway.feed import SignalFeed
from gateway.hub import SignalHub
from gateway.models import (
    CloseReason,
    CloseResult,
    ExecutionItem,
    FaultKind,
    FaultRequest,
    FeedStatusView,
    ForwardBody,
    ForwardMetricsView,
    OrderItem,
    OrderOutcome,
    PlacementResult,
    PositionDetail,
    PositionQuery,
    PositionSummary,
    SignalLevels,
    SignalPage,
    SignalQuery,
    SignalView,
    SlippageItem,
    SupervisionNode,
    TimeBody,
    TradePreviewView,
    format_levels,
)
from gateway.models_admin import AdminStatusView, ConfigView, KillSwitchBody, KillSwitchView
from gateway.openapi import build_openapi
from gateway.ports import (
    EngineView,
    FeedStatus,
    ForwardReader,
    MarketTime,
    PositionReader,
    ReadinessProbe,
    SignalReader,
    StreamCommands,
)
from gateway.reconciliation import (
    FindingBody,
    PassBody,
    ReconciliationEventView,
    ReconciliationPort,
    ReconciliationStatusBody,
)
from gateway.routes_admin import OpsPort
from gateway.routes_api_keys import ApiKeyBody, ApiKeyPort, ApiKeyRejectedError, ApiKeyView
from gateway.server import GatewayHandle, serve, wait_for_stop_signal

__all__ = [
    "AdminStatusView",
    "ApiKeyBody",
    "ApiKeyPort",
    "ApiKeyRejectedError",
    "ApiKeyView",
    "CloseReason",
    "CloseResult",
    "ConfigView",
    "EngineError",
    "EngineTimeoutError",
    "EngineUnavailableError",
    "EngineView",
    "EventLogError",
    "ExecutionItem",
    "FaultKind",
    "FaultRejectedError",
    "FaultRequest",
    "FeedStatus",
    "FeedStatusView",
    "FindingBody",
    "ForwardBody",
    "ForwardMetricsView",
    "ForwardReader",
    "GatewayConfig",
    "GatewayContext",
    "GatewayError",
    "GatewayHandle",
    "InstrumentUnavailableError",
    "KillSwitchBody",
    "KillSwitchView",
    "MarketTime",
    "OpsPort",
    "OrderItem",
    "OrderOutcome",
    "PassBody",
    "PlacementResult",
    "PositionClosedError",
    "PositionDetail",
    "PositionQuery",
    "PositionReader",
    "PositionSummary",
    "ReadinessProbe",
    "ReconciliationEventView",
    "ReconciliationPort",
    "ReconciliationStatusBody",
    "RedisEventLog",
    "RiskDeniedError",
    "SignalFeed",
    "SignalHub",
    "SignalLevels",
    "SignalNotOpenError",
    "SignalPage",
    "SignalQuery",
    "SignalReader",
    "SignalView",
    "SlippageItem",
    "StreamCommands",
    "StreamEvent",
    "SupervisionNode",
    "TimeBody",
    "TradePreviewView",
    "UnknownActorPathError",
    "UnknownPositionError",
    "UnknownSignalError",
    "build_openapi",
    "create_app",
    "endpoints_for",
    "format_levels",
    "parse_event_id",
    "serve",
    "wait_for_stop_signal",
]
