"""WebSocket connection registry and fan-out, with the message-level faults applied on the way out.

Each connection owns a bounded memory channel drained by its writer task; publishing never awaits, so one
slow client cannot stall the market loop (a client whose queue overflows is disconnected, as Bybit does).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
import structlog
import trio

from exchange.simulator.accounts import Account
from exchange.simulator.faults import Faults

__all__ = ["Connection", "Hub", "Kind"]

log = structlog.get_logger(__name__)

Kind = Literal["public", "private"]


@dataclass(eq=False, slots=True)
class Connection:
    """One client WebSocket."""

    kind: Kind
    conn_id: str
    outbox: trio.MemorySendChannel[str]
    topics: set[str] = field(default_factory=set)
    account: Account | None = None
    scope: trio.CancelScope | None = None
    dropped: bool = False
    silent: bool = False  # half-open: stays connected, sends nothing more (not even pongs)

    def push(self, text: str) -> bool:
        """Queue ``text`` for sending; return False when the client is too slow (its queue is full)."""
        try:
            self.outbox.send_nowait(text)
        except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
            return False
        return True


class Hub:
    """Track connections and deliver public topics and private pushes to them.

    Args:
        faults: the venue's fault knobs (duplicate and out-of-order messages are applied here).
        queue_size: messages buffered per connection.
    """

    def __init__(self, faults: Faults, queue_size: int) -> None:
        self._faults = faults
        self._queue_size = queue_size
        self._ids = itertools.count(1)
        self.connections: set[Connection] = set()
        self._held: dict[str, str] = {}
        self._held_executions: dict[int, str] = {}

    def open(self, kind: Kind) -> tuple[Connection, trio.MemoryReceiveChannel[str]]:
        """Register a new connection; return it and the channel its writer drains."""
        send, receive = trio.open_memory_channel[str](self._queue_size)
        conn = Connection(kind, f"sim-{kind[:3]}-{next(self._ids):06d}", send)
        self.connections.add(conn)
        return conn, receive

    def close(self, conn: Connection) -> None:
        """Forget a connection."""
        self.connections.discard(conn)
        conn.outbox.close()

    def drop(self, kind: Kind | None = None) -> int:
        """Disconnect every connection (of ``kind``); return how many were dropped."""
        victims = [c for c in self.connections if kind is None or c.kind == kind]
        for conn in victims:
            self._drop(conn)
        return len(victims)

    def silence(self, kind: Kind | None = None) -> int:
        """Make every current connection (of ``kind``) half-open for good; return how many.

        New connections are not affected: a client that detects the silence and reconnects is served again.
        """
        victims = [c for c in self.connections if kind is None or c.kind == kind]
        for conn in victims:
            conn.silent = True
        return len(victims)

    def _drop(self, conn: Connection) -> None:
        conn.dropped = True
        if conn.scope is not None:
            conn.scope.cancel()

    def subscribers(self, topic: str) -> int:
        """Return how many public connections subscribe to ``topic``."""
        return sum(1 for c in self.connections if c.kind == "public" and topic in c.topics)

    # ----------------------------------------------------------------------------- public
    def publish(self, topic: str, message: dict[str, Any]) -> None:
        """Send a public topic message to its subscribers, applying duplicate/out-of-order faults."""
        targets = [c for c in self.connections if c.kind == "public" and topic in c.topics]
        if not targets:
            return
        text = orjson.dumps(message).decode()
        held = self._held.pop(topic, None)
        if held is not None:
            self._send(targets, text)
            self._send(targets, held)
            return
        if self._faults.take("out_of_order"):
            self._held[topic] = text
            return
        self._send(targets, text)
        if self._faults.take("duplicate"):
            self._send(targets, text)

    def _send(self, targets: list[Connection], text: str) -> None:
        for conn in targets:
            if not conn.push(text):
                log.warning("slow websocket client dropped", conn_id=conn.conn_id)
                self._drop(conn)

    # ----------------------------------------------------------------------------- private
    def publish_private(self, account: Account, topic: str, data: list[dict[str, Any]], now_ms: int) -> None:
        """Send one private push (``id``, ``topic``, ``creationTime``, ``data``) to the account's sockets.

        ``execution`` messages go through the ``duplicate_executions`` and ``reorder_executions`` faults.
        """
        targets = [
            c
            for c in self.connections
            if c.kind == "private"
            and c.account is account
            and (topic in c.topics or f"{topic}.linear" in c.topics)
        ]
        if not targets:
            return
        message = {
            "id": f"{account.uid}-{topic}-{now_ms}-{next(self._ids)}",
            "topic": topic,
            "creationTime": now_ms,
            "data": data,
        }
        text = orjson.dumps(message).decode()
        if topic != "execution":
            self._send(targets, text)
            return
        held = self._held_executions.pop(account.uid, None)
        if held is not None:
            self._send(targets, text)
            self._send(targets, held)
            return
        if self._faults.take("reorder_executions"):
            self._held_executions[account.uid] = text
            return
        self._send(targets, text)
        if self._faults.take("duplicate_executions"):
            self._send(targets, text)
