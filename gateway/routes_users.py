"""User administration (U-01, U-02, U-06, U-10): list, create (activation link), change role/status, reset,
export and erase. Admin only (the matrix in ``gateway.access``); every change is audited and ends the
user's sessions where trust moved."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response

from gateway.context import ctx_of, error_response, json_response
from gateway.endpoint import Endpoint, parse_body
from gateway.models_auth import (
    CreatedUser,
    CreateUserBody,
    PatchedUser,
    PatchUserBody,
    UserExport,
    UserPage,
    UserView,
)
from gateway.routes_auth import meta_of

__all__ = ["USER_ENDPOINTS"]


def _user_id(request: Request) -> uuid.UUID | Response:
    try:
        return uuid.UUID(str(request.path_params["user_id"]))
    except ValueError:
        return error_response(404, "unknown_user", "no user with that id")


async def list_users(request: Request) -> Response:
    """Answer every user (no secrets)."""
    users = await ctx_of(request).accounts.list_users()
    items = [
        UserView(
            id=u.id,
            email=u.email,
            role=u.role,
            is_active=u.is_active,
            activated=u.password_hash is not None,
            totp_enabled=u.totp_enabled,
            created_at=u.created_at,
            last_login_at=u.last_login_at,
        )
        for u in users
    ]
    return json_response(UserPage(items=items))


async def create_user(request: Request) -> Response:
    """Create a user with a role; the activation link (48 h, single use) is mailed and answered."""
    body = await parse_body(request, CreateUserBody)
    if isinstance(body, Response):
        return body
    user_id, link = await ctx_of(request).accounts.create_user(body.email, body.role, meta_of(request))
    return json_response(CreatedUser(id=user_id, activation_link=link), 201)


async def patch_user(request: Request) -> Response:
    """Change role or status, or reset the account (new activation link); sessions end."""
    user_id = _user_id(request)
    if isinstance(user_id, Response):
        return user_id
    body = await parse_body(request, PatchUserBody)
    if isinstance(body, Response):
        return body
    try:
        link = await ctx_of(request).accounts.update_user(
            user_id, role=body.role, is_active=body.is_active, reset=body.reset, meta=meta_of(request)
        )
    except LookupError as exc:
        return error_response(404, "unknown_user", str(exc))
    return json_response(PatchedUser(id=user_id, activation_link=link))


async def export_user(request: Request) -> Response:
    """Answer what is stored about the person (U-10 data export)."""
    user_id = _user_id(request)
    if isinstance(user_id, Response):
        return user_id
    try:
        data = await ctx_of(request).accounts.export(user_id)
    except LookupError as exc:
        return error_response(404, "unknown_user", str(exc))
    return json_response(UserExport.model_validate(data))


async def anonymise_user(request: Request) -> Response:
    """Erase the person (U-10): pseudonymised and disabled; audit rows kept without the person."""
    user_id = _user_id(request)
    if isinstance(user_id, Response):
        return user_id
    try:
        await ctx_of(request).accounts.anonymise(user_id, meta_of(request))
    except LookupError as exc:
        return error_response(404, "unknown_user", str(exc))
    return Response(status_code=204)


_E = (401, 403)
USER_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("/users", "GET", list_users, "List users", "users", response=UserPage, errors=_E),
    Endpoint(
        "/users",
        "POST",
        create_user,
        "Create a user (activation link)",
        "users",
        body=CreateUserBody,
        response=CreatedUser,
        errors=(*_E, 409, 415, 422),
        status=201,
    ),
    Endpoint(
        "/users/{user_id}",
        "PATCH",
        patch_user,
        "Change role/status or reset a user",
        "users",
        body=PatchUserBody,
        response=PatchedUser,
        errors=(*_E, 404, 409, 415, 422),
        status=200,
    ),
    Endpoint(
        "/users/{user_id}/export",
        "GET",
        export_user,
        "Export a person's data (GDPR)",
        "users",
        response=UserExport,
        errors=(*_E, 404),
    ),
    Endpoint(
        "/users/{user_id}/anonymise",
        "POST",
        anonymise_user,
        "Erase a person (GDPR)",
        "users",
        errors=(*_E, 404, 409),
        status=204,
    ),
)
