"""`SupervisedActor`: the base class of every domain actor (DESIGN §4).

Rules for subclasses:

- Implement `handle(message)`; it serves both tell and ask (the return value is the ask reply).
- Rebuild all state in `on_start()` (from storage, the exchange, or the supervisor's spec): a restart runs
  the factory again and gets a fresh instance; nothing of the dead incarnation survives but its address.
- Start only through a `ChildSpec.start` factory (the supervisor provides the context read here).
- Never block on an ancestor (no blocking ask to a supervisor): stopping you would then wait for you.

The class reports its own end to its supervisor exactly once per incarnation: after a crash while handling
a tell (pykka calls `on_failure`), after a normal stop (`on_stop`), and after a failing `on_start` (which
pykka does *not* follow with `on_failure`). The report is sent from pykka's loop teardown, the last code
the thread runs, after the mailbox has been drained into the child's restart buffer.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pykka
import structlog

from supervision.clock import Clock
from supervision.errors import InjectedFault, NotSupervised
from supervision.messages import CrashNow, VanishNow
from supervision.ref import ChildRef
from supervision.status import Exit, ExitReason, FailureInfo

if TYPE_CHECKING:
    from types import TracebackType

    from supervision.node import Node
    from supervision.runtime import Runtime

__all__ = ["StartContext", "SupervisedActor", "starting"]


@dataclass
class StartContext:
    """What a supervisor passes to the actor its factory constructs (thread-local during the factory)."""

    runtime: Runtime
    node: Node
    incarnation: int
    actor: SupervisedActor | None = None


_local = threading.local()


class starting:  # noqa: N801 (a context manager used like a keyword)
    """Install a `StartContext` for the factory call in this thread."""

    def __init__(self, context: StartContext) -> None:
        self._context = context

    def __enter__(self) -> StartContext:
        _local.context = self._context
        return self._context

    def __exit__(self, *exc: object) -> None:
        _local.context = None


class SupervisedActor(pykka.ThreadingActor):
    """A pykka ThreadingActor that lives under a supervisor.

    Attributes:
        clock: the tree's clock (real or manual); read time only through it.
        path: this child's path, e.g. ``"root/symbols/BTCUSDT/feed"``.
        self_ref: the stable `ChildRef` of this child (give it as `reply_to` to the trio side).
        log: a structlog logger bound with the path.
    """

    def __init__(self) -> None:
        super().__init__()
        context: StartContext | None = getattr(_local, "context", None)
        if context is None or context.actor is not None:
            raise NotSupervised(
                f"expected {type(self).__name__} to be started by a ChildSpec factory, got a bare start"
            )
        context.actor = self
        self._runtime = context.runtime
        self._node = context.node
        self._incarnation = context.incarnation
        self._exit: Exit | None = None
        self._silent = False
        self.clock: Clock = context.runtime.clock
        self.path: str = context.node.path
        self.self_ref = ChildRef(context.runtime, context.node.path)
        self.log = structlog.get_logger(type(self).__module__).bind(path=self.path)

    # -- the subclass API --------------------------------------------------------------------------------

    def handle(self, message: Any) -> Any:
        """Handle one message (tell or ask) and return the ask reply; override it."""
        raise NotImplementedError(f"{type(self).__name__} does not handle {type(message).__name__}")

    # -- pykka hooks -------------------------------------------------------------------------------------

    def on_receive(self, message: Any) -> Any:
        """Count the message, apply armed faults, then delegate to `handle`."""
        self._node.handled += 1
        if type(message) is CrashNow:
            raise InjectedFault(f"injected crash at {self.path}")
        if type(message) is VanishNow:
            self._silent = True
            raise InjectedFault(f"injected silent death at {self.path}")
        if self._runtime.faults.armed:
            try:
                self._runtime.faults.before_message(self.path, message)
            except InjectedFault:
                # End the incarnation even when this is an ask (pykka would keep the actor running).
                self._record(ExitReason.CRASH, sys.exc_info()[1])
                pykka.ActorRegistry.unregister(self.actor_ref)
                self.actor_stopped.set()
                raise
        return self.handle(message)

    def _record(self, reason: ExitReason, exc: BaseException | None) -> None:
        if self._exit is None:
            failure = FailureInfo.from_exception(exc, self.clock.now()) if reason.abnormal else None
            self._exit = Exit(reason, failure)

    def _handle_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._record(ExitReason.CRASH, exception_value)
        super()._handle_failure(exception_type, exception_value, traceback)

    def _stop(self) -> None:
        self._record(ExitReason.NORMAL, None)
        super()._stop()

    def _actor_loop_setup(self) -> None:
        self._node.attach_thread(self._incarnation, threading.current_thread())
        try:
            if self._runtime.faults.armed:
                self._runtime.faults.before_start(self.path)
            self.on_start()
        except Exception as exc:  # boundary: a failing on_start is a child failure, reported below
            self._record(ExitReason.START_FAILED, exc)
            self.log.warning("child start failed", error=repr(exc))
            pykka.ActorRegistry.unregister(self.actor_ref)
            self.actor_stopped.set()
            return
        self._node.mark_running(self._incarnation, self.clock.monotonic())

    def _actor_loop_teardown(self) -> None:
        if self._silent:
            return  # simulate a thread that died without reporting: leave everything to the watchdog
        try:
            self._before_exit()
        except Exception:  # boundary: cleanup must not prevent the exit report
            self.log.exception("exit cleanup failed")
        exit_ = self._exit or Exit(ExitReason.NORMAL)
        first, rejected = self._node.exited(self._incarnation, self.actor_inbox)
        self._runtime.reject(self._node, rejected)
        if first:
            self._runtime.report_exit(self._node, self._incarnation, exit_)

    def _before_exit(self) -> None:
        """Run last cleanup in the actor thread before the exit is reported (supervisors stop children)."""
