"""Test kit of the supervision room: small real actors and a tree fixture that checks for leaked threads."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from supervision import (
    Backoff,
    ChildSpec,
    Intensity,
    ManualClock,
    Restart,
    Spec,
    Strategy,
    SupervisedActor,
    SupervisionTree,
    SupervisorSpec,
)
from tests.support import eventually

NO_BACKOFF = Backoff(min_s=0.0, max_s=0.0, jitter=0.0)


@dataclass(frozen=True)
class Ping:
    """Ask: reply with (path, incarnation id)."""


@dataclass(frozen=True)
class Note:
    """Tell: append `value` to the actor's journal."""

    value: int


@dataclass(frozen=True)
class Journal:
    """Ask: reply with the journal of this incarnation."""


@dataclass(frozen=True)
class Block:
    """Tell: wait (real time, bounded) until `release` is set — keeps the actor busy while mail queues."""

    release: threading.Event


@dataclass(frozen=True)
class Halt:
    """Tell: stop this actor normally (a normal exit, not a crash)."""


@dataclass(frozen=True)
class Boom:
    """Tell or ask: raise ValueError in the handler."""


class Worker(SupervisedActor):
    """Records its lifecycle in a shared log; state is rebuilt (empty) in on_start."""

    def __init__(self, events: list[tuple[str, str]]) -> None:
        super().__init__()
        self.events = events
        self.journal: list[int] = []

    def on_start(self) -> None:
        self.journal = []
        self.events.append(("start", self.path))

    def on_stop(self) -> None:
        self.events.append(("stop", self.path))

    def handle(self, message: Any) -> Any:
        if isinstance(message, Ping):
            return (self.path, self.actor_urn)
        if isinstance(message, Note):
            self.journal.append(message.value)
            return None
        if isinstance(message, Journal):
            return list(self.journal)
        if isinstance(message, Block):
            message.release.wait(10.0)
            return None
        if isinstance(message, Halt):
            self.stop()
            return None
        if isinstance(message, Boom):
            raise ValueError("boom")
        return super().handle(message)


def worker(name: str, events: list[tuple[str, str]], **kw: Any) -> ChildSpec:
    """Return a ChildSpec starting a Worker."""
    return ChildSpec(name, lambda: Worker.start(events), kind=kw.pop("kind", "worker"), **kw)


def sup(
    name: str,
    *children: Spec,
    strategy: Strategy = Strategy.ONE_FOR_ONE,
    intensity: Intensity | None = None,
    restart: Restart = Restart.PERMANENT,
) -> SupervisorSpec:
    """Return a SupervisorSpec with no backoff (tests drive restarts directly)."""
    return SupervisorSpec(
        name,
        children,
        strategy=strategy,
        intensity=intensity or Intensity(100, 60.0),
        backoff=NO_BACKOFF,
        restart=restart,
    )


def actor_threads() -> set[threading.Thread]:
    """Return live threads that a tree may own (pykka actors, timers, watchdog); trio's worker cache aside."""
    return {
        t
        for t in threading.enumerate()
        if t is not threading.main_thread() and t.is_alive() and not t.name.startswith("Trio")  # trio's cache
    }


@contextmanager
def running_tree(spec: SupervisorSpec, **kw: Any) -> Iterator[SupervisionTree]:
    """Start a tree, wait until it settles, stop it afterwards and assert that no thread leaked."""
    before = actor_threads()
    kw.setdefault("clock", ManualClock())
    kw.setdefault("watchdog_interval", None)
    tree = SupervisionTree.start(spec, **kw)
    try:
        eventually(tree.settled, message="tree settled")
        yield tree
    finally:
        tree.stop(timeout=10.0)
        eventually(lambda: actor_threads() <= before, message="no leaked threads")


def status_of(tree: SupervisionTree, path: str) -> str:
    """Return the status of `path` as the ops tree shows it."""

    def find(node: dict[str, Any]) -> dict[str, Any] | None:
        if node["path"] == path:
            return node
        for child in node["children"]:
            hit = find(child)
            if hit is not None:
                return hit
        return None

    node = find(tree.snapshot())
    return "absent" if node is None else str(node["status"])


def restarted(tree: SupervisionTree, path: str, incarnation: int) -> Callable[[], bool]:
    """Return a predicate: `path` runs a newer incarnation than `incarnation` and the tree settled."""
    ref = tree.ref(path)
    return lambda: ref.incarnation > incarnation and tree.settled() and status_of(tree, path) == "running"
