"""Lifecycle states, the legal transitions between them, and exit records."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from supervision.errors import IllegalTransition

__all__ = ["Exit", "ExitReason", "FailureInfo", "Status", "check_transition"]


class Status(StrEnum):
    """Lifecycle state of a supervised child, as shown in the ops tree."""

    STARTING = "starting"
    RUNNING = "running"
    RESTARTING = "restarting"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


_ALLOWED: dict[Status, frozenset[Status]] = {
    Status.STARTING: frozenset(
        {Status.RUNNING, Status.RESTARTING, Status.STOPPING, Status.STOPPED, Status.FAILED}
    ),
    Status.RUNNING: frozenset({Status.RESTARTING, Status.STOPPING, Status.STOPPED, Status.FAILED}),
    Status.RESTARTING: frozenset({Status.STARTING, Status.STOPPING, Status.STOPPED, Status.FAILED}),
    Status.STOPPING: frozenset({Status.RESTARTING, Status.STOPPED, Status.FAILED}),
    Status.STOPPED: frozenset({Status.STARTING}),
    Status.FAILED: frozenset({Status.STARTING, Status.STOPPED}),
}


def check_transition(path: str, old: Status, new: Status) -> None:
    """Raise `IllegalTransition` unless the state table allows `old -> new`."""
    if new not in _ALLOWED[old]:
        raise IllegalTransition(f"expected a legal transition for {path}, got {old} -> {new}")


class ExitReason(StrEnum):
    """Why an incarnation ended."""

    NORMAL = "normal"  # stopped on request (its own or anyone's)
    CRASH = "crash"  # unhandled exception while handling a tell, or an injected crash
    START_FAILED = "start_failed"  # on_start raised
    VANISHED = "vanished"  # the thread died without reporting (found by the watchdog)
    ESCALATED = "escalated"  # a supervisor exceeded its restart intensity

    @property
    def abnormal(self) -> bool:
        """Return True for every reason but a normal stop."""
        return self is not ExitReason.NORMAL


@dataclass(frozen=True, slots=True)
class FailureInfo:
    """What went wrong, for the ops tree (`last_failure`)."""

    type: str
    message: str
    traceback: tuple[str, ...]
    at: datetime

    @classmethod
    def from_exception(cls, exc: BaseException | None, at: datetime, *, default: str = "") -> FailureInfo:
        """Summarise an exception: type, message, the last five frames as ``file:line in func``."""
        if exc is None:
            return cls(type="None", message=default, traceback=(), at=at)
        frames = traceback.extract_tb(exc.__traceback__)[-5:]
        summary = tuple(f"{f.filename}:{f.lineno} in {f.name}" for f in frames)
        return cls(type=type(exc).__name__, message=str(exc) or default, traceback=summary, at=at)

    def as_json(self) -> dict[str, Any]:
        """Return the JSON form used by the ops tree."""
        return {
            "type": self.type,
            "message": self.message,
            "traceback": list(self.traceback),
            "at": self.at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Exit:
    """How one incarnation ended."""

    reason: ExitReason
    failure: FailureInfo | None = None
