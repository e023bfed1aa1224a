"""Exceptions raised by the storage room.

The tree::

    StorageError
    ├── EmbeddedServerError        an embedded PostgreSQL/Redis could not start or stop
    ├── StorageUnavailableError    the server is unreachable (connection lost, refused, timed out)
    ├── IntegrityViolationError    a constraint (CHECK, FK, UNIQUE) refused a row
    ├── StatementRejectedError     PostgreSQL refused a statement for another reason (bad value, trigger, …)
    └── LockError
        ├── LockNotAcquiredError   another holder owns the lock
        ├── LockLostError          the lease expired or was taken over while we held it (C-04)
        └── FencedWriteRejectedError  a write carried a fencing token older than the newest lease

asyncpg and redis errors are translated to these at one boundary (``storage.database`` and
``storage.redis_client``) with ``raise ... from exc``.
"""

from __future__ import annotations

__all__ = [
    "EmbeddedServerError",
    "FencedWriteRejectedError",
    "IntegrityViolationError",
    "LockError",
    "LockLostError",
    "LockNotAcquiredError",
    "StatementRejectedError",
    "StorageError",
    "StorageUnavailableError",
]


class StorageError(Exception):
    """Base class of every error raised by the storage room."""


class EmbeddedServerError(StorageError):
    """An embedded server could not be started, reached or stopped."""


class StorageUnavailableError(StorageError):
    """The database or Redis server is unreachable; the caller may retry later."""


class IntegrityViolationError(StorageError):
    """A constraint refused the row.

    Attributes:
        constraint: the name of the violated constraint, when PostgreSQL reports it.
    """

    def __init__(self, message: str, constraint: str | None = None) -> None:
        super().__init__(message)
        self.constraint = constraint


class StatementRejectedError(StorageError):
    """PostgreSQL refused a statement for a reason other than a constraint (e.g. a value out of range)."""


class LockError(StorageError):
    """Base class of distributed-lock errors (C-04)."""


class LockNotAcquiredError(LockError):
    """Another holder owns the lock."""


class LockLostError(LockError):
    """The lease expired or another holder took it over."""


class FencedWriteRejectedError(LockError):
    """A fenced write carried a token older than the newest lease and was refused."""
