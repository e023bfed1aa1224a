"""A short-TTL cache of rendered read answers (``GET /signals`` pages), invalidated on every new signal.

Why: the UI and ops tools poll the same few ``/signals`` queries; answering them from memory keeps the
gateway's trio thread free for SSE fan-out and keeps p99 low under many clients (G-02, G-03).

Correctness rule: once a signal event is published to SSE clients, no request that *starts* after that
moment is answered from data read before it. ``SignalFeed`` calls ``invalidate`` before fanning an event
out, which bumps a generation counter; an answer is stored only when no invalidation happened while it was
being computed, and concurrent identical requests share one load (single flight) only within a generation.
Changes that publish no event (a denied signal, a status update) are visible after at most ``ttl_s``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

import trio

__all__ = ["ReadCache"]


@dataclass(slots=True)
class _Entry:
    body: bytes
    expires_at: float


@dataclass(slots=True)
class _Flight:
    generation: int
    done: trio.Event = field(default_factory=trio.Event)
    body: bytes | None = None


class ReadCache:
    """Rendered answers by key for ``ttl_s`` seconds; ``ttl_s = 0`` disables caching (and single flight).

    Use from the trio thread only.
    """

    def __init__(
        self, ttl_s: float, max_entries: int = 512, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s = ttl_s
        self._max_entries = max_entries
        self._clock = clock
        self._entries: dict[Hashable, _Entry] = {}
        self._flights: dict[Hashable, _Flight] = {}
        self.generation = 0
        self.hits = 0
        self.misses = 0

    def invalidate(self) -> None:
        """Forget every answer and refuse to store the ones being computed now (a new signal exists)."""
        self.generation += 1
        self._entries.clear()

    async def get_or_load(self, key: Hashable, load: Callable[[], Awaitable[bytes]]) -> bytes:
        """Return the fresh cached answer of ``key``, or ``await load()`` (shared by concurrent callers)."""
        if self.ttl_s <= 0:
            return await load()
        entry = self._entries.get(key)
        if entry is not None and entry.expires_at > self._clock():
            self.hits += 1
            return entry.body
        flight = self._flights.get(key)
        if flight is not None and flight.generation == self.generation:
            await flight.done.wait()
            if flight.body is not None:
                self.hits += 1
                return flight.body
            # the leader failed or was cancelled: load on our own below
        self.misses += 1
        flight = _Flight(self.generation)
        self._flights[key] = flight
        try:
            body = await load()
            flight.body = body
        finally:
            flight.done.set()
            if self._flights.get(key) is flight:
                del self._flights[key]
        if flight.generation == self.generation:
            if len(self._entries) >= self._max_entries:
                self._entries.pop(next(iter(self._entries)))  # oldest inserted first
            self._entries[key] = _Entry(body, self._clock() + self.ttl_s)
        return body
