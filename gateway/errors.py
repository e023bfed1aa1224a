"""The gateway's exception tree (STYLE §10).

::

    GatewayError
    ├── EngineError            the engine could not answer; the route answers 503 with the reason
    │   ├── EngineUnavailableError  the actor is dead, restarting or unknown to the bridge
    │   └── EngineTimeoutError      the actor did not answer within the ask timeout
    ├── UnknownActorPathError       no actor lives at the given supervision path (404)
    ├── FaultRejectedError          the engine refused a fault-injection request (400)
    └── EventLogError          the Redis Stream behind SSE could not be written or read

Adapters that implement the ports in ``gateway.ports`` translate their own errors (pykka, supervision, redis)
into these at exactly one boundary with ``raise ... from exc``.
"""

from __future__ import annotations

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
    """Base of every error the gateway raises or expects from its ports."""


class EngineError(GatewayError):
    """The engine could not answer a request; routes map it to 503 with the message as the reason."""


class EngineUnavailableError(EngineError):
    """The addressed actor is dead, restarting or otherwise unreachable."""


class EngineTimeoutError(EngineError):
    """The addressed actor did not answer within the ask timeout."""


class UnknownActorPathError(GatewayError):
    """No actor lives at the given supervision path."""


class FaultRejectedError(GatewayError):
    """The engine refused a fault-injection request (bad kind or options for that actor)."""


class EventLogError(GatewayError):
    """The event log (a Redis Stream) could not be written or read."""
