"""RiskActor (path ``root/risk``): every limit and the kill switch, decided in one place (R-02..R-07).

* Decisions are synchronous and in memory (``RiskBook``); I/O never sits on the decision path. Denials,
  trading-state changes and the rebuild go through the work queue; their results come back as messages.
* ``on_start`` submits the rebuild and the actor **denies everything until it is loaded** (fail closed), and
  keeps retrying a failed rebuild with backoff.
* Business refusals are verdict messages (``SignalDenied``/``OrderDenied``), never exceptions.
* Automatic sources only tighten the trading state; only ``SetTradingState`` (an operator) may loosen it.
* A kill switch changed by another process (the CLI) is noticed by polling the persisted state every
  ``state_poll_s`` through the work queue (PostgreSQL is the source of truth; see ``RiskBehaviour``).

The state machine itself is ``RiskBehaviour`` (module ``behaviour``); its tunables are ``RiskConfig``
(``Settings.risk``), its ports ``RiskActorDeps`` (module ``deps``); this module is the supervised host.
"""

from __future__ import annotations

from actors.host import BehaviourActor
from strategy_core.config import RiskLimits

from .behaviour import RiskBehaviour, RiskMessage
from .config import RiskConfig
from .deps import RiskActorDeps

__all__ = ["RiskActor"]


class RiskActor(BehaviourActor[RiskMessage]):
    """Supervised host of ``RiskBehaviour`` (path ``root/risk``); a restart builds a fresh behaviour."""

    def __init__(self, config: RiskConfig, limits: RiskLimits, deps: RiskActorDeps) -> None:
        super().__init__()
        self._config, self._limits, self._deps = config, limits, deps

    def build(self) -> RiskBehaviour:
        """Return a fresh behaviour; its ``start`` submits the rebuild (closed until loaded)."""
        return RiskBehaviour(self._config, self._limits, self._deps, self.clock, self.self_ref, self.log)
