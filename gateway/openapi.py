"""OpenAPI 3.1 document generated from the route table and the pydantic models (G-01).

Pydantic already emits JSON Schema 2020-12, which OpenAPI 3.1 uses as is; we only move ``$defs`` into
``components/schemas`` and point ``$ref`` there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from gateway.access import ACCESS
from gateway.endpoint import Endpoint
from gateway.models import ErrorBody

__all__ = ["build_openapi"]

_REF = "#/components/schemas/{model}"
_PARAM = re.compile(r"{(\w+)}")
_REASONS = {
    400: "Bad request",
    401: "Not authenticated (missing, invalid, expired or revoked token)",
    403: "Forbidden (role not allowed, CSRF token missing, route not in the access matrix)",
    404: "Not found",
    409: "Conflict",
    413: "Body too large",
    415: "Unsupported media type (expected application/json)",
    429: "Too many requests (rate limit or soft lockout; see Retry-After)",
    422: "Invalid input",
    503: "Unavailable (actor timeout, actor down or dependency not ready)",
}


def _schema(
    model: type[BaseModel], components: dict[str, Any], mode: str = "serialization"
) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=_REF, mode=mode)  # type: ignore[arg-type]
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": _REF.format(model=model.__name__)}


def _query_parameters(model: type[BaseModel], components: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=_REF, mode="validation")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    required = set(schema.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def _operation(endpoint: Endpoint, components: dict[str, Any]) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PARAM.findall(endpoint.path)
    ]
    if endpoint.query is not None:
        parameters += _query_parameters(endpoint.query, components)
    if endpoint.path == "/stream":
        parameters.append(
            {
                "name": "Last-Event-ID",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": "replay the events after this id (a Redis stream id)",
            }
        )
    ok: dict[str, Any] = {"description": "OK"}
    if endpoint.response is not None:
        ref = _schema(endpoint.response, components)
        body = {"type": "array", "items": ref} if endpoint.response_is_list else ref
        ok["content"] = {endpoint.media_type: {"schema": body}}
    elif endpoint.media_type != "application/json":
        ok["content"] = {endpoint.media_type: {"schema": {"type": "string"}}}
    status = str(endpoint.success_status)
    if endpoint.response is None and endpoint.media_type == "application/json":
        ok = {"description": "Accepted" if status == "202" else "Done (no body)" if status == "204" else "OK"}
    responses: dict[str, Any] = {status: ok}
    error_ref = _schema(ErrorBody, components)
    roles = ACCESS.get((endpoint.method, endpoint.path))
    codes = set(endpoint.errors) | {429}
    if roles is None or roles:
        codes |= {401, 403}
    if endpoint.method in ("POST", "PATCH", "PUT", "DELETE"):
        codes |= {413, 415}
    for code in sorted(codes):
        responses[str(code)] = {
            "description": _REASONS.get(code, "Error"),
            "content": {"application/json": {"schema": error_ref}},
        }
    operation: dict[str, Any] = {
        "operationId": endpoint.handler.__name__,
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "responses": responses,
    }
    operation["x-roles"] = sorted(roles) if roles else ("public" if roles is not None else "nobody")
    if roles is None or roles:
        operation["security"] = [{"bearer": []}, {"session_cookie": []}]
    if parameters:
        operation["parameters"] = parameters
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": not endpoint.body_optional,
            "content": {"application/json": {"schema": _schema(endpoint.body, components, "validation")}},
        }
    return operation


def build_openapi(endpoints: Iterable[Endpoint], version: str) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of ``endpoints``."""
    components: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "algogrid gateway",
            "version": version,
            "description": "REST, SSE and ops endpoints of the algogrid gateway (docs/api.md).",
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "session_cookie": {"type": "apiKey", "in": "cookie", "name": "algogrid_access"},
            },
        },
    }
