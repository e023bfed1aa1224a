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
    UnknownActorPathError,
)
from gateway.events import RedisEventLog, StreamEvent, parse_event_id
from gateway.feed import SignalFeed
from gateway.hub import SignalHub
from gateway.models import (
    FaultKind,
    FaultRequest,
    FeedStatusView,
    SignalLevels,
    SignalPage,
    SignalQuery,
    SignalView,
    SupervisionNode,
    TimeBody,
    format_levels,
)
from gateway.openapi import build_openapi
from gateway.ports import (
    EngineView,
    FeedStatus,
    MarketTime,
    ReadinessProbe,
    SignalReader,
    StreamCommands,
)
from gateway.server import GatewayHandle, serve, wait_for_stop_signal

__all__ = [
    "EngineError",
    "EngineTimeoutError",
    "EngineUnavailableError",
    "EngineView",
    "EventLogError",
    "FaultKind",
    "FaultRejectedError",
    "FaultRequest",
    "FeedStatus",
    "FeedStatusView",
    "GatewayConfig",
    "GatewayContext",
    "GatewayError",
    "GatewayHandle",
    "MarketTime",
    "ReadinessProbe",
    "RedisEventLog",
    "SignalFeed",
    "SignalHub",
    "SignalLevels",
    "SignalPage",
    "SignalQuery",
    "SignalReader",
    "SignalView",
    "StreamCommands",
    "StreamEvent",
    "SupervisionNode",
    "TimeBody",
    "UnknownActorPathError",
    "build_openapi",
    "create_app",
    "endpoints_for",
    "format_levels",
    "parse_event_id",
    "serve",
    "wait_for_stop_signal",
]
