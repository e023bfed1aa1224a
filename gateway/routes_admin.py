"""Admin and config routes (R-04, G-01, O-02, U-11): the kill switch, the trading status, ``GET/PATCH
/config`` and the audit log viewer.

Thin handlers over the ``OpsPort`` (``algogrid.admin_wiring.StorageOps``): the kill switch is written the way
the RiskActor and ``algogrid kill-switch`` write it (PostgreSQL with its audit row, then the Redis mirror a
running engine polls), and only after the admin re-authenticated (password and a current TOTP code, U-05);
every user may read who changed it, why and when (the UI's banner). A config patch is validated against the
settings model before it is stored and audited. ``GET /admin/audit`` pages through the audit trail by actor,
action prefix and time range.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from gateway.access import principal_of
from gateway.auth.ports import RequestMeta
from gateway.context import ctx_of, error_response, json_response
from gateway.endpoint import Endpoint, parse_body, parse_query, validation_error
from gateway.models_admin import (
    AdminStatusView,
    AuditPage,
    AuditQuery,
    ConfigPatch,
    ConfigView,
    KillSwitchBody,
    KillSwitchStateView,
    KillSwitchView,
)
from gateway.routes_auth import meta_of

__all__ = ["ADMIN_ENDPOINTS", "OpsPort"]


class OpsPort(Protocol):
    """What the admin routes need from the composition root."""

    async def set_kill_switch(self, body: KillSwitchBody, by: str, meta: RequestMeta) -> KillSwitchView: ...

    async def kill_switch_state(self) -> KillSwitchStateView: ...

    async def audit(self, query: AuditQuery) -> AuditPage: ...

    async def status(self) -> AdminStatusView: ...

    async def config(self) -> ConfigView: ...

    async def patch_config(self, changes: dict[str, dict[str, Any]], meta: RequestMeta) -> ConfigView:
        """Validate and store ``changes``; raise ``pydantic.ValidationError`` naming a bad key, or
        ``ConfigRejectedError`` when the running engine refuses the settings as a whole (nothing stored)."""
        ...


def _ops(request: Request) -> OpsPort:
    ops = ctx_of(request).ops
    if ops is None:
        raise LookupError("no ops port wired")
    return ops


async def kill_switch(request: Request) -> Response:
    """Engage or release the kill switch (admin, re-authenticated; audited with the reason)."""
    body = await parse_body(request, KillSwitchBody)
    if isinstance(body, Response):
        return body
    principal, meta = principal_of(request), meta_of(request)
    await ctx_of(request).accounts.reauthenticate(
        principal, body.password.get_secret_value(), body.totp_code, meta, "kill_switch"
    )  # ReauthenticationError → 403 reauth_failed with the reason, audited
    return json_response(await _ops(request).set_kill_switch(body, f"user:{principal.user_id}", meta))


async def kill_switch_state(request: Request) -> Response:
    """Answer the trading state and who changed it, why and when (every user: the UI's banner)."""
    return json_response(await _ops(request).kill_switch_state())


async def audit_log(request: Request) -> Response:
    """Answer a page of the audit trail filtered by actor, action prefix and time range (admin)."""
    query = parse_query(request, AuditQuery)
    if isinstance(query, Response):
        return query
    if query.since is not None and query.until is not None and query.until <= query.since:
        return error_response(422, "invalid_query", "invalid query: until must be after since")
    return json_response(await _ops(request).audit(query))


async def admin_status(request: Request) -> Response:
    """Answer the trading state, the kill switch and WR / PF / net expectancy / MaxDD."""
    return json_response(await _ops(request).status())


async def get_config(request: Request) -> Response:
    """Answer the effective non-secret settings and the stored overrides."""
    return json_response(await _ops(request).config())


async def patch_config(request: Request) -> Response:
    """Validate, store and audit overrides of editable sections (applied at the next engine start)."""
    body = await parse_body(request, ConfigPatch)
    if isinstance(body, Response):
        return body
    changes = {k: v for k, v in body.model_dump(exclude_none=True).items() if v}
    if not changes:
        return error_response(422, "invalid_body", "invalid body: expected at least one section to change")
    try:
        return json_response(await _ops(request).patch_config(changes, meta_of(request)))
    except ValidationError as exc:
        return validation_error(exc, "body")


_E = (401, 403)
ADMIN_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "/admin/kill_switch",
        "POST",
        kill_switch,
        "Engage or release the kill switch (R-04; re-authenticated with password + TOTP code)",
        "admin",
        body=KillSwitchBody,
        response=KillSwitchView,
        errors=(*_E, 422, 429),
        status=200,
    ),
    Endpoint(
        "/admin/kill_switch",
        "GET",
        kill_switch_state,
        "The trading state: who changed it, why and when (R-04)",
        "admin",
        response=KillSwitchStateView,
        errors=_E,
    ),
    Endpoint(
        "/admin/audit",
        "GET",
        audit_log,
        "The audit trail by actor, action prefix and time range, newest first (U-11)",
        "admin",
        query=AuditQuery,
        response=AuditPage,
        errors=(*_E, 422),
    ),
    Endpoint(
        "/admin/status",
        "GET",
        admin_status,
        "Trading state, kill switch, WR/PF/expectancy/MaxDD",
        "admin",
        response=AdminStatusView,
        errors=_E,
    ),
    Endpoint(
        "/config",
        "GET",
        get_config,
        "Effective non-secret settings and pending overrides",
        "config",
        response=ConfigView,
        errors=_E,
    ),
    Endpoint(
        "/config",
        "PATCH",
        patch_config,
        "Change editable settings (validated, audited)",
        "config",
        body=ConfigPatch,
        response=ConfigView,
        errors=(*_E, 422),  # 422 invalid_body, or config_rejected by the running engine
        status=200,
    ),
)
