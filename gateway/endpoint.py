"""The route table entry: one ``Endpoint`` feeds both Starlette's router and the OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.context import error_response

__all__ = ["Endpoint", "Handler", "parse_body", "parse_query", "validation_error"]

Handler = Callable[[Request], Awaitable[Response]]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A documented route: path template, method, handler and the models of its query, body and answer."""

    path: str
    method: str
    handler: Handler
    summary: str
    tag: str
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    response_is_list: bool = False
    media_type: str = "application/json"
    errors: tuple[int, ...] = ()
    status: int | None = None  # the success status; default 200 with a response model, else 202 for POST
    body_optional: bool = False

    @property
    def success_status(self) -> int:
        """Return the documented success status."""
        if self.status is not None:
            return self.status
        return 200 if self.response is not None or self.method != "POST" else 202

    def route(self, handler: Handler | None = None) -> Route:
        """Return the Starlette route serving this endpoint (through ``handler``, e.g. its access guard)."""
        name = f"{self.method} {self.path}"
        return Route(self.path, handler or self.handler, methods=[self.method], name=name)


def validation_error(exc: ValidationError, where: str) -> Response:
    """Answer 422 naming each invalid field of ``where`` (query or body)."""
    details = [{"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]} for err in exc.errors()]
    fields = ", ".join(d["field"] or where for d in details)
    return error_response(422, "invalid_" + where, f"invalid {where}: {fields}", details)


def parse_query(request: Request, model: type[M]) -> M | Response:
    """Validate the query string into ``model``; return a 422 answer on any bad or unknown parameter."""
    raw: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key in raw:
            return error_response(422, "invalid_query", f"invalid query: {key} given more than once")
        raw[key] = value
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        return validation_error(exc, "query")


async def parse_body(request: Request, model: type[M]) -> M | Response:
    """Validate the JSON body into ``model``; return a 422 answer naming what is wrong (bad JSON included)."""
    try:
        raw = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return error_response(422, "invalid_body", "invalid body: expected a JSON object")
    if not isinstance(raw, dict):
        return error_response(422, "invalid_body", "invalid body: expected a JSON object")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        return validation_error(exc, "body")
