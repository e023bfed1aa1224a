"""The OpenAPI document, the live route table and docs/api.md describe the same routes (G-01)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
from gw_kit import Stack
from starlette.routing import Route

from gateway import build_openapi, endpoints_for

API_MD = Path(__file__).resolve().parents[2] / "docs" / "api.md"
_INTERNAL = {"/openapi.json", "/"}


def served_routes(stack: Stack) -> set[tuple[str, str]]:
    pairs = set()
    for route in stack.handle.app.routes:
        if isinstance(route, Route) and route.path not in _INTERNAL:
            pairs |= {(m, route.path) for m in (route.methods or ()) if m != "HEAD"}
    return pairs


async def test_served_document_matches_the_route_table(client: httpx.AsyncClient, stack: Stack) -> None:
    doc = (await client.get("/openapi.json")).json()
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert documented == served_routes(stack)
    assert "/admin/faults" in doc["paths"]  # the stack runs with fault injection on


def test_every_reference_resolves_and_the_document_is_openapi_3_1() -> None:
    doc = build_openapi(endpoints_for(fault_injection=True), "test")
    assert doc["openapi"] == "3.1.0"
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(doc)))
    assert refs
    assert refs <= set(doc["components"]["schemas"])
    query = doc["paths"]["/signals"]["get"]["parameters"]
    assert {p["name"] for p in query} == {"symbol", "direction", "min_probability", "limit", "offset"}


def test_docs_api_md_lists_every_route() -> None:
    text = API_MD.read_text()
    for endpoint in endpoints_for(fault_injection=True):
        assert f"`{endpoint.method} {endpoint.path}`" in text, (
            f"{endpoint.method} {endpoint.path} missing in docs/api.md"
        )


def test_docs_api_md_publishes_the_current_access_matrix() -> None:
    from gateway.access import access_table_markdown

    assert access_table_markdown(endpoints_for(fault_injection=True)) in API_MD.read_text()


def test_every_guarded_operation_declares_its_roles_and_security() -> None:
    doc = build_openapi(endpoints_for(fault_injection=True), "test")
    login = doc["paths"]["/auth/login"]["post"]
    assert login["x-roles"] == "public"
    assert "security" not in login
    close = doc["paths"]["/positions/{position_id}/close"]["post"]
    assert close["x-roles"] == ["admin", "trader"]
    assert close["security"] == [{"bearer": []}, {"session_cookie": []}]
    assert {"401", "403", "415"} <= set(close["responses"])
