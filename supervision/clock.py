"""Injectable clocks: real time for production, manual time for tests (D-04: tests never sleep).

A clock never sleeps. It reads time (`monotonic`, `now`) and schedules callbacks (`call_later`), which the
supervisor uses for restart backoff. `RealClock` runs every callback of one clock on a single timer thread
fed by a heap. `ManualClock.advance` fires due callbacks in the caller's thread, so a test releases a backoff
delay deterministically.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

import structlog

__all__ = ["Clock", "ManualClock", "RealClock", "TimerHandle"]

log = structlog.get_logger(__name__)


@runtime_checkable
class TimerHandle(Protocol):
    """A scheduled callback that can be cancelled before it fires."""

    def cancel(self) -> None:
        """Cancel the callback; a no-op when it already ran."""


@runtime_checkable
class Clock(Protocol):
    """Time source for supervisors and actors."""

    def monotonic(self) -> float:
        """Return seconds on a monotonic scale (only differences are meaningful)."""

    def now(self) -> datetime:
        """Return the current wall-clock time, timezone-aware UTC."""

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        """Run `callback` once after `delay` seconds; it must not block and must not raise."""


class _RealTimer:
    """One entry of a `_TimerThread` heap, ordered by due time, then by insertion."""

    __slots__ = ("callback", "deadline", "done", "owner", "seq")

    def __init__(self, owner: _TimerThread, deadline: float, seq: int, callback: Callable[[], None]) -> None:
        self.owner = owner
        self.deadline = deadline
        self.seq = seq
        self.callback = callback
        self.done = False  # fired or cancelled; guarded by the owner's lock

    def __lt__(self, other: _RealTimer) -> bool:
        return (self.deadline, self.seq) < (other.deadline, other.seq)

    def cancel(self) -> None:
        self.owner.cancel(self)


class _TimerThread:
    """One daemon thread that runs a clock's due callbacks from a heap.

    The thread starts with the first pending timer and ends when none is left (every timer fired or was
    cancelled), so a stopped tree, whose supervisors cancel their backoff timers, leaves no thread behind.
    Callbacks run in the thread with the lock released (they may schedule or cancel timers); one that
    raises is logged and the thread goes on.
    """

    _COMPACT_AT = 64  # rebuild the heap when cancelled entries outnumber live ones beyond this size

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[_RealTimer] = []
        self._seq = itertools.count()
        self._live = 0
        self._thread: threading.Thread | None = None

    def schedule(self, delay: float, callback: Callable[[], None]) -> _RealTimer:
        with self._cond:
            timer = _RealTimer(self, time.monotonic() + delay, next(self._seq), callback)
            heapq.heappush(self._heap, timer)
            self._live += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="supervision-timer", daemon=True)
                self._thread.start()
            elif self._heap[0] is timer:
                self._cond.notify()  # due before whatever the thread waits for
            return timer

    def cancel(self, timer: _RealTimer) -> None:
        with self._cond:
            if timer.done:
                return
            timer.done = True
            self._live -= 1
            if len(self._heap) > self._COMPACT_AT and len(self._heap) > 2 * self._live:
                self._heap = [t for t in self._heap if not t.done]
                heapq.heapify(self._heap)
            self._cond.notify()  # the thread re-reads its next deadline, or ends when nothing is left

    def _next(self) -> _RealTimer | None:
        """Wait (lock held) for the next due timer and take it; return None when no timer is pending."""
        while True:
            while self._heap and self._heap[0].done:
                heapq.heappop(self._heap)
            if not self._heap:
                self._thread = None
                return None
            head = self._heap[0]
            wait = head.deadline - time.monotonic()
            if wait <= 0:
                heapq.heappop(self._heap)
                head.done = True
                self._live -= 1
                return head
            self._cond.wait(wait)

    def _run(self) -> None:
        while True:
            with self._cond:
                timer = self._next()
            if timer is None:
                return
            try:
                timer.callback()
            except Exception:  # boundary: one failing callback must not stop the clock's other timers
                log.exception("timer callback failed")


class RealClock:
    """The process clock: `time.monotonic`, UTC `datetime.now`, and one timer thread for every delay.

    The timer thread is a daemon, started by the first `call_later` and ended when no timer is pending.
    """

    def __init__(self) -> None:
        self._timers = _TimerThread()

    def monotonic(self) -> float:
        """Return `time.monotonic()`."""
        return time.monotonic()

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        """Run `callback` after `delay` seconds on this clock's timer thread (due time, then call order)."""
        return self._timers.schedule(max(0.0, delay), callback)


class _ManualTimer:
    def __init__(self, clock: ManualClock, deadline: float, seq: int, callback: Callable[[], None]) -> None:
        self.clock = clock
        self.deadline = deadline
        self.seq = seq
        self.callback = callback
        self.cancelled = False

    def __lt__(self, other: _ManualTimer) -> bool:
        return (self.deadline, self.seq) < (other.deadline, other.seq)

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A clock that moves only when `advance` is called; thread-safe.

    Args:
        start: the wall-clock time `now()` reports before any advance (default 2024-01-01 UTC).
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._start = start or datetime(2024, 1, 1, tzinfo=UTC)
        self._timers: list[_ManualTimer] = []
        self._seq = itertools.count()

    def monotonic(self) -> float:
        """Return the seconds advanced so far."""
        with self._lock:
            return self._offset

    def now(self) -> datetime:
        """Return the start time plus the seconds advanced so far."""
        with self._lock:
            return self._start + timedelta(seconds=self._offset)

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        """Register `callback` to run when the clock has been advanced by `delay` seconds."""
        with self._lock:
            timer = _ManualTimer(self, self._offset + max(0.0, delay), next(self._seq), callback)
            heapq.heappush(self._timers, timer)
            return timer

    def pending_timers(self) -> int:
        """Return how many scheduled, not cancelled callbacks have not fired yet."""
        with self._lock:
            return sum(1 for t in self._timers if not t.cancelled)

    def advance(self, seconds: float) -> None:
        """Move time forward and run every callback that falls due, in deadline order, in this thread."""
        if seconds < 0:
            raise ValueError(f"expected a non-negative number of seconds, got {seconds}")
        with self._lock:
            self._offset += seconds
            due: list[_ManualTimer] = []
            while self._timers and self._timers[0].deadline <= self._offset:
                due.append(heapq.heappop(self._timers))
        for timer in due:
            if not timer.cancelled:
                timer.callback()
