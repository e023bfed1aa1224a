"""Fault injection by path, for tests and dev mode (DESIGN §4). Inert unless something is armed."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from supervision.errors import InjectedFault
from supervision.messages import CrashNow, VanishNow
from supervision.node import Envelope

if TYPE_CHECKING:
    from supervision.runtime import Runtime

__all__ = ["FaultInjector"]


@dataclass
class _Plan:
    crash_next: bool = False
    crash_type: type[object] | None = None
    start_failures: int = 0
    delay_s: float = 0.0
    release: threading.Event = field(default_factory=threading.Event)

    def empty(self) -> bool:
        return not self.crash_next and self.start_failures == 0 and self.delay_s == 0.0


class FaultInjector:
    """Arm faults for children addressed by path.

    Crashes raise `InjectedFault` inside the actor. An injected crash always ends the incarnation, even
    while handling an ask (the asker gets the `InjectedFault`), so the supervisor sees a real crash.
    """

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._lock = threading.Lock()
        self._plans: dict[str, _Plan] = {}
        self._delaying: dict[str, threading.Event] = {}
        self.armed = False  # read without the lock on every message: the fast path when nothing is armed

    def crash_now(self, path: str) -> None:
        """Crash the child when it reaches this request in its mailbox (at once when idle)."""
        self._runtime.node(path).deliver(Envelope(CrashNow()))

    def kill_silently(self, path: str) -> None:
        """End the child's thread without any report, as a thread that died silently (watchdog tests)."""
        self._runtime.node(path).deliver(Envelope(VanishNow()))

    def crash_on_next(self, path: str, message_type: type[object] | None = None) -> None:
        """Crash the child on its next message (of `message_type`, when given)."""
        with self._lock:
            plan = self._plans.setdefault(path, _Plan())
            plan.crash_next, plan.crash_type = True, message_type
            self.armed = True

    def fail_on_start(self, path: str, times: int) -> None:
        """Make the next `times` starts of the child raise in `on_start` (the path may not exist yet)."""
        if times < 0:
            raise ValueError(f"expected times >= 0, got {times}")
        with self._lock:
            self._plans.setdefault(path, _Plan()).start_failures = times
            self.armed = True

    def delay_next(self, path: str, seconds: float) -> None:
        """Make the child wait `seconds` (real time, in its own thread) before handling its next message."""
        if seconds <= 0:
            raise ValueError(f"expected seconds > 0, got {seconds}")
        with self._lock:
            self._plans.setdefault(path, _Plan()).delay_s = seconds
            self.armed = True

    def clear(self, path: str | None = None) -> None:
        """Disarm the faults of `path` (or all), releasing any delay in progress."""
        with self._lock:
            plans = list(self._plans.values()) if path is None else [self._plans.get(path, _Plan())]
            for plan in plans:
                plan.release.set()
            for key, release in list(self._delaying.items()):
                if path is None or key == path:
                    release.set()
            if path is None:
                self._plans.clear()
            else:
                self._plans.pop(path, None)
            self.armed = bool(self._plans)

    # -- hooks called by SupervisedActor in its own thread ----------------------------------------------

    def before_start(self, path: str) -> None:
        """Raise `InjectedFault` when a start failure is armed for `path`."""
        with self._lock:
            plan = self._plans.get(path)
            if plan is None or plan.start_failures == 0:
                return
            plan.start_failures -= 1
            self._drop_if_empty(path, plan)
        raise InjectedFault(f"injected on_start failure at {path}")

    def before_message(self, path: str, message: object) -> None:
        """Apply an armed delay, then raise `InjectedFault` when a crash is armed for this message."""
        with self._lock:
            plan = self._plans.get(path)
            if plan is None:
                return
            delay, plan.delay_s = plan.delay_s, 0.0
            release = plan.release
            if delay:
                self._delaying[path] = release
            crash = plan.crash_next and (plan.crash_type is None or isinstance(message, plan.crash_type))
            if crash:
                plan.crash_next = False
            self._drop_if_empty(path, plan)
        if delay:
            release.wait(delay)
            with self._lock:
                self._delaying.pop(path, None)
        if crash:
            raise InjectedFault(f"injected crash at {path} on {type(message).__name__}")

    def _drop_if_empty(self, path: str, plan: _Plan) -> None:
        if plan.empty():
            self._plans.pop(path, None)
            self.armed = bool(self._plans)
