"""Exceptions raised by the supervision library.

Tree::

    SupervisionError
    ├── ActorUnavailable      the addressed child is not running and will not take the message
    ├── AskTimeout            no reply arrived within the caller's timeout
    ├── IllegalTransition     a lifecycle state change outside the state table
    ├── UnknownPath           no child is registered under a path
    ├── DuplicateChild        a supervisor already has a child of that name
    ├── NotSupervised         a SupervisedActor was started outside a ChildSpec factory
    ├── WorkQueueFull         TrioWorkQueue.submit found the bounded queue full
    ├── WorkQueueClosed       TrioWorkQueue is not running any more
    └── InjectedFault         raised by fault injection (crash, failing on_start)
        └── IntensityExceeded a supervisor gave up: too many restarts in its window
"""

# ruff: noqa: N818 -- the public names (ActorUnavailable, AskTimeout, ...) are the library's public API (DESIGN §4)
from __future__ import annotations

__all__ = [
    "ActorUnavailable",
    "AskTimeout",
    "DuplicateChild",
    "IllegalTransition",
    "InjectedFault",
    "IntensityExceeded",
    "NotSupervised",
    "SupervisionError",
    "UnknownPath",
    "WorkQueueClosed",
    "WorkQueueFull",
]


class SupervisionError(Exception):
    """Base class of every error of the supervision library."""


class ActorUnavailable(SupervisionError):
    """The addressed child is stopped, failed, removed, or its restart buffer is full."""


class AskTimeout(SupervisionError):
    """An ask got no reply within its timeout."""


class IllegalTransition(SupervisionError):
    """A lifecycle state change that the state table does not allow."""


class UnknownPath(SupervisionError):
    """No child is registered under the given path."""


class DuplicateChild(SupervisionError):
    """A supervisor already has a child with that name."""


class NotSupervised(SupervisionError):
    """A SupervisedActor was constructed outside a supervisor's start context."""


class WorkQueueFull(SupervisionError):
    """The bounded hand-off queue to trio is full; the caller must shed or retry later."""


class WorkQueueClosed(SupervisionError):
    """The hand-off queue is not (or no longer) drained by a trio task."""


class InjectedFault(SupervisionError):
    """A failure produced on purpose by the fault injector."""


class IntensityExceeded(SupervisionError):
    """A supervisor exceeded its restart intensity and escalates to its parent."""
