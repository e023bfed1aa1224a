"""Reconciliation routes (C-01..C-04, G-01): the status of the reconciler and an admin's acknowledgement.

* ``GET /admin/reconciliation/status`` — last passes, open findings, the lock holder, whether new exposure
  is held (asks the ReconcilerActor; 503 when it is not running or does not answer in time);
* ``POST /admin/reconciliation/acknowledge`` — acknowledge findings (audited); a critical finding holds new
  exposure until acknowledged; ``acknowledged_by`` is the authenticated admin's id (U-07, U-11). Who may call
  which route is declared in ``gateway.access.ACCESS``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.access import principal_of
from gateway.context import ctx_of, json_response
from gateway.endpoint import Endpoint, parse_body
from gateway.errors import EngineUnavailableError
from gateway.reconciliation import (
    AcknowledgeBody,
    AcknowledgeResult,
    ReconciliationPort,
    ReconciliationStatusBody,
)

__all__ = ["RECONCILIATION_ENDPOINTS"]

def _port(request: Request) -> ReconciliationPort:
    port = ctx_of(request).reconciliation
    if port is None:
        raise EngineUnavailableError("the reconciler is not running in this engine")
    return port


async def reconciliation_status(request: Request) -> Response:
    """Answer the reconciler's status (503 when it is not running or too slow)."""
    ctx = ctx_of(request)
    return json_response(await _port(request).status(ctx.config.ask_timeout_s))


async def acknowledge(request: Request) -> Response:
    """Acknowledge findings (all when ``ids`` is absent); audited."""
    body = await parse_body(request, AcknowledgeBody)
    if isinstance(body, Response):
        return body
    done = await _port(request).acknowledge(body.ids, str(principal_of(request).user_id))
    return json_response(AcknowledgeResult(acknowledged=done))


RECONCILIATION_ENDPOINTS = (
    Endpoint(
        "/admin/reconciliation/status",
        "GET",
        reconciliation_status,
        "Reconciliation passes, open findings and the lock holder (C-01..C-04)",
        "admin",
        response=ReconciliationStatusBody,
        errors=(503,),
    ),
    Endpoint(
        "/admin/reconciliation/acknowledge",
        "POST",
        acknowledge,
        "Acknowledge reconciliation findings (audited); releases the hold of critical ones",
        "admin",
        body=AcknowledgeBody,
        response=AcknowledgeResult,
        errors=(422, 503),
    ),
)
