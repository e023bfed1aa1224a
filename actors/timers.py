"""``MessageTimers``: timers of a pykka-free behaviour that come back to its actor as messages.

The RiskActor (rebuild retry, state poll, denial flush) and the MonitorActor (``Tick``) schedule their timers
on the tree's (wall) clock. A timer fires in a timer thread — or in the test thread with a ``ManualClock`` —
and only tells the message to the actor, so the work still runs one message at a time in the actor's thread.
There is one live timer per message kind: scheduling a kind again replaces the pending one, so a dead
incarnation's message landing in its successor never doubles a chain. ``close`` cancels every timer and
refuses new ones (the incarnation ends).
"""

from __future__ import annotations

from typing import Any

from actors.messages import MessageSink
from supervision.clock import Clock, TimerHandle

__all__ = ["MessageTimers"]


class MessageTimers:
    """One live timer per message kind, each telling its message to ``ref`` when it fires."""

    def __init__(self, clock: Clock, ref: MessageSink, log: Any) -> None:
        self._clock = clock
        self._ref = ref
        self._log = log
        self._pending: dict[str, TimerHandle] = {}
        self._closed = False

    def tell_later(self, delay: float, message: object) -> None:
        """Tell ``message`` to the actor after ``delay`` seconds, replacing a pending one of its kind."""
        if self._closed:
            return
        ref, log = self._ref, self._log

        def fire() -> None:
            try:
                ref.tell(message)
            except Exception as exc:  # boundary: the actor is gone; its successor schedules its own timers
                log.debug("timer message undeliverable", kind=type(message).__name__, error=repr(exc))

        kind = type(message).__name__
        previous = self._pending.pop(kind, None)
        if previous is not None:
            previous.cancel()
        self._pending[kind] = self._clock.call_later(delay, fire)

    def close(self) -> None:
        """Cancel every pending timer and schedule none from now on."""
        self._closed = True
        pending, self._pending = self._pending, {}
        for timer in pending.values():
            timer.cancel()
