"""Child and supervisor specifications (OTP vocabulary, DESIGN §4).

A spec is frozen configuration. `ChildSpec.start` is a factory that starts a fresh `SupervisedActor` and
returns its pykka ref, e.g. ``ChildSpec("feed", lambda: FeedActor.start(symbol))``. A restart calls the
factory again: state is rebuilt in `on_start`, never resurrected.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pykka

__all__ = [
    "Backoff",
    "ChildSpec",
    "Intensity",
    "Restart",
    "Spec",
    "Strategy",
    "SupervisorSpec",
]


class Restart(StrEnum):
    """When a child that exited is started again."""

    PERMANENT = "permanent"  # always
    TRANSIENT = "transient"  # only after an abnormal exit (crash, failed start, vanished thread)
    TEMPORARY = "temporary"  # never; the child is removed from its supervisor when it exits


class Strategy(StrEnum):
    """Which siblings restart together with a crashed child."""

    ONE_FOR_ONE = "one_for_one"  # only the crashed child
    ONE_FOR_ALL = "one_for_all"  # every child of the supervisor
    REST_FOR_ONE = "rest_for_one"  # the crashed child and those started after it


def _check_name(name: str) -> None:
    if not name or "/" in name:
        raise ValueError(f"expected a non-empty child name without '/', got {name!r}")


@dataclass(frozen=True, slots=True)
class Intensity:
    """Allow at most `max_restarts` restarts within a sliding window of `within_seconds`.

    One more restart inside the window makes the supervisor stop its children and fail (escalation).
    """

    max_restarts: int = 5
    within_seconds: float = 10.0

    def __post_init__(self) -> None:
        if self.max_restarts < 0:
            raise ValueError(f"expected max_restarts >= 0, got {self.max_restarts}")
        if self.within_seconds <= 0:
            raise ValueError(f"expected within_seconds > 0, got {self.within_seconds}")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay restarts of a child that keeps crashing.

    The first restart of a child inside the intensity window is immediate; the n-th (n >= 2) waits
    ``min(max_s, min_s * 2 ** (n - 2))`` seconds, scaled by a random factor in ``[1 - jitter, 1 + jitter]``.
    """

    min_s: float = 0.1
    max_s: float = 5.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.min_s < 0 or self.max_s < self.min_s:
            raise ValueError(f"expected 0 <= min_s <= max_s, got min_s={self.min_s} max_s={self.max_s}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"expected 0 <= jitter < 1, got {self.jitter}")

    def delay(self, earlier_restarts: int, rng: random.Random) -> float:
        """Return the delay before a restart, given the child's restarts already in the window."""
        if earlier_restarts <= 0 or self.max_s == 0:
            return 0.0
        base = min(self.max_s, self.min_s * 2 ** (earlier_restarts - 1))
        if self.jitter:
            base *= 1 + rng.uniform(-self.jitter, self.jitter)
        return float(max(0.0, base))


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """How to start and restart one worker actor.

    Args:
        name: unique among its siblings; becomes the last segment of the child's path.
        start: factory starting a fresh `SupervisedActor` subclass, returning its `pykka.ActorRef`.
        restart: permanent, transient or temporary (see `Restart`).
        shutdown_timeout: seconds to wait for the child to stop before it is abandoned.
        kind: a label for metrics and the ops tree (e.g. "feed").
    """

    name: str
    start: Callable[[], pykka.ActorRef[Any]]
    restart: Restart = Restart.PERMANENT
    shutdown_timeout: float = 5.0
    kind: str = "actor"

    def __post_init__(self) -> None:
        _check_name(self.name)
        object.__setattr__(self, "restart", Restart(self.restart))  # accept "transient" from config
        if self.shutdown_timeout <= 0:
            raise ValueError(f"expected shutdown_timeout > 0, got {self.shutdown_timeout}")


@dataclass(frozen=True, slots=True)
class SupervisorSpec:
    """A supervisor: itself a child of its parent, so trees nest to any depth.

    Args:
        name: unique among its siblings.
        children: child specs, started in this order and stopped in reverse order.
        strategy: one_for_one, one_for_all or rest_for_one.
        intensity: restart intensity of this supervisor (sliding window).
        backoff: restart delays for crash loops.
        restart: how the parent treats this supervisor's exit.
        shutdown_timeout: seconds the parent waits for this whole subtree to stop.
        kind: a label for metrics and the ops tree.
    """

    name: str
    children: Sequence[Spec] = field(default_factory=tuple)
    strategy: Strategy = Strategy.ONE_FOR_ONE
    intensity: Intensity = field(default_factory=Intensity)
    backoff: Backoff = field(default_factory=Backoff)
    restart: Restart = Restart.PERMANENT
    shutdown_timeout: float = 30.0
    kind: str = "supervisor"

    def __post_init__(self) -> None:
        _check_name(self.name)
        object.__setattr__(self, "children", tuple(self.children))
        object.__setattr__(self, "restart", Restart(self.restart))  # accept plain strings from config
        object.__setattr__(self, "strategy", Strategy(self.strategy))
        names = [child.name for child in self.children]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"expected unique child names under {self.name!r}, got duplicates {duplicates}")
        if self.shutdown_timeout <= 0:
            raise ValueError(f"expected shutdown_timeout > 0, got {self.shutdown_timeout}")


Spec = ChildSpec | SupervisorSpec
