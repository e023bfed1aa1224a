"""Fan-out of live events to SSE clients (G-03): one bounded channel per client, never a blocked publisher.

``publish`` is synchronous and O(clients): the event is framed once and the same bytes go to every client.
A client whose buffer is full is cut off (its stream ends) instead of slowing the others down; the browser's
EventSource reconnects with ``Last-Event-ID`` and the event log replays what it missed.
"""

from __future__ import annotations

import datetime as dt
from types import TracebackType

import structlog
import trio

from gateway.events import StreamEvent

__all__ = ["SignalHub", "Subscription"]

log = structlog.get_logger(__name__)


class Subscription:
    """One client's view of the hub: an async iterator of events, ended by the hub or by ``close``."""

    def __init__(self, hub: SignalHub, buffer: int) -> None:
        self._hub = hub
        self._send, self.receive = trio.open_memory_channel[StreamEvent](buffer)

    def offer(self, event: StreamEvent) -> bool:
        """Queue ``event`` without waiting; return False when the client is too slow or gone."""
        try:
            self._send.send_nowait(event)
        except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
            return False
        return True

    def end(self) -> None:
        """End the client's stream once queued events are read."""
        self._send.close()

    def close(self) -> None:
        """Leave the hub."""
        self._hub.discard(self)
        self._send.close()
        self.receive.close()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class SignalHub:
    """Registry of live SSE clients; must be used from the trio thread only."""

    def __init__(self, client_buffer: int = 256) -> None:
        self._client_buffer = client_buffer
        self._clients: set[Subscription] = set()
        self._closed = False
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

    def publish(self, event: StreamEvent) -> int:
        """Offer ``event`` to every client; cut off the slow ones. Return how many received it."""
        delivered = 0
        for sub in list(self._clients):
            if sub.offer(event):
                delivered += 1
            else:
                self.dropped_slow += 1
                self._clients.discard(sub)
                sub.end()
                log.warning("sse client cut off", reason="buffer full")
        return delivered

    async def run_heartbeat(
        self, interval_s: float, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Publish a ``heartbeat`` event (no id) to every client each ``interval_s`` until cancelled.

        One hub-wide timer instead of a timeout per client keeps the per-event cost of fan-out low.
        """
        task_status.started()
        while not self._closed:
            await trio.sleep(interval_s)
            at = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
            self.publish(StreamEvent(id=None, event="heartbeat", data=f'{{"at": "{at}"}}'))

    def close(self) -> None:
        """End every client's stream and refuse new ones (graceful shutdown, O-03)."""
        self._closed = True
        for sub in list(self._clients):
            sub.end()
        self._clients.clear()
