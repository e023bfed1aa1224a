"""Exceptions of the ``actors`` room.

::

    ActorsError
    ├── WorkRejectedError         the trio work queue refused a job (full or closed)
    ├── RoutingError         an exchange event names a symbol that has no tree
    └── EngineError          the composition root could not start or is not ready
"""

from __future__ import annotations

__all__ = ["ActorsError", "EngineError", "RoutingError", "WorkRejectedError"]


class ActorsError(Exception):
    """Base of every error raised by the ``actors`` room."""


class WorkRejectedError(ActorsError):
    """The actor → trio work queue did not accept a job."""


class RoutingError(ActorsError):
    """An event could not be routed to a symbol's feed."""


class EngineError(ActorsError):
    """The engine failed to start or was asked for something it does not have."""
