"""Per-request context (O-01, G-02): the client's address, a request id and a correlation id, bound to every
log line of the request; ``X-Request-ID`` is echoed on the answer.

The client address is the TCP peer, unless the peer is one of ``trusted_proxies``: then ``X-Forwarded-For``
is read from the right, skipping trusted hops, and the first untrusted address is the client. An
``X-Forwarded-For`` from anyone else is ignored (a client cannot choose the address it is limited and audited
by).
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Sequence

import structlog
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CLIENT_IP", "REQUEST_ID", "RequestContextMiddleware", "client_ip", "request_meta_fields"]

CLIENT_IP = "algogrid.client_ip"
REQUEST_ID = "algogrid.request_id"
CORRELATION_ID = "algogrid.correlation_id"
_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(address.strip())
    except ValueError:
        return None


def client_ip(scope: Scope, trusted: Sequence[Network]) -> str:
    """Return the client's address of ``scope`` (see the module docstring)."""
    client = scope.get("client")
    peer = client[0] if client else "unknown"
    current = _parse(peer)
    if current is None or not any(current in net for net in trusted):
        return peer
    forwarded = b",".join(v for k, v in scope.get("headers", ()) if k == b"x-forwarded-for").decode("latin-1")
    for hop in reversed([h for h in forwarded.split(",") if h.strip()]):
        address = _parse(hop)
        if address is None:
            return peer
        if not any(address in net for net in trusted):
            return str(address)
    return peer


def request_meta_fields(request: Request) -> tuple[str | None, str | None, str | None, str | None]:
    """Return (ip, user agent, request id, correlation id) of ``request``."""
    scope = request.scope
    return (
        scope.get(CLIENT_IP),
        request.headers.get("user-agent"),
        scope.get(REQUEST_ID),
        scope.get(CORRELATION_ID),
    )


class RequestContextMiddleware:
    """Resolve the client address and the ids, bind them to the log context for the request."""

    def __init__(self, app: ASGIApp, trusted_proxies: Sequence[str] = ()) -> None:
        self.app = app
        self.trusted: tuple[Network, ...] = tuple(
            ipaddress.ip_network(p, strict=False) for p in trusted_proxies
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", ()))
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _ID.match(given) else uuid.uuid4().hex
        given_corr = headers.get(b"x-correlation-id", b"").decode("latin-1")
        correlation_id = given_corr if _ID.match(given_corr) else request_id
        scope[CLIENT_IP] = client_ip(scope, self.trusted)
        scope[REQUEST_ID] = request_id
        scope[CORRELATION_ID] = correlation_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [*message.get("headers", ()), (b"x-request-id", request_id.encode())],
                }
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id, correlation_id=correlation_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                structlog.contextvars.unbind_contextvars("user_id")
