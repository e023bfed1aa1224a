"""State shared by every actor of one tree: the path registry, clock, faults, metrics, exit reporting, and
the "settled" notification (every node change re-checks it while someone waits for it).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable

import pykka
import structlog
from pykka.messages import _ActorStop  # pykka's stop request; its reply future must still be resolved

from supervision.clock import Clock
from supervision.errors import ActorUnavailable, UnknownPath
from supervision.faults import FaultInjector
from supervision.messages import ChildExited, CrashNow, VanishNow
from supervision.metrics import EventType, Metrics, SupervisionEvent
from supervision.node import Envelope, Node
from supervision.spec import Spec
from supervision.status import Exit, Status

__all__ = ["RootExitHandler", "Runtime", "SettledWaiter"]

log = structlog.get_logger(__name__)

RootExitHandler = Callable[[Node, int, Exit], None]

_BUSY = (Status.STARTING, Status.RESTARTING, Status.STOPPING)


class SettledWaiter:
    """A callback waiting for the tree to settle; `cancel` forgets it (a no-op once it ran)."""

    __slots__ = ("_callback", "_runtime")

    def __init__(self, runtime: Runtime, callback: Callable[[], None]) -> None:
        self._runtime = runtime
        self._callback = callback

    def cancel(self) -> None:
        """Stop waiting; the callback will not run unless it already did."""
        self._runtime.forget_waiter(self)

    def fire(self) -> None:
        """Run the callback; a failure is logged, never raised into the thread that settled the tree."""
        try:
            self._callback()
        except Exception:  # boundary: a waiter's bug must not break the actor thread that changed a node
            log.exception("settled callback failed")


class Runtime:
    """Everything a tree's actors share; one per `SupervisionTree`."""

    def __init__(
        self, clock: Clock, metrics: Metrics, hold_limit: int, on_root_exit: RootExitHandler
    ) -> None:
        self.clock = clock
        self.metrics = metrics
        self.hold_limit = hold_limit
        self.faults = FaultInjector(self)
        self.rng = random.Random()
        self._on_root_exit = on_root_exit
        self._nodes: dict[str, Node] = {}
        self._lock = threading.Lock()
        # Held while a settled check runs with waiters, so a waiter only fires on a check made after it
        # registered. Order: _settle_lock → _lock → node.lock (nodes report changes after their lock).
        self._settle_lock = threading.Lock()
        self._waiters: list[SettledWaiter] = []

    # -- registry ----------------------------------------------------------------------------------------

    def node(self, path: str) -> Node:
        """Return the node at `path` or raise `UnknownPath`."""
        node = self._nodes.get(path)
        if node is None:
            raise UnknownPath(f"expected a registered child at {path!r}, got none")
        return node

    def find(self, path: str) -> Node | None:
        """Return the node at `path`, or None."""
        return self._nodes.get(path)

    def ensure(self, path: str, spec: Spec, parent: str | None) -> Node:
        """Return the node at `path`, creating it (or refreshing its spec) as needed."""
        with self._lock:
            node = self._nodes.get(path)
            if node is None:
                node = Node(path, spec, parent, self.hold_limit, self.changed)
                self._nodes[path] = node
            else:
                node.spec = spec
            return node

    def forget(self, path: str) -> None:
        """Drop the node at `path` and every node below it."""
        prefix = path + "/"
        with self._lock:
            for key in [k for k in self._nodes if k == path or k.startswith(prefix)]:
                del self._nodes[key]
        self.changed()

    def nodes(self) -> list[Node]:
        """Return a snapshot list of every registered node."""
        with self._lock:
            return list(self._nodes.values())

    # -- settling ----------------------------------------------------------------------------------------

    def settled(self) -> bool:
        """Return True when no child is starting, restarting, stopping, or has an unhandled exit."""
        return not any(n.status in _BUSY or n.exit_pending() for n in self.nodes())

    def on_settled(self, callback: Callable[[], None]) -> SettledWaiter:
        """Run `callback` once, as soon as the tree is settled: now in this thread when it already is, else
        in the thread whose change settles it (so it must be quick, must not block, and should not raise).
        """
        waiter = SettledWaiter(self, callback)
        with self._settle_lock:
            ready = self.settled()
            if not ready:
                self._waiters.append(waiter)
        if ready:
            waiter.fire()
        return waiter

    def forget_waiter(self, waiter: SettledWaiter) -> None:
        """Drop a waiter that has not fired."""
        with self._settle_lock:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def changed(self) -> None:
        """Re-check "settled" after a node changed and fire every waiter when it is (any thread, no lock)."""
        if not self._waiters:  # the fast path of every state change: nobody waits
            return
        with self._settle_lock:
            if not self._waiters or not self.settled():
                return
            ready, self._waiters = self._waiters, []
        for waiter in ready:
            waiter.fire()

    # -- exits -------------------------------------------------------------------------------------------

    def report_exit(self, node: Node, incarnation: int, exit_: Exit) -> None:
        """Tell the parent supervisor (or the tree, for the root) that an incarnation ended."""
        if node.parent is None:
            self._on_root_exit(node, incarnation, exit_)
            return
        parent = self._nodes.get(node.parent)
        ref = parent.ref if parent is not None else None
        if ref is None:
            return
        try:
            ref.tell(ChildExited(node.path, incarnation, exit_))
        except pykka.ActorDeadError:
            # The parent is itself going down; its own exit path stops and accounts for this subtree.
            log.debug("exit report dropped", path=node.path, parent=node.parent)

    def reject(self, node: Node, envelopes: Iterable[Envelope[object]]) -> None:
        """Fail asks with `ActorUnavailable` and count tells as dead letters; nothing is lost silently."""
        for envelope in envelopes:
            message = envelope.message
            if isinstance(message, _ActorStop):
                if envelope.reply_to is not None:
                    envelope.reply_to.set(None)
                continue
            if isinstance(message, (CrashNow, VanishNow)):
                continue
            error = ActorUnavailable(
                f"expected {node.path} to handle {type(message).__name__}, got {node.status}"
            )
            if envelope.reply_to is not None:
                envelope.reply_to.set_exception((ActorUnavailable, error, None))
            else:
                self.metrics.record(
                    SupervisionEvent(EventType.DEAD_LETTER, node.path, node.kind, type(message).__name__)
                )
