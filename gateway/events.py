"""The SSE event log: events appended to a Redis Stream, replayed after ``Last-Event-ID`` (G-03, DESIGN §5).

Stream ids (``<ms>-<seq>``) only ever grow, so they double as SSE event ids: a client that reconnects with
``Last-Event-ID: X`` is replayed the entries strictly after X, in order, once. The outbox relay appends with
``append_at`` under ids taken from the outbox (``<outbox id>-0``): they survive a gateway restart, and a
retried append of an entry already there is recognised instead of stored twice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from gateway.errors import EventLogError
from gateway.ports import StreamCommands

__all__ = ["RedisEventLog", "StreamEvent", "outbox_event_id", "parse_event_id"]

log = structlog.get_logger(__name__)

_ID = re.compile(r"^(\d{1,20})-(\d{1,20})$")


def parse_event_id(raw: str) -> tuple[int, int]:
    """Return the sortable ``(ms, seq)`` key of a stream id.

    Raises:
        ValueError: ``raw`` is not of the form ``<ms>-<seq>``.
    """
    match = _ID.match(raw.strip())
    if match is None:
        raise ValueError(f"expected an event id like '1700000000000-0', got {raw[:40]!r}")
    return int(match.group(1)), int(match.group(2))


def outbox_event_id(outbox_id: int) -> str:
    """Return the stream (and SSE) id of outbox row ``outbox_id``."""
    return f"{outbox_id}-0"


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One logged event: its stream id, SSE event name and JSON payload, framed once for every client."""

    id: str | None
    event: str
    data: str
    frame: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Encoded once here: fan-out to N clients writes the same bytes N times, never re-encodes them.
        head = "" if self.id is None else f"id: {self.id}\n"
        object.__setattr__(self, "frame", f"{head}event: {self.event}\ndata: {self.data}\n\n".encode())

    @property
    def key(self) -> tuple[int, int]:
        """Return the sortable form of ``id``.

        Raises:
            ValueError: the event has no id (a heartbeat).
        """
        return parse_event_id(self.id or "")

    def encode(self) -> bytes:
        """Return the event framed for ``text/event-stream`` (one-line JSON payload; no id line if None)."""
        return self.frame


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _field(fields: Mapping[Any, Any], name: str) -> str:
    value = fields.get(name)
    if value is None:
        value = fields.get(name.encode())
    if value is None:
        raise EventLogError(f"expected field {name!r} in the stream entry, got {sorted(map(str, fields))}")
    return _text(value)


class RedisEventLog:
    """Append-and-replay log of gateway events on one Redis Stream (capped at ``maxlen`` entries)."""

    def __init__(
        self, client: StreamCommands, stream: str = "algogrid:ui-events", maxlen: int = 100_000
    ) -> None:
        self._client = client
        self.stream = stream
        self._maxlen = maxlen

    async def append(self, event: str, data: str) -> StreamEvent:
        """Append one event with ``XADD`` and return it with its new id.

        Raises:
            EventLogError: Redis refused or could not be reached.
        """
        try:
            raw_id = await self._client.xadd(
                self.stream, {"event": event, "data": data}, maxlen=self._maxlen, approximate=True
            )
        except Exception as exc:  # the redis client's errors vary by transport; translate them all here
            raise EventLogError(f"could not append to stream {self.stream!r}: {exc}") from exc
        return StreamEvent(id=_text(raw_id), event=event, data=data)

    async def append_at(self, event: StreamEvent) -> bool:
        """Append ``event`` under its own id; return False when that entry is in the stream already.

        An id refused as not above the stream's last entry is looked up: present means a retried append
        (the relay stopped between the append and marking its row), so nothing is stored twice.

        Raises:
            EventLogError: Redis refused or could not be reached, or the stream's last entry is past ``event``
                without holding it (ids not from this outbox: a foreign stream under the same key).
        """
        if event.id is None:
            raise ValueError("expected an event with an id, got a heartbeat")
        try:
            await self._client.xadd(
                self.stream,
                {"event": event.event, "data": event.data},
                maxlen=self._maxlen,
                approximate=True,
                id=event.id,
            )
        except Exception as exc:  # the redis client's errors vary by transport; translate them all here
            if "equal or smaller" not in str(exc):
                raise EventLogError(f"could not append to stream {self.stream!r}: {exc}") from exc
        else:
            return True
        try:
            found = await self._client.xrange(self.stream, min=event.id, max=event.id, count=1)
        except Exception as exc:  # translate transport errors at this one boundary
            raise EventLogError(f"could not read stream {self.stream!r}: {exc}") from exc
        if found:
            return False
        raise EventLogError(
            f"expected stream {self.stream!r} to end before {event.id} or to hold it, got a later last entry"
        )

    async def read_after(self, last_id: str, limit: int = 10_000, page: int = 500) -> list[StreamEvent]:
        """Return up to ``limit`` events strictly after ``last_id``, oldest first.

        Raises:
            ValueError: ``last_id`` is not a stream id.
            EventLogError: Redis could not be read.
        """
        parse_event_id(last_id)
        events: list[StreamEvent] = []
        cursor = last_id
        while len(events) < limit:
            try:
                entries = await self._client.xrange(
                    self.stream, min=f"({cursor}", max="+", count=min(page, limit - len(events))
                )
            except Exception as exc:  # translate transport errors at this one boundary
                raise EventLogError(f"could not read stream {self.stream!r}: {exc}") from exc
            for raw_id, fields in entries:
                cursor = _text(raw_id)
                events.append(
                    StreamEvent(id=cursor, event=_field(fields, "event"), data=_field(fields, "data"))
                )
            if len(entries) < page:
                break
        return events
