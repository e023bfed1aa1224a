"""Bybit API keys (U-08): list (own keys; admins see all), add (admin; validated against the exchange with
``GET /v5/account/info`` and encrypted through the ``SecretCipher`` before storage), revoke (admin).

The secret is accepted once, in the request body, and never returned, stored in plaintext or logged; the
answer shows only the last four characters of the public key. Object-level rule: a non-admin sees only their
own keys (there is no query to name another owner).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from starlette.requests import Request
from starlette.responses import Response

from gateway.access import principal_of
from gateway.auth.ports import RequestMeta
from gateway.context import ctx_of, error_response, json_response
from gateway.endpoint import Endpoint, parse_body
from gateway.errors import GatewayError
from gateway.routes_auth import meta_of

__all__ = ["API_KEY_ENDPOINTS", "ApiKeyBody", "ApiKeyPage", "ApiKeyPort", "ApiKeyRejectedError", "ApiKeyView"]


class ApiKeyRejectedError(GatewayError):
    """The exchange refused the key (or could not be asked): nothing was stored."""

    status_code = 422
    error = "api_key_rejected"


class ApiKeyBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    label: str = Field(min_length=1, max_length=64)
    api_key: str = Field(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")
    api_secret: SecretStr = Field(min_length=8, max_length=256)
    environment: Literal["testnet", "demo", "mainnet"] = "testnet"
    user_id: uuid.UUID | None = None  # the owner (default: the admin adding it)
    rotate_from: uuid.UUID | None = None  # rotation: the old key turns inactive


class ApiKeyView(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: uuid.UUID
    user_id: uuid.UUID
    label: str
    exchange: str
    environment: str
    api_key_hint: str
    cipher: str
    is_active: bool
    rotated_from: uuid.UUID | None
    created_at: dt.datetime
    last_used_at: dt.datetime | None


class ApiKeyPage(BaseModel):
    model_config = ConfigDict(frozen=True)
    items: list[ApiKeyView]


class ApiKeyPort(Protocol):
    """The key store behind the routes (``algogrid.api_key_wiring.StorageApiKeys``)."""

    async def list(self, owner: uuid.UUID | None) -> list[ApiKeyView]: ...

    async def add(self, owner: uuid.UUID, body: ApiKeyBody, meta: RequestMeta) -> ApiKeyView:
        """Validate with the exchange, encrypt, store; raise ``ApiKeyRejectedError`` when refused."""
        ...

    async def owner(self, key_id: uuid.UUID) -> uuid.UUID | None: ...

    async def revoke(self, key_id: uuid.UUID, meta: RequestMeta) -> bool: ...


def _keys(request: Request) -> ApiKeyPort:
    keys = ctx_of(request).api_keys
    if keys is None:
        raise ApiKeyRejectedError("API keys are not available on this gateway")
    return keys


async def list_api_keys(request: Request) -> Response:
    """Answer the caller's keys (admins: every key); never a secret."""
    principal = principal_of(request)
    owner = None if principal.role == "admin" else principal.user_id
    return json_response(ApiKeyPage(items=await _keys(request).list(owner)))


async def add_api_key(request: Request) -> Response:
    """Validate a key pair with the exchange, encrypt the secret and store it (admin)."""
    body = await parse_body(request, ApiKeyBody)
    if isinstance(body, Response):
        return body
    owner = body.user_id or principal_of(request).user_id
    return json_response(await _keys(request).add(owner, body, meta_of(request)), 201)


async def revoke_api_key(request: Request) -> Response:
    """Turn a key inactive (admin)."""
    try:
        key_id = uuid.UUID(str(request.path_params["key_id"]))
    except ValueError:
        return error_response(404, "unknown_api_key", "no API key with that id")
    keys = _keys(request)
    principal = principal_of(request)
    owner = await keys.owner(key_id)
    if owner is None or (principal.role != "admin" and owner != principal.user_id):
        return error_response(404, "unknown_api_key", "no API key with that id")  # no hint that it exists
    if not await keys.revoke(key_id, meta_of(request)):
        return error_response(409, "api_key_inactive", "the key is inactive already")
    return Response(status_code=204)


_E = (401, 403)
API_KEY_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "/api-keys",
        "GET",
        list_api_keys,
        "List API keys (own; admins: all)",
        "api-keys",
        response=ApiKeyPage,
        errors=_E,
    ),
    Endpoint(
        "/api-keys",
        "POST",
        add_api_key,
        "Add (or rotate) a Bybit key: validated, encrypted",
        "api-keys",
        body=ApiKeyBody,
        response=ApiKeyView,
        errors=(*_E, 409, 422),
        status=201,
    ),
    Endpoint(
        "/api-keys/{key_id}",
        "DELETE",
        revoke_api_key,
        "Revoke an API key",
        "api-keys",
        errors=(*_E, 404, 409),
        status=204,
    ),
)
