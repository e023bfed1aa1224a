"""Exceptions of the ``actors`` room.

::

    ActorsError
    ├── WorkRejectedError         the trio work queue refused a job (full or closed)
    ├── RoutingError         an exchange event names a symbol that has no tree
    ├── SymbolUnavailableError  a symbol cannot take orders (no instrument rules from the exchange)
    └── EngineError          the composition root could not start or is not ready
"""

from __future__ import annotations

__all__ = ["ActorsError", "EngineError", "RoutingError", "SymbolUnavailableError", "WorkRejectedError"]


class ActorsError(Exception):
    """Base of every error raised by the ``actors`` room."""


class WorkRejectedError(ActorsError):
    """The actor → trio work queue did not accept a job."""


class RoutingError(ActorsError):
    """An event could not be routed to a symbol's feed."""


class EngineError(ActorsError):
    """The engine failed to start or was asked for something it does not have."""


class SymbolUnavailableError(ActorsError):
    """``symbol`` cannot take orders, for ``reason`` (e.g. the exchange gave no instrument rules for it).

    Raised instead of guessing a tick size or quantity step: an order is never rounded on a made-up grid.
    """

    def __init__(self, symbol: str, reason: str) -> None:
        super().__init__(f"{symbol} is unavailable for orders: {reason}")
        self.symbol = symbol
        self.reason = reason
