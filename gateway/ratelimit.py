"""Per-IP request limit (G-02: 100 requests/min by default, configurable) as one small ASGI middleware.

A fixed one-minute window per client address, kept in process memory: a single-instance limit, which is what
the first release runs (P-10). Liveness, readiness, metrics and the static UI are exempt so probes and the
browser's asset loads never count against an operator.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.context import error_response

__all__ = ["IpRateLimitMiddleware"]

_EXEMPT_PREFIXES = ("/health", "/ready", "/metrics", "/ui", "/openapi.json")
_WINDOW_S = 60.0


class IpRateLimitMiddleware:
    """Answer 429 with a reason once an address made ``per_minute`` requests in the current minute."""

    def __init__(self, app: ASGIApp, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.per_minute = per_minute
        self._clock = clock
        self._window_start = clock()
        self._counts: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.per_minute <= 0 or scope["path"].startswith(_EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        now = self._clock()
        if now - self._window_start >= _WINDOW_S:
            self._window_start = now
            self._counts.clear()
        client = scope.get("client")
        address = client[0] if client else "unknown"
        count = self._counts.get(address, 0) + 1
        self._counts[address] = count
        if count > self.per_minute:
            retry = max(1, int(_WINDOW_S - (now - self._window_start)))
            response = error_response(
                429, "rate_limited", f"more than {self.per_minute} requests per minute from {address}"
            )
            response.headers["Retry-After"] = str(retry)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
