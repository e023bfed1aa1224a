"""``DenialBatch``: the RiskActor's denials, written in batches (R-03 audit of every refusal).

A denial is recorded at once in the actor's thread and handed to the trio side later: the first one of a
batch schedules a ``FlushDenials`` ``flush_s`` after it; a batch that reaches ``batch_max`` (or a
``flush_s`` of 0) is written at once. A denial storm (HALTED) then costs one trio wake-up and one
``executemany`` per batch instead of one per denial. The actor flushes what is left when it stops.
"""

from __future__ import annotations

from collections.abc import Callable

from actors.timers import MessageTimers
from storage import DenialRecord

from .messages import FlushDenials

__all__ = ["DenialBatch"]


class DenialBatch:
    """Buffer denials and hand each batch to ``write`` (which submits it to the work queue)."""

    def __init__(
        self,
        *,
        flush_s: float,
        batch_max: int,
        timers: MessageTimers,
        write: Callable[[tuple[DenialRecord, ...]], None],
    ) -> None:
        self._flush_s = flush_s
        self._batch_max = batch_max
        self._timers = timers
        self._write = write
        self._pending: list[DenialRecord] = []  # recorded, not yet handed to the work queue

    def add(self, denial: DenialRecord) -> None:
        """Record ``denial``; write the batch now when it is full, else make sure a flush is scheduled."""
        self._pending.append(denial)
        if self._flush_s <= 0 or len(self._pending) >= self._batch_max:
            self.flush()
        elif len(self._pending) == 1:
            self._timers.tell_later(self._flush_s, FlushDenials())

    def flush(self) -> None:
        """Hand every recorded denial to ``write`` as one batch (nothing when there is none)."""
        if not self._pending:
            return
        batch, self._pending = tuple(self._pending), []
        self._write(batch)
