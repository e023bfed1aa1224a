"""The simulator's accelerated clock: exchange time runs ``speed`` times faster than trio time.

Exchange-domain timestamps (kline ``start``, message ``ts``, ``execTime``, funding times) are read from this
clock. Wall-clock time stays the reference for ``/v5/market/time``, the envelope ``time`` and the
recv-window check of signed requests, so a client's clock-skew logic works at any speed.

``now_ms`` may be read from any thread (the engine's actors read market time through an adapter,
``algogrid.market_clock``): ``start`` captures trio's clock object, whose ``current_time`` is thread-safe,
and a lock keeps the (base, anchor, paused) triple consistent against ``pause``/``resume``/``advance``, which
run in the trio thread.
"""

from __future__ import annotations

import threading
import time

import trio

__all__ = ["SimClock", "wall_ms"]


def wall_ms() -> int:
    """Return the wall-clock time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


class SimClock:
    """Map trio's clock to exchange milliseconds, accelerated by ``speed``; can pause for tests.

    Args:
        start_ms: exchange time at the moment :meth:`start` is called.
        speed: how many exchange seconds pass per real second (60 → a 5-minute bar every 5 s).
    """

    def __init__(self, start_ms: int, speed: float) -> None:
        if speed <= 0:
            raise ValueError(f"expected a positive speed, got {speed}")
        self._base_ms = float(start_ms)
        self._speed = speed
        self._anchor: float | None = None
        self._paused_at: float | None = None
        self._trio_clock: trio.abc.Clock | None = None
        self._lock = threading.Lock()

    @property
    def speed(self) -> float:
        """Return the acceleration factor."""
        return self._speed

    @property
    def paused(self) -> bool:
        """Return whether exchange time is frozen."""
        return self._paused_at is not None

    def start(self) -> None:
        """Anchor exchange time to trio's current time (call from inside ``trio.run``)."""
        clock = trio.lowlevel.current_clock()
        with self._lock:
            self._trio_clock = clock
            self._anchor = clock.current_time()

    def now_ms(self) -> int:
        """Return the current exchange time in epoch milliseconds (any thread)."""
        with self._lock:
            return int(self._now_locked())

    def _now_locked(self) -> float:
        if self._paused_at is not None:
            return self._paused_at
        if self._anchor is None or self._trio_clock is None:
            return self._base_ms
        return self._base_ms + (self._trio_clock.current_time() - self._anchor) * self._speed * 1000.0

    def pause(self) -> None:
        """Freeze exchange time: the market stops moving until :meth:`resume`."""
        with self._lock:
            if self._paused_at is None:
                self._paused_at = float(int(self._now_locked()))

    def resume(self) -> None:
        """Let exchange time run again from where it was frozen."""
        with self._lock:
            if self._paused_at is not None:
                self._base_ms = self._paused_at
                if self._anchor is not None and self._trio_clock is not None:
                    self._anchor = self._trio_clock.current_time()
                self._paused_at = None

    def advance(self, ms: int) -> None:
        """Jump exchange time forward by ``ms`` (works paused or running)."""
        with self._lock:
            if self._paused_at is not None:
                self._paused_at += ms
            else:
                self._base_ms += ms
