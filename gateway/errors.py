"""The gateway's exception tree and the one table of their HTTP answers (STYLE §10).

::

    GatewayError
    ├── EngineError                 503 engine_unavailable: the engine could not answer (reason given)
    │   ├── EngineUnavailableError  503  the actor is dead, restarting or not running
    │   └── EngineTimeoutError      503  the actor did not answer within ``GatewayConfig.ask_timeout_s``
    ├── UnknownActorPathError       404 unknown_actor_path: no actor lives at the path the client named
    ├── FaultRejectedError          400 fault_rejected: the engine refused a fault-injection request
    └── EventLogError               503 event_log_unavailable: the Redis Stream behind SSE failed

Each class carries its ``status_code`` and ``error`` code; ``gateway.app`` answers every ``GatewayError``
from these two attributes, so this docstring is the whole mapping. Supervision errors become these at one
boundary, the engine view (``algogrid.engine_view``): ``AskTimeout`` → ``EngineTimeoutError``,
``ActorUnavailable`` → ``EngineUnavailableError``, ``UnknownPath`` → ``UnknownActorPathError`` when the
client named the path (``POST /admin/faults``) and ``EngineUnavailableError`` when the engine addressed the
actor of a resource that exists (the feed of a traded symbol). A timeout is 503, not 504: the gateway is not
a proxy, the engine is part of this service and "try again later" is what the client should do (DESIGN §3).
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "EngineError",
    "EngineTimeoutError",
    "EngineUnavailableError",
    "EventLogError",
    "FaultRejectedError",
    "GatewayError",
    "UnknownActorPathError",
]


class GatewayError(Exception):
    """Base of every error the gateway raises or expects from its ports; answered as ``status_code``."""

    status_code: ClassVar[int] = 500
    error: ClassVar[str] = "gateway_error"


class EngineError(GatewayError):
    """The engine could not answer a request; routes answer 503 with the message as the reason."""

    status_code = 503
    error = "engine_unavailable"


class EngineUnavailableError(EngineError):
    """The addressed actor is dead, restarting or otherwise unreachable."""


class EngineTimeoutError(EngineError):
    """The addressed actor did not answer within the ask timeout."""


class UnknownActorPathError(GatewayError):
    """No actor lives at the supervision path the client named."""

    status_code = 404
    error = "unknown_actor_path"


class FaultRejectedError(GatewayError):
    """The engine refused a fault-injection request (bad kind or options for that actor)."""

    status_code = 400
    error = "fault_rejected"


class EventLogError(GatewayError):
    """The event log (a Redis Stream) could not be written or read."""

    status_code = 503
    error = "event_log_unavailable"
