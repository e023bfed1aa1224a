"""The engine's own tunables (``Settings.engine``): the work queue, the warm-up pace, the stop bound.

One frozen model (STYLE §9) with every default visible, validated at start-up. What a bar history or the
risk room needs lives in their rooms' configs; this holds only what the composition root itself runs.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["EngineConfig"]


class EngineConfig(BaseModel):
    """How the composition root runs its services (DESIGN §3).

    Attributes:
        work_queue_size: jobs the actor → trio work queue holds before ``WorkQueueFull`` (DESIGN §3).
        work_concurrency: jobs the trio side runs at once.
        backfill_interval_s: pause between two symbols' REST warm-up requests (E-08 budget).
        stop_timeout_s: bound on each start-up wait (tree settled, session subscribed) and on the tree stop.
        freeze_heap_after_start: once warmed up, collect and freeze the start-up heap (history, books, the
            tree) so the cyclic collector's full passes stop walking it: a full pass over it pauses every
            thread ~100 ms, which lands on clicks and fills in flight. The heap is unfrozen at stop.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    work_queue_size: int = Field(default=10_000, ge=1, le=1_000_000)
    work_concurrency: int = Field(default=16, ge=1, le=1024)
    backfill_interval_s: float = Field(default=0.05, ge=0, le=60)
    stop_timeout_s: float = Field(default=30.0, gt=0, le=600)
    freeze_heap_after_start: bool = True
