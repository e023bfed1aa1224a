"""Control messages between supervised actors and their supervisors (internal, but typed and frozen)."""

from __future__ import annotations

from dataclasses import dataclass

from supervision.spec import Spec
from supervision.status import Exit

__all__ = ["AddChild", "ChildExited", "CrashNow", "RemoveChild", "RestartDue", "VanishNow"]


@dataclass(frozen=True, slots=True)
class ChildExited:
    """An incarnation of a child ended; sent by the child itself or by the watchdog."""

    path: str
    incarnation: int
    exit: Exit


@dataclass(frozen=True, slots=True)
class RestartDue:
    """A backoff delay elapsed: start the children of the group that are still restarting."""

    token: int
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AddChild:
    """Add a child to a supervisor at run time and start it (ask; replies with its ChildRef)."""

    spec: Spec


@dataclass(frozen=True, slots=True)
class RemoveChild:
    """Stop a child (reverse order within its subtree) and forget its spec (ask; replies None)."""

    name: str


@dataclass(frozen=True, slots=True)
class CrashNow:
    """Fault injection: raise when this message is handled."""


@dataclass(frozen=True, slots=True)
class VanishNow:
    """Fault injection: end the thread without any report (as a thread that died silently)."""
