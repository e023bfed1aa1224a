"""RiskActor (path ``root/risk``): every limit and the kill switch, decided in one place (R-02..R-07).

* Decisions are synchronous and in memory (``RiskBook``); I/O never sits on the decision path. Denials,
  trading-state changes and the rebuild go through the work queue; their results come back as messages.
* ``on_start`` submits the rebuild and the actor **denies everything until it is loaded** (fail closed), and
  keeps retrying a failed rebuild with backoff.
* Business refusals are verdict messages (``SignalDenied``/``OrderDenied``), never exceptions.
* Automatic sources only tighten the trading state; only ``SetTradingState`` (an operator) may loosen it.
* A kill switch changed by another process (the CLI) is noticed by polling the persisted state every
  ``state_poll_s`` through the work queue (PostgreSQL is the source of truth; see ``RiskBehaviour``).

The state machine itself is ``RiskBehaviour`` (module ``behaviour``); this module holds its dependencies
and the supervised wrapper.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from actors.ports import WorkQueue
from storage import DenialRecord, TradingStateRecord
from strategy_core.config import RiskLimits
from strategy_core.exposure import ChurnBook, OpenPosition
from supervision.clock import Clock

from .behaviour import RiskBehaviour
from .host import BehaviourActor
from .metrics import RiskMetrics
from .webhooks import AlertSink

__all__ = ["RiskActor", "RiskActorDeps", "RiskStatePort"]


class RiskStatePort(Protocol):
    """The store operations the RiskActor's jobs run on the trio side (``storage.RiskStateRepository``)."""

    async def load_trading_state(self, now: dt.datetime) -> TradingStateRecord:
        """Return the persisted trading state."""
        ...

    async def load_exposure(
        self, now: dt.datetime, limits: RiskLimits, reservation_ttl_s: float
    ) -> tuple[tuple[OpenPosition, ...], tuple[tuple[OpenPosition, dt.datetime], ...], ChurnBook]:
        """Return open positions, live reservations and the anti-churn book."""
        ...

    async def save_trading_state(self, record: TradingStateRecord) -> None:
        """Persist and mirror ``record``."""
        ...

    async def record_denials(self, denials: Sequence[DenialRecord]) -> None:
        """Append denials (a batch)."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskActorDeps:
    """What the RiskActor needs, given to its ``ChildSpec`` factory.

    ``market_clock`` is the time every *decision* reads (reservation TTL, anti-churn, ``queued_until``, denial
    and trading-state timestamps, the rebuild's horizon): the simulator's exchange time in simulation mode,
    wall time otherwise (``algogrid.market_clock``). ``None`` means the actor's own (supervision) clock, for
    single-clock tests. Timers (rebuild retry, state poll, denial flush) always run on the supervision clock,
    so their load does not scale with the simulator's speed.

    ``state_poll_s`` is how often the persisted trading state is re-read to notice a change made by another
    process (``None`` disables polling: single-process tests and the bench). Denials are written in batches
    at most ``denial_flush_s`` after the first one (0 writes each at once): a denial storm (HALTED) then costs
    one trio wake-up and one ``executemany`` per batch instead of one per denial.
    """

    limits: RiskLimits
    work: WorkQueue
    store: RiskStatePort
    metrics: RiskMetrics
    alerts: AlertSink | None = None
    market_clock: Clock | None = None
    reservation_ttl_s: float = 900.0
    rebuild_backoff_s: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0)
    state_poll_s: float | None = 2.0
    denial_flush_s: float = 0.05
    denial_batch_max: int = 500


class RiskActor(BehaviourActor):
    """Supervised host of ``RiskBehaviour`` (path ``root/risk``); a restart builds a fresh behaviour."""

    def __init__(self, deps: RiskActorDeps) -> None:
        super().__init__()
        self._deps = deps

    def build(self) -> RiskBehaviour:
        """Return a fresh behaviour; its ``start`` submits the rebuild (closed until loaded)."""
        return RiskBehaviour(self._deps, self.clock, self.self_ref, self.log)
