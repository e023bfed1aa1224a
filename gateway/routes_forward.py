"""``GET /admin/forward``: the forward-validation phase's progress ("X/30 days") and metrics (S-07, G-04);
``GET /admin/calibration/runs``: the newest calibration runs and the θ-map version in force (S-05).

Read-only: the phase is started by ``algogrid run`` with ``forward.enabled`` and judged by
``algogrid forward evaluate``; the gate that refuses live trading reads that verdict. 503 when no reader is
wired (a gateway without storage).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from gateway.context import ctx_of, error_response, json_response
from gateway.endpoint import Endpoint, parse_query
from gateway.models import ForwardBody
from gateway.models_admin import CalibrationRunPage

__all__ = ["FORWARD_ENDPOINTS"]


async def forward_status(request: Request) -> Response:
    """Answer the newest forward phase's progress and metrics."""
    reader = ctx_of(request).forward
    if reader is None:
        return error_response(503, "forward_unavailable", "forward validation is not wired in this gateway")
    return json_response(await reader.forward_status())


class CalibrationRunsQuery(BaseModel):
    """How many of the newest runs to answer."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    limit: int = Field(default=10, ge=1, le=100)


async def calibration_runs(request: Request) -> Response:
    """Answer the newest calibration runs, newest first, and the version in force."""
    query = parse_query(request, CalibrationRunsQuery)
    if isinstance(query, Response):
        return query
    reader = ctx_of(request).forward
    if reader is None:
        return error_response(503, "forward_unavailable", "calibration runs are not wired in this gateway")
    return json_response(await reader.calibration_runs(query.limit))


FORWARD_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "/admin/forward",
        "GET",
        forward_status,
        'The forward-validation phase: progress ("X/30 days") and metrics of its simulated trades',
        "admin",
        response=ForwardBody,
        errors=(503,),
    ),
    Endpoint(
        "/admin/calibration/runs",
        "GET",
        calibration_runs,
        "The newest calibration runs (S-05) and the theta-map version in force",
        "admin",
        query=CalibrationRunsQuery,
        response=CalibrationRunPage,
        errors=(422, 503),
    ),
)
