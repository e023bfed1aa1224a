"""MonitorActor (path ``root/monitor``): kill conditions, performance alerts, break-even and funding exit.

Every ``poll_interval_s`` (60 s, R-04/R-06) a ``Tick`` — scheduled on the actor's clock, or told by anyone —
makes the monitor:

1. decide R-05/R-06 for every watched position (``strategy_core.position_rules``), from the latest
   ``PositionMarked`` it received: break-even once per position (``BreakEvenReached``; with ``be_mode: full``
   also ``MoveStopToEntry``), funding exit once per position and funding time (``FundingExitWarning``; with
   ``auto_funding_exit`` also ``ReduceOnlyCloseRequested``). Decisions go to the position side's sink;
2. read closed trades and daily equity through the work queue (``storage.MonitorRepository``) and assess R-04
   (``strategy_core.performance.assess_kill_conditions``): a halt finding tells ``KillConditionTriggered``
   to the RiskActor (HALTED, kill switch engaged); negative expectancy is an alert, WR/PF warnings.

Two clocks (see "Market time vs wall time" in docs/architecture.md): the tick is scheduled on the actor's
(supervision, wall) clock, so the poll load does not scale with the simulator's speed; every decision reads
``deps.market_clock`` (else the actor's clock): the UTC day of R-04, funding time-to-go of R-06 (compared with
the exchange's funding time), the timestamps of decisions and alerts. The last-tick gauge is liveness, so it
is wall time.

Each finding fires at most once per UTC day, so an operator who releases the kill switch is not overruled a
minute later by the same day's condition (R-04: release is an explicit operator action).

The state machine itself is ``MonitorBehaviour`` (module ``behaviour``); its tunables are ``MonitorConfig``
(module ``config``), its ports ``MonitorDeps`` (module ``deps``); this module is the supervised host.
"""

from __future__ import annotations

from actors.host import BehaviourActor

from .behaviour import MonitorBehaviour, MonitorMessage
from .config import MonitorConfig
from .deps import MonitorDeps

__all__ = ["MonitorActor"]


class MonitorActor(BehaviourActor[MonitorMessage]):
    """Supervised host of ``MonitorBehaviour`` (path ``root/monitor``); state is re-read on every tick."""

    def __init__(self, config: MonitorConfig, deps: MonitorDeps) -> None:
        super().__init__()
        self._config, self._deps = config, deps

    def build(self) -> MonitorBehaviour:
        """Return a fresh behaviour; its ``start`` schedules the first tick."""
        return MonitorBehaviour(self._config, self._deps, self.clock, self.self_ref, self.log)
