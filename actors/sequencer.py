"""``BarSequencer``: the feed's ordered view of one symbol's confirmed 5m bars, with hole detection (D-02).

A pure state machine (no I/O, no clock reads: the exchange time is passed in). It keeps one slot per bar
start after the last bar passed downstream:

* a live close (the ``CandleConfirmed`` built at arrival, with its book and ticker),
* a bar repaired over REST,
* ``MISSING`` — a bar that could not be recovered (it is passed on as such, never invented),
* ``PENDING`` — an absent bar awaiting its REST fetch.

Holes are found two ways: a close whose start lies more than one interval after the newest known bar, and
the exchange clock (any market event's ``ts``) passing the end of a bar that never closed, by more than a
grace period — so a reconnect, a silent kline topic while books continue, or a feed restart (the sequencer is
seeded with the newest stored bar) all lead to the same repair. ``drain`` returns, oldest first, every slot
that can go downstream now: it stops at the first ``PENDING`` one, so bars always leave in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from actors.messages import CandleConfirmed

__all__ = ["MISSING", "PENDING", "BarSequencer", "Slot"]

BAR_MS = 300_000


class _Mark(Enum):
    PENDING = "pending"
    MISSING = "missing"


PENDING = _Mark.PENDING
MISSING = _Mark.MISSING

Slot = CandleConfirmed | _Mark


@dataclass(slots=True)
class BarSequencer:
    """Ordered bar slots of one symbol; see the module docstring.

    Args:
        grace_ms: exchange ms after a bar's end before its absence counts as a hole.
        max_attempts: REST fetches of an absent bar before it is ``MISSING``.
    """

    grace_ms: int
    max_attempts: int
    forwarded_ms: int | None = None  # start of the last bar passed downstream
    newest_ms: int | None = None  # newest bar start known (passed, held, repaired or awaited)
    seeded: bool = (
        True  # ``expect_seed`` holds closes back until ``seed`` (a restart: see FeedBehaviour.start)
    )
    in_flight: tuple[int, ...] = ()
    attempts: dict[int, int] = field(default_factory=dict)
    _slots: dict[int, Slot] = field(default_factory=dict)
    _due_ms: int | None = None

    # -- inputs

    def expect_seed(self) -> None:
        """Hold closes back until ``seed`` tells where storage stops."""
        self.seeded = False

    def seed(self, stored_ms: int | None) -> list[int]:
        """Start after the newest stored bar (``None``: nothing stored); return the holes found."""
        self.seeded = True
        for start in list(self._slots):
            if stored_ms is not None and start <= stored_ms:
                del self._slots[start]  # already stored: the indicator reloads it from storage
        if stored_ms is None and not self._slots:
            return []
        first = stored_ms if stored_ms is not None else min(self._slots) - BAR_MS
        self.forwarded_ms = first
        top = max([first, *self._slots])
        holes = [s for s in range(first + BAR_MS, top, BAR_MS) if s not in self._slots]
        for start in holes:
            self._slots[start] = PENDING
        self._set_newest(top)
        return holes

    def on_close(self, start_ms: int, message: CandleConfirmed) -> tuple[bool, list[int]]:
        """Take a live close; return (whether it is new, the holes it revealed)."""
        if self.newest_ms is not None and start_ms <= self.newest_ms:
            if self._slots.get(start_ms) is PENDING:  # a late close of an awaited bar: better than REST
                self._slots[start_ms] = message
                return True, []
            return False, []
        holes = self._expect_until(start_ms, include_last=False) if self.newest_ms is not None else []
        self._slots[start_ms] = message
        self._set_newest(start_ms)
        return True, holes

    def on_clock(self, ts_ms: int) -> list[int]:
        """Note the exchange time ``ts_ms``; return the bars that should have closed by now and did not."""
        if self._due_ms is None or ts_ms < self._due_ms or not self.seeded:
            return []
        due_start = (ts_ms - self.grace_ms) // BAR_MS * BAR_MS - BAR_MS
        return self._expect_until(due_start, include_last=True)

    def on_fetched(self, candles: dict[int, CandleConfirmed]) -> tuple[list[CandleConfirmed], list[int]]:
        """Fill the in-flight request's slots from ``candles`` (by start); return (repaired, now missing)."""
        requested, self.in_flight = self.in_flight, ()
        repaired: list[CandleConfirmed] = []
        missing: list[int] = []
        for start in requested:
            if self._slots.get(start) is not PENDING:
                continue
            found = candles.get(start)
            if found is not None:
                self._slots[start] = found
                repaired.append(found)
            elif self._give_up(start):
                missing.append(start)
        return repaired, missing

    def on_fetch_failed(self) -> list[int]:
        """The in-flight request failed: return the bars that are now ``MISSING`` (the rest stay pending)."""
        requested, self.in_flight = self.in_flight, ()
        return [s for s in requested if self._slots.get(s) is PENDING and self._give_up(s)]

    # -- outputs

    def next_request(self, max_bars: int) -> tuple[int, ...]:
        """Return the next absent bars to fetch (oldest first, at most ``max_bars``), or () when none/busy."""
        if self.in_flight or not self.seeded:
            return ()
        pending = sorted(s for s, slot in self._slots.items() if slot is PENDING)[:max_bars]
        self.in_flight = tuple(pending)
        for start in pending:
            self.attempts[start] = self.attempts.get(start, 0) + 1
        return self.in_flight

    def drain(self) -> list[tuple[int, Slot]]:
        """Return every slot that may go downstream now, oldest first (stops at the first pending one)."""
        if not self.seeded:
            return []
        out: list[tuple[int, Slot]] = []
        while self._slots:
            start = min(self._slots) if self.forwarded_ms is None else self.forwarded_ms + BAR_MS
            slot = self._slots.get(start)
            if slot is None or slot is PENDING:
                break
            del self._slots[start]
            self.attempts.pop(start, None)
            self.forwarded_ms = start
            out.append((start, slot))
        return out

    def awaits(self, start_ms: int) -> bool:
        """Return whether the bar starting at ``start_ms`` is absent and awaited."""
        return self._slots.get(start_ms) is PENDING

    @property
    def pending(self) -> int:
        """Return how many bars await their REST fetch."""
        return sum(1 for slot in self._slots.values() if slot is PENDING)

    # -- helpers

    def _expect_until(self, last_ms: int, *, include_last: bool) -> list[int]:
        """Mark every bar after ``newest_ms`` up to ``last_ms`` (inclusive or not) pending; return them."""
        if self.newest_ms is None or last_ms <= self.newest_ms:
            return []
        end = last_ms + BAR_MS if include_last else last_ms
        holes = [s for s in range(self.newest_ms + BAR_MS, end, BAR_MS) if s not in self._slots]
        for start in holes:
            self._slots[start] = PENDING
        self._set_newest(max(last_ms, self.newest_ms) if include_last else self.newest_ms)
        return holes

    def _set_newest(self, start_ms: int) -> None:
        self.newest_ms = start_ms
        # the next bar ends at newest + 2 bars; its absence is a hole once the grace has passed too
        self._due_ms = start_ms + 2 * BAR_MS + self.grace_ms

    def _give_up(self, start: int) -> bool:
        if self.attempts.get(start, 0) >= self.max_attempts:
            self._slots[start] = MISSING
            return True
        return False
