"""What the MonitorActor is given besides its config: the ports it works through (R-04..R-06).

``market_clock`` is the time decisions read (``None``: the actor's own clock, for single-clock tests).
``ui`` is the gateway's non-blocking event sink: it gets a ``MetricsUpdated`` after each assessment whose
figures changed (SSE ``metrics``, G-03).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from actors.messages import MessageSink
from actors.ports import WorkQueue
from actors.risk import AlertSink, RiskMetrics
from storage import PerformanceHistory
from supervision.clock import Clock

__all__ = ["MetricsPublisher", "MonitorDataPort", "MonitorDeps"]


class MonitorDataPort(Protocol):
    """The reads the monitor's jobs run on the trio side (``storage.MonitorRepository`` satisfies it)."""

    async def load_performance(
        self,
        now: dt.datetime,
        *,
        window_days: int,
        equity_days: int,
        starting_equity_usd: Decimal,
        r_unit_usd: Decimal,
    ) -> PerformanceHistory:
        """Return closed trades and daily equity."""
        ...

    async def load_halts_today(self, now: dt.datetime) -> tuple[str, ...]:
        """Return the kill conditions that already halted trading today."""
        ...


class MetricsPublisher(Protocol):
    """The gateway's sink of ``MetricsUpdated`` (``gateway.SignalFeed``): called in the actor's thread."""

    def publish(self, event: object) -> None:
        """Hand ``event`` over without waiting."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitorDeps:
    """The monitor's collaborators: where halts go (``risk``), position decisions (``positions``), alerts.

    Its tunables are ``MonitorConfig`` (``Settings.monitor`` with the ``risk:`` fields laid over it).
    """

    work: WorkQueue
    store: MonitorDataPort
    risk: MessageSink
    positions: MessageSink | None = None
    alerts: AlertSink | None = None
    metrics: RiskMetrics | None = None
    market_clock: Clock | None = None
    ui: MetricsPublisher | None = None
