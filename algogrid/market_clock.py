"""The engine's *market clock*: domain time, kept apart from the supervision tree's wall clock.

DESIGN §3 gives every actor an injectable ``supervision.Clock``. The tree's clock is wall time: restart
intensity windows, backoff, uptime, periodic timers (state poll, denial flush, monitor tick). Decisions about
the market — reservation TTL and anti-churn (R-02, R-03), ``queued_until``, denial timestamps, the UTC day of
the kill conditions (R-04), funding time-to-go (R-06) — read a second clock, the market clock, so they compare
like with like with the exchange's timestamps (bar times, funding times, signal ``created_at``):

* paper / live: ``RealClock`` — market time is wall time;
* simulation: ``SimMarketClock`` over the simulator's accelerated ``SimClock`` — at ``speed`` 60 a 900 s
  reservation ends after 15 simulated minutes (15 real seconds), not 15 real minutes.

See "Market time vs wall time" in docs/architecture.md.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from supervision import Clock, RealClock, TimerHandle

__all__ = ["ExchangeClock", "SimMarketClock", "market_clock_for"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ExchangeClock(Protocol):
    """An exchange-time source readable from any thread (``exchange.simulator.SimClock`` satisfies it)."""

    @property
    def speed(self) -> float:
        """Return exchange seconds per real second."""
        ...

    def now_ms(self) -> int:
        """Return the exchange time in epoch milliseconds."""
        ...


class _MarketTimer:
    """A callback due at a market-time deadline, waited for on the wall clock (see ``call_later``)."""

    def __init__(self, clock: SimMarketClock, deadline: float, callback: Callable[[], None]) -> None:
        self._clock = clock
        self._deadline = deadline
        self._callback = callback
        self._lock = threading.Lock()
        self._handle: TimerHandle | None = None
        self._cancelled = False

    def wait(self, seconds: float) -> None:
        """Look at the deadline again after ``seconds`` of wall time."""
        with self._lock:
            if not self._cancelled:
                self._handle = self._clock.timers.call_later(seconds, self._due)

    def _due(self) -> None:
        # Runs in the wall clock's timer thread (or a test thread with a ManualClock): must not raise.
        remaining = self._deadline - self._clock.monotonic()
        if remaining > 0:
            self.wait(max(remaining / self._clock.speed, self._clock.recheck_s))
            return
        with self._lock:
            if self._cancelled:
                return
            self._handle = None
        self._callback()

    def cancel(self) -> None:
        """Cancel the callback; a no-op once it ran."""
        with self._lock:
            self._cancelled = True
            handle, self._handle = self._handle, None
        if handle is not None:
            handle.cancel()


class SimMarketClock:
    """A ``supervision.Clock`` reading the simulator's exchange time (thread-safe).

    Args:
        exchange: the simulator's clock (``sim.clock``).
        timers: the wall clock ``call_later`` waits on (default ``RealClock``; tests pass a ``ManualClock``).
        recheck_s: the shortest real wait between two looks at a timer's market deadline, so a paused
            market does not turn a pending timer into a busy loop.
    """

    def __init__(
        self, exchange: ExchangeClock, *, timers: Clock | None = None, recheck_s: float = 0.05
    ) -> None:
        if recheck_s <= 0:
            raise ValueError(f"expected a positive recheck interval, got {recheck_s}")
        self._exchange = exchange
        self.timers: Clock = timers or RealClock()
        self.recheck_s = recheck_s

    @property
    def speed(self) -> float:
        """Return market seconds per real second."""
        return self._exchange.speed

    def monotonic(self) -> float:
        """Return market time in epoch seconds (never goes back: the simulator's time only moves forward)."""
        return self._exchange.now_ms() / 1000.0

    def now(self) -> datetime:
        """Return market time as an aware UTC datetime (millisecond resolution)."""
        return _EPOCH + timedelta(milliseconds=self._exchange.now_ms())

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        """Run ``callback`` once ``delay`` *market* seconds have passed.

        It waits ``delay / speed`` real seconds, then looks again: a paused market or a slower clock makes it
        wait longer (re-checking every ``recheck_s`` at most), a jump forward is noticed at the next look.
        The engine keeps its periodic timers on the wall clock; this makes the adapter a full ``Clock``.
        """
        delay = max(0.0, delay)
        timer = _MarketTimer(self, self.monotonic() + delay, callback)
        timer.wait(delay / self.speed)
        return timer


def market_clock_for(exchange: ExchangeClock | None) -> Clock:
    """Return the market clock of a mode: the simulator's exchange time, else wall time (paper/live)."""
    if exchange is None:
        return RealClock()
    return SimMarketClock(exchange)
