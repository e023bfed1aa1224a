"""``MonitorStore``: the monitor's ``MonitorDataPort`` over ``storage.MonitorRepository`` (R-04).

Composition only: the repository (every SQL statement and the daily-equity fold) returns storage values, and
this wraps them as the replies the monitor's jobs tell back (``PerformanceLoaded``, ``HaltsLoaded``), which
are messages of this room and so cannot be built in ``storage``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from actors.monitor.messages import HaltsLoaded, PerformanceLoaded
from storage import MonitorRepository

__all__ = ["MonitorStore"]


class MonitorStore:
    """Read the monitor's inputs through ``reads`` (runs on the trio side, in the work queue's jobs)."""

    def __init__(self, reads: MonitorRepository) -> None:
        self._reads = reads

    async def load_performance(
        self,
        now: dt.datetime,
        *,
        window_days: int,
        equity_days: int,
        starting_equity_usd: Decimal,
        r_unit_usd: Decimal,
    ) -> PerformanceLoaded:
        """Return the closed trades of the last ``window_days`` and ``equity_days`` daily equity values."""
        history = await self._reads.load_performance(
            now,
            window_days=window_days,
            equity_days=equity_days,
            starting_equity_usd=starting_equity_usd,
            r_unit_usd=r_unit_usd,
        )
        return PerformanceLoaded(trades=history.trades, daily_equity=history.daily_equity, at=history.at)

    async def load_halts_today(self, now: dt.datetime) -> HaltsLoaded:
        """Return the kill conditions that halted trading since today's UTC start (from the audit trail)."""
        return HaltsLoaded(conditions=await self._reads.load_halts_today(now), day=now.date())
