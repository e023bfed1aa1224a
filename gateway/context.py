"""Per-app wiring the route handlers read from ``request.app.state.ctx``, and the JSON error answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from gateway.cache import ReadCache
from gateway.config import GatewayConfig
from gateway.events import RedisEventLog
from gateway.feed import SignalFeed
from gateway.hub import SignalHub
from gateway.metrics import GatewayMetrics
from gateway.models import ErrorBody
from gateway.ports import EngineView, ForwardReader, PositionReader, ReadinessProbe, SignalReader
from gateway.reconciliation import ReconciliationPort

if TYPE_CHECKING:
    from gateway.auth.accounts import Accounts
    from gateway.auth.service import AuthService
    from gateway.routes_admin import OpsPort
    from gateway.routes_api_keys import ApiKeyPort
    from gateway.sse import SessionStreams

__all__ = ["GatewayContext", "error_response", "json_body", "json_response"]


@dataclass(slots=True)
class GatewayContext:
    """Everything a handler may touch: ports, the SSE hub and log, metrics and the room's config."""

    engine: EngineView
    signals: SignalReader
    positions: PositionReader
    events: RedisEventLog
    feed: SignalFeed
    hub: SignalHub
    metrics: GatewayMetrics
    config: GatewayConfig
    auth: AuthService
    accounts: Accounts
    probes: Mapping[str, ReadinessProbe] = field(default_factory=dict)
    signal_cache: ReadCache = field(default_factory=lambda: ReadCache(0.0))
    reconciliation: ReconciliationPort | None = None  # None: the engine runs no reconciler
    streams: SessionStreams | None = None
    ops: OpsPort | None = None
    api_keys: ApiKeyPort | None = None
    forward: ForwardReader | None = None


def ctx_of(request: Request) -> GatewayContext:
    """Return the context of the app serving ``request``."""
    ctx: GatewayContext = request.app.state.ctx
    return ctx


def json_body(body: Any) -> bytes:
    """Serialise a pydantic model (or list of them) to JSON bytes (Decimals as strings)."""
    if isinstance(body, list):
        return b"[" + b",".join(item.__pydantic_serializer__.to_json(item) for item in body) + b"]"
    return bytes(body.__pydantic_serializer__.to_json(body))


def json_response(body: Any, status_code: int = 200) -> Response:
    """Answer a pydantic model (or list of them) as JSON."""
    return Response(json_body(body), status_code=status_code, media_type="application/json")


def error_response(
    status_code: int, error: str, reason: str, details: list[dict[str, Any]] | None = None
) -> Response:
    """Return the uniform error answer: ``{"error", "reason", "details"}``."""
    return json_response(ErrorBody(error=error, reason=reason, details=details), status_code)
