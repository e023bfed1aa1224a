"""The start-up heap and the cyclic garbage collector: freeze it once warmed up, unfreeze it at stop.

After the warm-up the engine holds a large, long-lived heap (bar history, order books, the actor tree). The
collector's full passes walk all of it while every thread waits; freezing it moves those objects to a
permanent generation the collector skips (reference counting still frees them). New objects are collected
as before. Unfreezing at stop hands the objects back, so a process that runs several engines (the tests)
does not keep earlier engines' cycles.
"""

from __future__ import annotations

import gc

__all__ = ["freeze_startup_heap", "unfreeze_heap"]


def freeze_startup_heap() -> int:
    """Collect the garbage of the start-up, then freeze what is alive; return the frozen object count."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def unfreeze_heap() -> None:
    """Give the frozen objects back to the collector (their oldest generation); nothing when none are."""
    if gc.get_freeze_count():
        gc.unfreeze()
