"""Fan-out of live events to SSE clients (G-03): one bounded channel per client, never a blocked publisher.

``publish`` is synchronous and O(clients): the event is framed once and the same bytes go to every client.
A client whose buffer is full is cut off (its stream ends) instead of slowing the others down; the browser's
EventSource reconnects with ``Last-Event-ID`` and the event log replays what it missed.

The cyclic garbage collector is paused while a fan-out is in flight (from ``publish`` until every client
has written the event, at most ``settle_s``). Measured reason: all clients' send paths are suspended at the
same time during a fan-out, so their short-lived objects (~35 per client) survive the young collections and
are promoted; at 2,000 clients that crossed CPython's full-collection threshold on every event, and each full
collection over the server's ~270k live objects took 170-340 ms, stalling every client queued behind it.
Reference counting still frees everything the fan-out drops; only cycle detection waits.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable
from types import TracebackType

import structlog
import trio

from gateway.events import StreamEvent

__all__ = ["SignalHub", "Subscription"]

log = structlog.get_logger(__name__)


class _Collector:
    """Process-wide pause of automatic garbage collection, nestable across hubs."""

    def __init__(self) -> None:
        self._pauses = 0
        self._was_enabled = False

    def pause(self) -> None:
        """Turn automatic collection off (the first pause remembers whether it was on)."""
        if self._pauses == 0:
            self._was_enabled = gc.isenabled()
            gc.disable()
        self._pauses += 1

    def resume(self) -> None:
        """Undo one ``pause``; the last one restores the collector's previous state."""
        self._pauses -= 1
        if self._pauses == 0 and self._was_enabled:
            gc.enable()


_COLLECTOR = _Collector()


class Subscription:
    """One client's view of the hub: an async iterator of events, ended by the hub or by ``close``."""

    def __init__(self, hub: SignalHub, buffer: int) -> None:
        self._hub = hub
        self._send, self.receive = trio.open_memory_channel[StreamEvent](buffer)
        self._unsent = 0

    def offer(self, event: StreamEvent) -> bool:
        """Queue ``event`` without waiting; return False when the client is too slow or gone."""
        try:
            self._send.send_nowait(event)
        except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
            return False
        self._unsent += 1
        return True

    def written(self, count: int) -> None:
        """Report that ``count`` events taken from ``receive`` were written to the client (or skipped)."""
        count = min(count, self._unsent)
        self._unsent -= count
        self._hub.settle(count)

    def end(self) -> None:
        """End the client's stream once queued events are read."""
        self._send.close()

    def close(self) -> None:
        """Leave the hub."""
        self._hub.discard(self)
        self.written(self._unsent)
        self._send.close()
        self.receive.close()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _heartbeat_data(data: Callable[[], str] | None) -> str:
    if data is not None:
        try:
            return data()
        except Exception as exc:  # a failing clock read must not end the heartbeat task (and the gateway)
            log.warning("heartbeat data failed", error=f"{type(exc).__name__}: {exc}")
    at = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    return f'{{"at": "{at}"}}'


class SignalHub:
    """Registry of live SSE clients; must be used from the trio thread only."""

    def __init__(self, client_buffer: int = 256, settle_s: float = 1.0) -> None:
        self._client_buffer = client_buffer
        self._settle_s = settle_s
        self._clients: set[Subscription] = set()
        self._closed = False
        self._unsent = 0  # events offered to clients and not yet written by them
        self._gc_paused = False
        self._pause_deadline = 0.0
        self._pause_started = trio.Event()
        self._guarded = False  # run_heartbeat runs, so a pause always ends by its deadline
        self.dropped_slow = 0

    @property
    def clients(self) -> int:
        """Return the number of connected clients."""
        return len(self._clients)

    @property
    def closed(self) -> bool:
        """Return True once ``close`` ran (shutdown)."""
        return self._closed

    def subscribe(self) -> Subscription:
        """Register a new client; on a closed hub its stream ends at once."""
        sub = Subscription(self, self._client_buffer)
        if self._closed:
            sub.end()
        else:
            self._clients.add(sub)
        return sub

    def discard(self, sub: Subscription) -> None:
        """Forget ``sub`` (idempotent)."""
        self._clients.discard(sub)

    @property
    def collector_paused(self) -> bool:
        """Return True while a fan-out holds the garbage collector off."""
        return self._gc_paused

    def publish(self, event: StreamEvent) -> int:
        """Offer ``event`` to every client; cut off the slow ones. Return how many received it."""
        if self._guarded and self._clients and not self._gc_paused:
            _COLLECTOR.pause()
            self._gc_paused = True
            self._pause_deadline = trio.current_time() + self._settle_s
            self._pause_started.set()
        delivered = 0
        for sub in list(self._clients):
            if sub.offer(event):
                delivered += 1
            else:
                self.dropped_slow += 1
                self._clients.discard(sub)
                sub.end()
                log.warning("sse client cut off", reason="buffer full")
        self._unsent += delivered
        self.settle(0)
        return delivered

    def settle(self, count: int) -> None:
        """Count ``count`` offered events as written; resume the collector once none is left in flight."""
        self._unsent -= count
        if self._unsent <= 0 and self._gc_paused:
            self._end_pause()

    def _end_pause(self) -> None:
        self._gc_paused = False
        _COLLECTOR.resume()

    async def _guard_pauses(self) -> None:
        """End a collector pause at its deadline when some client has not written the event by then."""
        while True:
            await self._pause_started.wait()
            self._pause_started = trio.Event()
            while self._gc_paused:
                await trio.sleep_until(self._pause_deadline)
                if self._gc_paused and trio.current_time() >= self._pause_deadline:
                    log.info("sse fan-out unsettled, collector resumed", unsent=self._unsent)
                    self._end_pause()

    async def run_heartbeat(
        self,
        interval_s: float,
        *,
        data: Callable[[], str] | None = None,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Publish a ``heartbeat`` event (no id) to every client each ``interval_s`` until cancelled.

        One hub-wide timer instead of a timeout per client keeps the per-event cost of fan-out low. The same
        task bounds every garbage-collector pause of a fan-out to ``settle_s``; without it none is taken.

        Args:
            interval_s: seconds between heartbeats.
            data: returns the heartbeat's JSON data (the gateway adds the engine's market time); default, and
                whenever it fails, ``{"at": <wall time>}``.
        """
        self._guarded = True
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._guard_pauses)
                task_status.started()
                while not self._closed:
                    await trio.sleep(interval_s)
                    self.publish(StreamEvent(id=None, event="heartbeat", data=_heartbeat_data(data)))
                nursery.cancel_scope.cancel()
        finally:
            self._guarded = False
            if self._gc_paused:
                self._end_pause()

    def close(self) -> None:
        """End every client's stream and refuse new ones (graceful shutdown, O-03)."""
        self._closed = True
        for sub in list(self._clients):
            sub.end()
        self._clients.clear()
        if self._gc_paused:
            self._end_pause()
