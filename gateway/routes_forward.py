"""``GET /admin/forward``: the forward-validation phase's progress ("X/30 days") and metrics (S-07, G-04).

Read-only: the phase is started by ``algogrid run`` with ``forward.enabled`` and judged by
``algogrid forward evaluate``; the gate that refuses live trading reads that verdict. 503 when no reader is
wired (a gateway without storage).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.context import ctx_of, error_response, json_response
from gateway.endpoint import Endpoint
from gateway.models import ForwardBody

__all__ = ["FORWARD_ENDPOINTS"]


async def forward_status(request: Request) -> Response:
    """Answer the newest forward phase's progress and metrics."""
    reader = ctx_of(request).forward
    if reader is None:
        return error_response(503, "forward_unavailable", "forward validation is not wired in this gateway")
    return json_response(await reader.forward_status())


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
)
