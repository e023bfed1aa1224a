"""The gateway's exception tree and the one table of their HTTP answers (STYLE §10).

::

    GatewayError
    ├── EngineError                 503 engine_unavailable: the engine could not answer (reason given)
    │   ├── EngineUnavailableError  503  the actor is dead, restarting or not running
    │   └── EngineTimeoutError      503  the actor did not answer within ``GatewayConfig.ask_timeout_s``
    │   └── InstrumentUnavailableError 503 instrument_unavailable: the symbol's rules could not be loaded
    ├── UnknownActorPathError       404 unknown_actor_path: no actor lives at the path the client named
    ├── UnknownSignalError          404 unknown_signal: no signal with that id
    ├── UnknownPositionError        404 unknown_position: no position with that id
    ├── SignalNotOpenError          409 signal_not_open: the signal is not ``new`` or past its grace period
    ├── RiskDeniedError             409 risk_denied: the RiskActor refused the trade (its reason given)
    ├── PositionClosedError         409 position_closed: the position is closed already
    ├── FaultRejectedError          400 fault_rejected: the engine refused a fault-injection request
    ├── ConfigRejectedError         422 config_rejected: a settings change the running engine refuses as a
    │                                   whole (each section passed on its own); nothing is stored
    └── EventLogError               503 event_log_unavailable: the Redis Stream behind SSE failed

Each class carries its ``status_code`` and ``error`` code; ``gateway.app`` answers every ``GatewayError``
from these two attributes, so this docstring is the whole mapping. Supervision errors become these at one
boundary, the engine view (``algogrid.engine_view``): ``AskTimeout`` → ``EngineTimeoutError``,
``ActorUnavailable`` → ``EngineUnavailableError``, ``UnknownPath`` → ``UnknownActorPathError`` when the
client named the path (``POST /admin/faults``) and ``EngineUnavailableError`` when the engine addressed the
actor of a resource that exists (the feed of a traded symbol). A timeout is 503, not 504: the gateway is not
a proxy, the engine is part of this service and "try again later" is what the client should do (DESIGN §3).
The position actor's refusals (``PlacementOutcome.reason_code``, ``CloseOutcome.status``) become the 404/409
rows at the same boundary. A risk denial is 409, not 403: the trader may place orders, the book's state
(heat, per-base usage, a halt) refuses this one now.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "ConfigRejectedError",
    "EngineError",
    "EngineTimeoutError",
    "EngineUnavailableError",
    "EventLogError",
    "FaultRejectedError",
    "GatewayError",
    "InstrumentUnavailableError",
    "PositionClosedError",
    "RiskDeniedError",
    "SignalNotOpenError",
    "UnknownActorPathError",
    "UnknownPositionError",
    "UnknownSignalError",
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


class ConfigRejectedError(GatewayError):
    """The running engine refuses a settings change (the message names the key and the rule, O-02)."""

    status_code = 422
    error = "config_rejected"


class EventLogError(GatewayError):
    """The event log (a Redis Stream) could not be written or read."""

    status_code = 503
    error = "event_log_unavailable"


class InstrumentUnavailableError(EngineError):
    """The symbol's instrument rules (tick, qty step, minimums) are not loaded: no order can be sized."""

    error = "instrument_unavailable"


class UnknownSignalError(GatewayError):
    """No signal with the given id exists."""

    status_code = 404
    error = "unknown_signal"


class UnknownPositionError(GatewayError):
    """No position with the given id exists."""

    status_code = 404
    error = "unknown_position"


class SignalNotOpenError(GatewayError):
    """The signal cannot be placed: it is not ``new`` or its grace period passed (E-02)."""

    status_code = 409
    error = "signal_not_open"


class RiskDeniedError(GatewayError):
    """The RiskActor refused the trade; the message is its reason (fail closed, E-02)."""

    status_code = 409
    error = "risk_denied"


class PositionClosedError(GatewayError):
    """The position is closed already (E-06)."""

    status_code = 409
    error = "position_closed"
