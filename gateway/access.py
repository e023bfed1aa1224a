"""Who may call what (U-07, DESIGN §10): one declarative route → roles matrix, enforced on every route.

``ACCESS`` maps each ``(method, path template)`` to the roles allowed (``PUBLIC`` needs no session). A route
missing from the matrix is refused to everyone (deny by default); a test walks every route × every role ×
no token, and docs/api.md publishes the same table (``access_table_markdown``). ``guard`` wraps each
endpoint's handler: it authenticates (``Authorization: Bearer`` for API clients, the HttpOnly session cookie
for the browser), refuses a credential in the query string, checks the role, checks the CSRF token of a
cookie session's unsafe request, binds ``user_id`` to the request's log context and hands the principal to
the handler in ``request.state.principal``. Object-level rules (own API keys unless admin) live in the
handlers that load the object.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

import structlog
from starlette.requests import Request
from starlette.responses import Response

from gateway.auth.errors import CsrfError, ForbiddenError, InvalidTokenError, TokenInQueryError
from gateway.auth.ports import RequestMeta
from gateway.auth.service import ROLES, AuthService, Principal
from gateway.endpoint import Endpoint, Handler
from gateway.request_context import request_meta_fields

__all__ = [
    "ACCESS",
    "ACCESS_COOKIE",
    "ADMIN",
    "ANY_USER",
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "PUBLIC",
    "REFRESH_COOKIE",
    "TRADER",
    "VIEWER",
    "access_table_markdown",
    "guard",
    "principal_of",
]

PUBLIC: frozenset[str] = frozenset()
VIEWER = frozenset(ROLES)
ANY_USER = VIEWER
TRADER = frozenset({"trader", "admin"})
ADMIN = frozenset({"admin"})

ACCESS_COOKIE = "algogrid_access"
REFRESH_COOKIE = "algogrid_refresh"
CSRF_COOKIE = "algogrid_csrf"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_QUERY_CREDENTIALS = frozenset({"access_token", "refresh_token", "token", "jwt", "id_token", "api_key"})

ACCESS: Mapping[tuple[str, str], frozenset[str]] = {
    # ops: probes and the scrape endpoint are public (restrict /metrics at the network, docs/api.md)
    ("GET", "/health"): PUBLIC,
    ("GET", "/ready"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/time"): VIEWER,
    ("GET", "/symbols"): VIEWER,
    ("GET", "/symbols/{symbol}/feed"): VIEWER,
    ("GET", "/admin/supervision"): ADMIN,
    ("POST", "/admin/faults"): ADMIN,
    ("POST", "/admin/kill_switch"): ADMIN,  # and the admin re-authenticates (password + TOTP, U-05)
    ("GET", "/admin/kill_switch"): VIEWER,  # the banner every page shows: state, who, why, when
    ("GET", "/admin/audit"): ADMIN,  # the audit log viewer (U-11)
    ("GET", "/admin/status"): TRADER,
    ("GET", "/admin/reconciliation/status"): TRADER,  # why new exposure is held (C-01, C-03)
    ("POST", "/admin/reconciliation/acknowledge"): ADMIN,
    ("GET", "/admin/forward"): TRADER,  # the forward-validation phase's progress (S-07)
    ("GET", "/admin/calibration/runs"): TRADER,  # calibration versions (S-05)
    ("GET", "/config"): VIEWER,
    ("PATCH", "/config"): ADMIN,
    # market data and trading (U-07)
    ("GET", "/signals"): VIEWER,
    ("GET", "/signals/{signal_id}"): VIEWER,
    ("GET", "/signals/{signal_id}/levels"): VIEWER,
    ("GET", "/signals/{signal_id}/preview"): TRADER,
    ("POST", "/positions/open"): TRADER,
    ("POST", "/positions/{position_id}/close"): TRADER,
    ("GET", "/positions"): VIEWER,
    ("GET", "/positions/{position_id}"): VIEWER,
    ("GET", "/stream"): VIEWER,
    # sessions and the caller's own account (U-06)
    ("POST", "/auth/login"): PUBLIC,
    ("POST", "/auth/session"): PUBLIC,
    ("POST", "/auth/refresh"): PUBLIC,
    ("POST", "/auth/logout"): ANY_USER,
    ("GET", "/auth/me"): ANY_USER,
    ("POST", "/auth/activate"): PUBLIC,
    ("POST", "/auth/activate/totp"): PUBLIC,
    ("POST", "/auth/password/forgot"): PUBLIC,
    ("POST", "/auth/password/reset"): PUBLIC,
    ("POST", "/auth/password/change"): ANY_USER,
    ("POST", "/auth/2fa/setup"): ANY_USER,
    ("POST", "/auth/2fa/confirm"): ANY_USER,
    ("POST", "/auth/2fa/disable"): ANY_USER,
    # administration (U-01, U-06, U-08, U-10)
    ("GET", "/users"): ADMIN,
    ("POST", "/users"): ADMIN,
    ("PATCH", "/users/{user_id}"): ADMIN,
    ("GET", "/users/{user_id}/export"): ADMIN,
    ("POST", "/users/{user_id}/anonymise"): ADMIN,
    ("GET", "/api-keys"): VIEWER,  # own keys; admins see all (object-level rule in the handler)
    ("POST", "/api-keys"): ADMIN,
    ("DELETE", "/api-keys/{key_id}"): ADMIN,
}

log = structlog.get_logger(__name__)


def principal_of(request: Request) -> Principal:
    """Return the authenticated caller (routes that are not ``PUBLIC`` always have one)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        raise InvalidTokenError("authentication required")
    return principal


