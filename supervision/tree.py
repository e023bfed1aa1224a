"""`SupervisionTree`: the root handle — start, address, inspect, change, fault and stop a tree."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import pykka
import structlog

from supervision.actor import StartContext, starting
from supervision.clock import Clock, RealClock, TimerHandle
from supervision.errors import SupervisionError
from supervision.faults import FaultInjector
from supervision.future import ReplyFuture
from supervision.messages import AddChild, RemoveChild
from supervision.metrics import EventType, Metrics, SupervisionEvent, SupervisionEvents, SupervisionMetrics
from supervision.node import Node
from supervision.ref import ChildRef
from supervision.runtime import Runtime
from supervision.spec import Spec, SupervisorSpec
from supervision.status import Exit, FailureInfo, Status
from supervision.supervisor import Supervisor
from supervision.watchdog import Watchdog

__all__ = ["SupervisionTree"]

log = structlog.get_logger(__name__)


class SupervisionTree:
    """A running supervision tree. Create it with `SupervisionTree.start`."""

    def __init__(
        self,
        spec: SupervisorSpec,
        *,
        clock: Clock,
        on_root_failure: Callable[[FailureInfo], None] | None,
        listeners: Iterable[SupervisionEvents],
        watchdog_interval: float | None,
        hold_limit: int,
        metrics: SupervisionMetrics | None,
    ) -> None:
        self._spec = spec
        self._on_root_failure = on_root_failure
        self._runtime = Runtime(clock, Metrics(listeners, metrics), hold_limit, self._root_exited)
        self._watchdog = Watchdog(self._runtime, watchdog_interval)
        self._stop_lock = threading.Lock()
        self._stopped = False
        self.failure: FailureInfo | None = None

    @classmethod
    def start(
        cls,
        spec: SupervisorSpec,
        *,
        clock: Clock | None = None,
        on_root_failure: Callable[[FailureInfo], None] | None = None,
        listeners: Iterable[SupervisionEvents] = (),
        watchdog_interval: float | None = 1.0,
        hold_limit: int = 10_000,
        metrics: SupervisionMetrics | None = None,
    ) -> SupervisionTree:
        """Start the root supervisor (children start asynchronously, in order) and the watchdog.

        Args:
            spec: the root supervisor; its name is the first path segment.
            clock: time source for intensity windows and backoff (default `RealClock`).
            on_root_failure: called once, in an actor thread, when the root fails (escalation or crash);
                it must not block — e.g. hand it to trio with `TrioToken.run_sync_soon` and exit non-zero.
            listeners: `SupervisionEvents` callables receiving every lifecycle event.
            watchdog_interval: seconds between watchdog sweeps (None disables the thread).
            hold_limit: per-child bound on messages held while it restarts.
            metrics: prometheus Counters on the owner's registry (None: no prometheus metrics; the plain
                `counters()` and the listeners see every event either way).
        """
        tree = cls(
            spec,
            clock=clock or RealClock(),
            on_root_failure=on_root_failure,
            listeners=listeners,
            watchdog_interval=watchdog_interval,
            hold_limit=hold_limit,
            metrics=metrics,
        )
        runtime = tree._runtime
        node = runtime.ensure(spec.name, spec, None)
        incarnation = node.begin_incarnation()
        with starting(StartContext(runtime, node, incarnation)):
            ref = Supervisor.start()
        node.install(incarnation, ref)
        runtime.metrics.record(SupervisionEvent(EventType.START, node.path, node.kind, "", incarnation))
        tree._watchdog.start()
        return tree

    # -- addressing and inspection ----------------------------------------------------------------------

    @property
    def root_path(self) -> str:
        """Return the root's path (its name)."""
        return self._spec.name

    @property
    def faults(self) -> FaultInjector:
        """Return the fault injector of this tree (inert until something is armed)."""
        return self._runtime.faults

    def ref(self, path: str) -> ChildRef:
        """Return the stable address of the child at `path` (raises `UnknownPath` if none is registered)."""
        self._runtime.node(path)
        return ChildRef(self._runtime, path)

    def __call__(self) -> dict[str, Any]:
        """Return `snapshot()`."""
        return self.snapshot()

    def snapshot(self) -> dict[str, Any]:
        """Return the JSON-serialisable live tree (the ops key names of DESIGN §4)."""
        return self._node_json(self._runtime.node(self.root_path), self._runtime.clock.monotonic())

    def _node_json(self, node: Node, now: float) -> dict[str, Any]:
        mailbox = node.mailbox_depth()
        with node.lock:
            data: dict[str, Any] = {
                "path": node.path,
                "kind": node.kind,
                "status": node.status.value,
                "restarts": node.restarts,
                "recent_restarts": list(node.recent_restarts),
                "last_failure": node.last_failure.as_json() if node.last_failure else None,
                "uptime_s": round(now - node.running_since, 3) if node.running_since is not None else 0.0,
                "mailbox": mailbox,
                "handled": node.handled,
            }
            specs = list(node.child_specs)
        children = (self._runtime.find(node.child_path(s.name)) for s in specs)
        data["children"] = [self._node_json(child, now) for child in children if child is not None]
        return data

    def counters(self) -> dict[str, dict[str, int]]:
        """Return plain event counters by actor kind: starts, crashes, restarts, escalations, ..."""
        return self._runtime.metrics.counters()

    def settled(self) -> bool:
        """Return True when no child is starting, restarting, stopping, or has an unhandled exit."""
        return self._runtime.settled()

    def on_settled(self, callback: Callable[[], None]) -> TimerHandle:
        """Run `callback` once as soon as the tree is settled (at once, in this thread, if it already is).

        It runs in the thread whose change settled the tree (an actor thread), so it must be quick, must
        not block and should not raise (a raise is logged). `cancel()` the returned handle to stop waiting.
        From trio use `await TrioBridge.wait_settled(tree, timeout=...)`.
        """
        return self._runtime.on_settled(callback)

    def watchdog_sweep(self) -> int:
        """Run one watchdog sweep now; return how many silent deaths it reported."""
        return self._watchdog.sweep()

    # -- run-time changes -------------------------------------------------------------------------------

    def add_child_future(self, parent_path: str, spec: Spec) -> ReplyFuture[ChildRef]:
        """Ask the supervisor at `parent_path` to add and start `spec`; non-blocking (trio: bridge.wait)."""
        return ChildRef(self._runtime, parent_path).ask_future(AddChild(spec))

    def add_child(self, parent_path: str, spec: Spec, timeout: float = 5.0) -> ChildRef:
        """Add and start a child at run time; blocking, not for the trio thread.

        Raises:
            DuplicateChild: a sibling already has that name.
            ActorUnavailable: the parent is not running.
        """
        ref: ChildRef = ChildRef(self._runtime, parent_path).ask(AddChild(spec), timeout)
        return ref

    def remove_child_future(self, path: str) -> ReplyFuture[None]:
        """Ask the parent of `path` to stop and forget it; non-blocking."""
        parent, _, name = path.rpartition("/")
        if not parent:
            raise SupervisionError(f"expected a child path below the root, got {path!r}")
        return ChildRef(self._runtime, parent).ask_future(RemoveChild(name))

    def remove_child(self, path: str, timeout: float = 30.0) -> None:
        """Stop the child at `path` (its subtree in reverse order) and forget its spec; blocking."""
        parent, _, name = path.rpartition("/")
        if not parent:
            raise SupervisionError(f"expected a child path below the root, got {path!r}")
        ChildRef(self._runtime, parent).ask(RemoveChild(name), timeout)

    # -- root exit and shutdown -------------------------------------------------------------------------

    def _root_exited(self, node: Node, incarnation: int, exit_: Exit) -> None:
        if not exit_.reason.abnormal:
            self._runtime.reject(node, node.close(Status.STOPPED))
            return
        failure = exit_.failure or FailureInfo.from_exception(
            None, self._runtime.clock.now(), default=exit_.reason.value
        )
        node.record_failure(failure)
        self._runtime.reject(node, node.close(Status.FAILED))
        self.failure = failure
        self._runtime.metrics.record(
            SupervisionEvent(EventType.ROOT_FAILURE, node.path, node.kind, exit_.reason.value, incarnation)
        )
        if self._on_root_failure is not None:
            try:
                self._on_root_failure(failure)
            except Exception:  # boundary: the owner's callback must not break the dying root thread
                log.exception("root failure callback failed")

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the whole tree, children in reverse start order, and join every actor thread; blocking.

        From the trio thread use `await TrioBridge.stop_tree(tree)` instead.
        """
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        deadline = time.monotonic() + timeout
        self._watchdog.stop()
        node = self._runtime.node(self.root_path)
        with node.lock:
            status, ref, thread = node.status, node.ref, node.thread
        if status in (Status.STARTING, Status.RUNNING):
            self._runtime.reject(node, node.close(Status.STOPPING))
            if ref is not None:
                try:
                    ref.stop(block=True, timeout=timeout)
                except pykka.ActorDeadError:
                    pass
                except pykka.Timeout as exc:
                    raise SupervisionError(
                        f"expected the tree to stop within {timeout}s, got a timeout"
                    ) from exc
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()))
        for other in self._runtime.nodes():
            with other.lock:
                leftover = other.thread
            if leftover is not None and leftover.is_alive():
                leftover.join(max(0.0, deadline - time.monotonic()))
