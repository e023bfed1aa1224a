"""Admin and config routes (R-04, G-01, O-02): the kill switch, the trading status and ``GET/PATCH /config``.

Thin handlers over the ``OpsPort`` (``algogrid.admin_wiring.StorageOps``): the kill switch is written the way
the RiskActor and ``algogrid kill-switch`` write it (PostgreSQL with its audit row, then the Redis mirror a
running engine polls); a config patch is validated against the settings model before it is stored and audited.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from gateway.access import principal_of
from gateway.auth.ports import RequestMeta
from gateway.context import ctx_of, error_response, json_response
from gateway.endpoint import Endpoint, parse_body, validation_error
from gateway.models_admin import AdminStatusView, ConfigPatch, ConfigView, KillSwitchBody, KillSwitchView
from gateway.routes_auth import meta_of

__all__ = ["ADMIN_ENDPOINTS", "OpsPort"]


class OpsPort(Protocol):
    """What the admin routes need from the composition root."""

    async def set_kill_switch(self, body: KillSwitchBody, by: str, meta: RequestMeta) -> KillSwitchView: ...

    async def status(self) -> AdminStatusView: ...

    async def config(self) -> ConfigView: ...

    async def patch_config(self, changes: dict[str, dict[str, Any]], meta: RequestMeta) -> ConfigView:
        """Validate and store ``changes``; raise ``pydantic.ValidationError`` naming a bad key."""
        ...


def _ops(request: Request) -> OpsPort:
    ops = ctx_of(request).ops
    if ops is None:
        raise LookupError("no ops port wired")
    return ops


async def kill_switch(request: Request) -> Response:
    """Engage or release the kill switch (admin; audited with the reason)."""
    body = await parse_body(request, KillSwitchBody)
    if isinstance(body, Response):
        return body
    by = f"user:{principal_of(request).user_id}"
    return json_response(await _ops(request).set_kill_switch(body, by, meta_of(request)))


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
        "Engage or release the kill switch (R-04)",
        "admin",
        body=KillSwitchBody,
        response=KillSwitchView,
        errors=(*_E, 422),
        status=200,
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
        errors=(*_E, 422),
        status=200,
    ),
)
