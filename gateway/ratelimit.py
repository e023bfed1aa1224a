"""Per-IP request limit (G-02: 100 requests/min by default, configurable) kept in Redis, so several gateways
share one budget per client.

A fixed one-minute window per client address (``gateway.request_context`` resolved it, trusting
``X-Forwarded-For`` only from configured proxies): ``INCR`` + ``EXPIRE`` in one Lua call. Liveness,
readiness, metrics and the static UI are exempt so probes and the browser's asset loads never count. When
Redis does not answer the request is let through and a warning logged (availability over a limit that only
slows abuse; the login lockout fails closed instead).
"""

from __future__ import annotations

import time

import structlog
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.auth.limits import KeyValue, count_in_window
from gateway.context import error_response
from gateway.request_context import CLIENT_IP

__all__ = ["IpRateLimitMiddleware"]

log = structlog.get_logger(__name__)

_EXEMPT_PREFIXES = ("/health", "/ready", "/metrics", "/ui", "/openapi.json")
_WINDOW_S = 60


class IpRateLimitMiddleware:
    """Answer 429 with a reason once an address made ``per_minute`` requests in the current minute."""

    def __init__(self, app: ASGIApp, per_minute: int, kv: KeyValue, prefix: str = "ratelimit:ip") -> None:
        self.app = app
        self.per_minute = per_minute
        self._kv = kv
        self._prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.per_minute <= 0 or scope["path"].startswith(_EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        address = scope.get(CLIENT_IP) or (scope.get("client") or ("unknown",))[0]
        window = int(time.time() // _WINDOW_S)
        try:
            count, left = await count_in_window(self._kv, f"{self._prefix}:{address}:{window}", _WINDOW_S + 1)
        except Exception as exc:  # request boundary: a Redis outage must not take the API down
            log.warning("rate limit unavailable", error=type(exc).__name__)
            await self.app(scope, receive, send)
            return
        if count > self.per_minute:
            response = error_response(
                429, "rate_limited", f"more than {self.per_minute} requests per minute from {address}"
            )
            response.headers["Retry-After"] = str(min(left, _WINDOW_S))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
