"""MonitorActor (path ``root/monitor``): kill conditions, performance alerts, break-even and funding exit.

Every ``poll_interval_s`` (60 s, R-04/R-06) a ``Tick`` — scheduled on the actor's clock, or told by anyone —
makes the monitor:

1. decide R-05/R-06 for every watched position (``strategy_core.position_rules``), from the latest
   ``PositionMarked`` it received: break-even once per position (``BreakEvenReached``; with ``be_mode: full``
   also ``MoveStopToEntry``), funding exit once per position and funding time (``FundingExitWarning``; with
   ``auto_funding_exit`` also ``ReduceOnlyCloseRequested``). Decisions go to the position side's sink;
2. read closed trades and daily equity through the work queue (``MonitorStore``) and assess R-04
   (``strategy_core.performance.assess_kill_conditions``): a halt finding tells ``KillConditionTriggered``
   to the RiskActor (HALTED, kill switch engaged); negative expectancy is an alert, WR/PF warnings.

Two clocks (see "Market time vs wall time" in docs/architecture.md): the tick is scheduled on the actor's
(supervision, wall) clock, so the poll load does not scale with the simulator's speed; every decision reads
``deps.market_clock`` (else the actor's clock): the UTC day of R-04, funding time-to-go of R-06 (compared with
the exchange's funding time), the timestamps of decisions and alerts. The last-tick gauge is liveness, so it
is wall time.

Each finding fires at most once per UTC day, so an operator who releases the kill switch is not overruled a
minute later by the same day's condition (R-04: release is an explicit operator action).

The state machine itself is ``MonitorBehaviour`` (module ``monitor_behaviour``); this module holds its
config, its dependencies and the supervised wrapper.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from actors.messages import MessageSink
from actors.ports import WorkQueue
from strategy_core.config import KillThresholds, PositionRules
from supervision.clock import Clock

from .host import BehaviourActor
from .metrics import RiskMetrics
from .monitor_behaviour import MonitorBehaviour
from .monitor_messages import HaltsLoaded, PerformanceLoaded
from .webhooks import AlertSink

__all__ = ["MonitorActor", "MonitorConfig", "MonitorDataPort", "MonitorDeps"]


class MonitorConfig(BaseModel):
    """How the monitor polls and what it assesses (R-04..R-06)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    poll_interval_s: float = Field(default=60.0, gt=0, description="Seconds between ticks (R-04).")
    schedule_ticks: bool = Field(default=True, description="Schedule ticks on the clock (else tell Tick).")
    stats_window_days: int = Field(default=30, ge=1, description="Closed trades assessed for WR/PF/E.")
    equity_days: int = Field(default=10, ge=1, description="Daily equity values read for the MaxDD rule.")
    starting_equity_usd: Decimal = Field(default=Decimal(1000), gt=0, description="Equity before any trade.")
    thresholds: KillThresholds = KillThresholds()
    position_rules: PositionRules = PositionRules()


class MonitorDataPort(Protocol):
    """The read the monitor's job runs on the trio side (``MonitorStore`` satisfies it)."""

    async def load_performance(
        self,
        now: dt.datetime,
        *,
        window_days: int,
        equity_days: int,
        starting_equity_usd: Decimal,
        r_unit_usd: Decimal,
    ) -> PerformanceLoaded:
        """Return closed trades and daily equity."""
        ...

    async def load_halts_today(self, now: dt.datetime) -> HaltsLoaded:
        """Return the kill conditions that already halted trading today."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitorDeps:
    """What the MonitorActor needs: where to send halts (``risk``) and position decisions (``positions``).

    ``market_clock`` is the time decisions read (``None``: the actor's own clock, for single-clock tests).
    """

    config: MonitorConfig
    work: WorkQueue
    store: MonitorDataPort
    risk: MessageSink
    positions: MessageSink | None = None
    alerts: AlertSink | None = None
    metrics: RiskMetrics | None = None
    market_clock: Clock | None = None


class MonitorActor(BehaviourActor):
    """Supervised host of ``MonitorBehaviour`` (path ``root/monitor``); state is re-read on every tick."""

    def __init__(self, deps: MonitorDeps) -> None:
        super().__init__()
        self._deps = deps

    def build(self) -> MonitorBehaviour:
        """Return a fresh behaviour; its ``start`` schedules the first tick."""
        return MonitorBehaviour(self._deps, self.clock, self.self_ref, self.log)
