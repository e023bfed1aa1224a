"""Security headers and request-shape limits on every response (ASVS V14/V3): one small ASGI middleware.

Headers: a CSP without ``unsafe-inline`` for scripts or styles and with ``frame-ancestors 'none'``,
``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``, ``Cross-Origin-Opener-Policy:
same-origin``, ``X-Frame-Options: DENY``, HSTS when the request came over TLS, and ``Cache-Control:
no-store`` on everything but the static UI. Limits: a body larger than ``max_body_bytes`` is refused with 413
(by ``Content-Length`` or while it streams in), and a state-changing request with a body that is not
``application/json`` with 415.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.context import error_response

__all__ = ["SECURITY_HEADERS", "SecurityMiddleware"]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
)
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
_NO_STORE = (b"cache-control", b"no-store")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class _BodyTooLargeError(Exception):
    pass


class SecurityMiddleware:
    """Add the security headers; refuse oversize bodies (413) and non-JSON bodies (415)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await self._answer(scope, receive, send, refusal)
            return
        static = scope["path"].startswith("/ui")
        extra = [*SECURITY_HEADERS, *(() if static else (_NO_STORE,))]
        if scope.get("scheme") == "https":
            extra.append(_HSTS)
        names = {name for name, _ in extra}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", ()) if k.lower() not in names]
                message = {**message, "headers": [*kept, *extra]}
            await send(message)

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLargeError
            return message

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except _BodyTooLargeError:
            await self._answer(scope, receive, send, (413, "body_too_large", self._too_large()))

    def _too_large(self) -> str:
        return f"the body exceeds {self.max_body_bytes} bytes"

    def _refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        headers = dict(scope.get("headers", ()))
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            return 413, "body_too_large", self._too_large()
        has_body = (length is not None and length not in (b"0", b"")) or b"transfer-encoding" in headers
        if scope["method"] in _BODY_METHODS and has_body:
            media = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if media != b"application/json":
                return 415, "unsupported_media_type", "expected Content-Type: application/json"
        return None

    @staticmethod
    async def _answer(scope: Scope, receive: Receive, send: Send, refusal: tuple[int, str, str]) -> None:
        status, error, reason = refusal
        response = error_response(status, error, reason)
        for name, value in (*SECURITY_HEADERS, _NO_STORE):
            response.headers[name.decode()] = value.decode()
        await response(scope, receive, send)
