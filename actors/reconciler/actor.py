"""ReconcilerActor (path ``root/reconciler``): our state converges to the exchange's (C-01..C-04, P-03, P-10).

At start — before any new exposure is approved (the RiskActor holds it until told otherwise) — and every
``interval_s`` (60 s by default; C-01 allows up to 5 min), under the Redis lock with a fencing token (C-04),
a pass compares for every tracked symbol the positions (side, size, average entry), the open orders (ids,
quantity, price, status; protective ones included) and the executions since the window start between
PostgreSQL, the PositionActors' state and the exchange (REST). Each difference is a finding (info, warning,
critical; ``actors.reconciler.rules``), written to ``reconciliation_log`` with the repair taken (C-02).

The reconciler only reads, classifies and asks owners by message (DESIGN §9): the symbol's PositionActor
re-validates, backfills missed executions, adopts a close made outside the system with the exchange's closed
PnL, cancels our orphan orders; the RiskActor engages the kill switch on a critical finding (HALTED or
REDUCING per ``on_critical``, the finding as the reason, C-03) and holds new exposure while a critical
finding is open and unacknowledged (``ReconciliationVerdict``). A critical finding also raises an alert
(webhook + metric). An admin acknowledges findings through the gateway (audited).

The state machine is ``ReconcilerBehaviour`` (module ``behaviour``); its tunables ``ReconcilerConfig``
(``config``), its ports ``ReconcilerDeps`` (``deps``); this module is the supervised host.
"""

from __future__ import annotations

from actors.host import BehaviourActor

from .behaviour import ReconcilerBehaviour, ReconcilerMessage
from .config import ReconcilerConfig
from .deps import ReconcilerDeps

__all__ = ["ReconcilerActor"]


class ReconcilerActor(BehaviourActor[ReconcilerMessage]):
    """Supervised host of ``ReconcilerBehaviour`` (``root/reconciler``); reloads open findings on start."""

    def __init__(self, config: ReconcilerConfig, deps: ReconcilerDeps) -> None:
        super().__init__()
        self._config, self._deps = config, deps

    def build(self) -> ReconcilerBehaviour:
        """Return a fresh behaviour; its ``start`` loads the open findings and runs the start-up pass."""
        return ReconcilerBehaviour(self._config, self._deps, self.clock, self.self_ref, self.log)
