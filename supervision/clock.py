"""Injectable clocks: real time for production, manual time for tests (D-04: tests never sleep).

A clock never sleeps. It reads time (`monotonic`, `now`) and schedules callbacks (`call_later`), which the
supervisor uses for restart backoff. `ManualClock.advance` fires due callbacks in the caller's thread, so a
test releases a backoff delay deterministically.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "RealClock", "TimerHandle"]


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


class _ThreadTimer:
    """Adapter giving threading.Timer the TimerHandle shape."""

    def __init__(self, delay: float, callback: Callable[[], None]) -> None:
        self._timer = threading.Timer(delay, callback)
        self._timer.daemon = True
        self._timer.name = "supervision-timer"
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()


class RealClock:
    """The process clock: `time.monotonic`, UTC `datetime.now`, timer threads for delays."""

    def monotonic(self) -> float:
        """Return `time.monotonic()`."""
        return time.monotonic()

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        """Schedule `callback` on a daemon timer thread (cancel it to end the thread early)."""
        return _ThreadTimer(max(0.0, delay), callback)


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
