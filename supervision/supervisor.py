"""The `Supervisor` actor: strategies, sliding-window intensity, backoff, escalation (DESIGN §4).

One mechanism, three strategies: on a child's abnormal (or, for permanent children, any) exit, the
supervisor picks a *restart group* (one_for_one: the child; one_for_all: every child; rest_for_one: the
child and those started after it), stops the other group members in reverse start order while holding
their messages, and starts the group again in start order, after the child's backoff delay.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from typing import Any

import pykka

from supervision.actor import StartContext, SupervisedActor, starting
from supervision.clock import TimerHandle
from supervision.errors import DuplicateChild, IntensityExceeded, NotSupervised, UnknownPath
from supervision.messages import AddChild, ChildExited, RemoveChild, RestartDue
from supervision.metrics import EventType, SupervisionEvent
from supervision.node import Node
from supervision.ref import ChildRef
from supervision.spec import Restart, Spec, Strategy, SupervisorSpec
from supervision.status import Exit, ExitReason, FailureInfo, Status

__all__ = ["Supervisor"]


class Supervisor(SupervisedActor):
    """A supervised actor whose job is to start, watch and restart its children.

    Built from the `SupervisorSpec` of its node; never construct it directly (use `SupervisorSpec` in a
    parent, or `SupervisionTree.start` for the root).
    """

    def __init__(self) -> None:
        super().__init__()
        spec = self._node.spec
        if not isinstance(spec, SupervisorSpec):
            raise NotSupervised(f"expected a SupervisorSpec at {self.path}, got {type(spec).__name__}")
        self._spec = spec
        self._restarts: deque[float] = deque()
        self._child_restarts: dict[str, deque[float]] = {}
        self._timers: dict[int, TimerHandle] = {}
        self._tokens = itertools.count(1)

    # -- lifecycle ---------------------------------------------------------------------------------------

    def on_start(self) -> None:
        """Start every child in spec order (state is rebuilt from the node's current child specs)."""
        for spec in self._specs():
            self._start_child(spec)

    def handle(self, message: Any) -> Any:
        """Serve control messages: child exits, due restarts, run-time add and remove."""
        if isinstance(message, ChildExited):
            self._on_child_exit(message)
            return None
        if isinstance(message, RestartDue):
            self._timers.pop(message.token, None)
            self._start_group(message.names)
            return None
        if isinstance(message, AddChild):
            return self._add(message.spec)
        if isinstance(message, RemoveChild):
            self._remove(message.name)
            return None
        raise TypeError(f"expected a supervisor control message at {self.path}, got {type(message).__name__}")

    def _before_exit(self) -> None:
        """Cancel pending restarts and stop every child in reverse start order (normal stop or failure)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for spec in reversed(self._specs()):
            node = self._runtime.find(self._node.child_path(spec.name))
            if node is not None:
                self._stop_child(node, then=Status.STOPPED)

    # -- helpers -----------------------------------------------------------------------------------------

    def _specs(self) -> list[Spec]:
        with self._node.lock:
            return list(self._node.child_specs)

    def _spec_named(self, name: str) -> Spec | None:
        return next((s for s in self._specs() if s.name == name), None)

    def _event(self, type_: EventType, node: Node, reason: str = "") -> None:
        self._runtime.metrics.record(SupervisionEvent(type_, node.path, node.kind, reason, node.incarnation))

    def _tell_self(self, message: object) -> None:
        try:
            self.actor_ref.tell(message)
        except pykka.ActorDeadError:
            self.log.debug("supervisor gone before its timer fired")

    def _start_child(self, spec: Spec, *, restart: bool = False) -> None:
        node = self._runtime.ensure(self._node.child_path(spec.name), spec, self.path)
        incarnation = node.begin_incarnation()
        context = StartContext(self._runtime, node, incarnation)
        try:
            with starting(context):
                ref = Supervisor.start() if isinstance(spec, SupervisorSpec) else spec.start()
            _check_started(context, ref.actor_urn)
        except Exception as exc:  # boundary: a broken factory is a failed start of that child
            node.mark_exited(incarnation)
            failure = FailureInfo.from_exception(exc, self.clock.now())
            self._tell_self(ChildExited(node.path, incarnation, Exit(ExitReason.START_FAILED, failure)))
            return
        node.install(incarnation, ref)
        if restart:
            node.record_restart(self.clock.now().isoformat())
        self._event(EventType.RESTART if restart else EventType.START, node)

    def _stop_child(self, node: Node, *, then: Status) -> None:
        """Stop one child within its shutdown timeout, then leave it RESTARTING (held) or STOPPED (closed)."""
        with node.lock:
            status, ref, thread = node.status, node.ref, node.thread
        if status in (Status.STARTING, Status.RUNNING):
            if then is Status.RESTARTING:
                node.hold()
                node.set_status(Status.STOPPING)
            else:
                self._runtime.reject(node, node.close(Status.STOPPING))
            timeout = node.spec.shutdown_timeout
            if ref is not None:
                try:
                    ref.stop(block=True, timeout=timeout)
                except pykka.Timeout:
                    self.log.warning("child shutdown timed out", child=node.path, timeout=timeout)
                except pykka.ActorDeadError:
                    pass  # it already ended; its report is stale now
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout)
            self._event(EventType.STOP, node, then.value)
        if then is Status.RESTARTING:
            if node.status is Status.STOPPING:
                node.set_status(Status.RESTARTING)  # stopped or failed siblings stay as they are
        else:
            self._runtime.reject(node, node.close(Status.STOPPED))

    def _group(self, name: str) -> list[str]:
        names = [s.name for s in self._specs()]
        if self._spec.strategy is Strategy.ONE_FOR_ALL:
            return names
        if self._spec.strategy is Strategy.REST_FOR_ONE:
            return names[names.index(name) :]
        return [name]

    def _forget(self, name: str) -> None:
        with self._node.lock:
            self._node.child_specs = [s for s in self._node.child_specs if s.name != name]
        self._runtime.forget(self._node.child_path(name))
        self._child_restarts.pop(name, None)

    # -- decisions ---------------------------------------------------------------------------------------

    def _on_child_exit(self, message: ChildExited) -> None:
        node = self._runtime.find(message.path)
        if node is None or node.parent != self.path:
            return
        with node.lock:
            current = node.incarnation == message.incarnation and node.status in (
                Status.STARTING,
                Status.RUNNING,
            )
        if not current:
            return  # stale report, or a child this supervisor is stopping itself
        exit_ = message.exit
        name = node.spec.name
        if exit_.reason.abnormal:
            node.record_failure(
                exit_.failure
                or FailureInfo.from_exception(None, self.clock.now(), default=exit_.reason.value)
            )
            self._event(EventType.CRASH, node, exit_.reason.value)
        restart = node.spec.restart
        if restart is Restart.TEMPORARY or (restart is Restart.TRANSIENT and not exit_.reason.abnormal):
            self._runtime.reject(node, node.close(Status.FAILED if exit_.reason.abnormal else Status.STOPPED))
            self._event(EventType.STOP, node, exit_.reason.value)
            if restart is Restart.TEMPORARY:
                self._forget(name)
            return
        now = self.clock.monotonic()
        self._check_intensity(node, exit_, now)
        child_times = self._child_restarts.setdefault(name, deque())
        _prune(child_times, now - self._spec.intensity.within_seconds)
        delay = self._spec.backoff.delay(len(child_times), self._runtime.rng)
        child_times.append(now)
        group = self._group(name)
        for other in reversed(group):
            other_node = self._runtime.find(self._node.child_path(other))
            if other != name and other_node is not None:
                self._stop_child(other_node, then=Status.RESTARTING)
        node.hold()
        node.set_status(Status.RESTARTING)
        names: list[str] = []
        for member in group:
            spec = self._spec_named(member)
            if member != name and spec is not None and spec.restart is Restart.TEMPORARY:
                member_node = self._runtime.find(self._node.child_path(member))
                if member_node is not None:
                    self._runtime.reject(member_node, member_node.close(Status.STOPPED))
                self._forget(member)
            else:
                names.append(member)
        if delay <= 0:
            self._start_group(tuple(names))
            return
        token = next(self._tokens)
        self.log.info("restart delayed", child=node.path, delay_s=round(delay, 4))
        self._timers[token] = self.clock.call_later(
            delay, lambda: self._tell_self(RestartDue(token, tuple(names)))
        )

    def _check_intensity(self, node: Node, exit_: Exit, now: float) -> None:
        intensity = self._spec.intensity
        _prune(self._restarts, now - intensity.within_seconds)
        if len(self._restarts) >= intensity.max_restarts:
            error = IntensityExceeded(
                f"expected at most {intensity.max_restarts} restarts in {intensity.within_seconds}s at "
                f"{self.path}, got one more ({node.path}: {exit_.reason.value})"
            )
            self._record(ExitReason.ESCALATED, error)
            self._event(EventType.ESCALATION, self._node, f"{node.path}: {exit_.reason.value}")
            raise error
        self._restarts.append(now)

    def _start_group(self, names: tuple[str, ...]) -> None:
        for name in names:
            spec = self._spec_named(name)
            node = self._runtime.find(self._node.child_path(name))
            if spec is not None and node is not None and node.status is Status.RESTARTING:
                self._start_child(spec, restart=True)

    def _add(self, spec: Spec) -> ChildRef:
        with self._node.lock:
            if any(s.name == spec.name for s in self._node.child_specs):
                raise DuplicateChild(f"expected a new child name under {self.path}, got {spec.name!r} again")
            self._node.child_specs.append(spec)
        self._start_child(spec)
        return ChildRef(self._runtime, self._node.child_path(spec.name))

    def _remove(self, name: str) -> None:
        node = self._runtime.find(self._node.child_path(name))
        if self._spec_named(name) is None or node is None:
            raise UnknownPath(f"expected a child {name!r} under {self.path}, got none")
        self._stop_child(node, then=Status.STOPPED)
        self._forget(name)


def _prune(times: deque[float], horizon: float) -> None:
    while times and times[0] <= horizon:
        times.popleft()


def _check_started(context: StartContext, urn: str) -> None:
    if context.actor is None or context.actor.actor_urn != urn:
        raise NotSupervised(f"expected the factory of {context.node.path} to start one SupervisedActor")