def _credential(request: Request) -> tuple[str, bool] | None:
    """Return (token, from_cookie) of the request: the Bearer header wins over the cookie."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidTokenError("expected 'Authorization: Bearer <token>'")
        return token.strip(), False
    cookie = request.cookies.get(ACCESS_COOKIE)
    return (cookie, True) if cookie else None


async def authenticate(request: Request, auth: AuthService) -> Principal | None:
    """Return the request's principal, None without credentials; raise on a bad one or a missing CSRF."""
    found = _credential(request)
    if found is None:
        return None
    token, from_cookie = found
    principal = await auth.authenticate(token)
    if from_cookie and request.method not in _SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not principal.csrf or not hmac.compare_digest(sent.encode(), principal.csrf.encode()):
            raise CsrfError("missing or wrong CSRF token (send the csrf cookie's value in X-CSRF-Token)")
    return principal


def guard(
    endpoint: Endpoint, auth: AuthService, access: Mapping[tuple[str, str], frozenset[str]] = ACCESS
) -> Handler:
    """Return ``endpoint.handler`` behind the matrix row of ``(method, path)`` (refused if there is none)."""
    key = (endpoint.method, endpoint.path)
    inner = endpoint.handler
    if key not in access:

        async def refused(request: Request) -> Response:
            raise ForbiddenError(f"{endpoint.method} {endpoint.path} is not in the access matrix")

        refused.__name__ = inner.__name__
        return refused
    roles = access[key]

    async def guarded(request: Request) -> Response:
        if _QUERY_CREDENTIALS.intersection(request.query_params.keys()):
            raise TokenInQueryError("credentials are never accepted in a URL: use the Authorization header")
        principal = (
            await authenticate(request, auth) if roles or request.headers.get("authorization") else None
        )
        if roles:
            if principal is None:
                raise InvalidTokenError("authentication required")
            if principal.role not in roles:
                route = f"{endpoint.method} {endpoint.path}"
                log.info("access denied", route=route, role=principal.role)
                await _audit_denial(auth, request, principal, route)
                raise ForbiddenError(f"the {principal.role} role may not call {route}")
        if principal is not None:
            structlog.contextvars.bind_contextvars(user_id=str(principal.user_id))
        request.state.principal = principal
        return await inner(request)

    guarded.__name__ = inner.__name__
    return guarded


async def _audit_denial(auth: AuthService, request: Request, principal: Principal, route: str) -> None:
    """Write ``access_denied`` (U-11: every authorisation refusal, with who and from where)."""
    ip, agent, request_id, correlation_id = request_meta_fields(request)
    meta = RequestMeta(principal.user_id, ip, agent, request_id, correlation_id)
    await auth.audit.append("access_denied", {"route": route, "role": principal.role}, context=meta)


def access_table_markdown(endpoints: tuple[Endpoint, ...]) -> str:
    """Return the matrix as the Markdown table docs/api.md publishes (one row per route)."""
    lines = ["| Route | viewer | trader | admin | no session |", "| --- | --- | --- | --- | --- |"]
    for endpoint in sorted(endpoints, key=lambda e: (e.path, e.method)):
        roles = ACCESS.get((endpoint.method, endpoint.path))
        cells = ["✓" if roles is not None and (not roles or r in roles) else "—" for r in ROLES]
        public = "✓" if roles is not None and not roles else "—"
        lines.append(f"| `{endpoint.method} {endpoint.path}` | {' | '.join(cells)} | {public} |")
    return "\n".join(lines) + "\n"
