"""What the RiskActor is given besides its config: the ports it works through (STYLE: config apart from deps).

* ``RiskStatePort`` — the store operations its jobs run on the trio side (``storage.RiskStateRepository``);
* ``RiskActorDeps`` — the work queue, that store, metrics, the alert sink and the market clock.

``market_clock`` is the time every *decision* reads (reservation TTL, anti-churn, ``queued_until``, denial and
trading-state timestamps, the rebuild's horizon): the simulator's exchange time in simulation mode, wall time
otherwise (``algogrid.market_clock``). ``None`` means the actor's own (supervision) clock, for single-clock
tests. Timers (rebuild retry, state poll, denial flush) always run on the supervision clock, so their load
does not scale with the simulator's speed.
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

from .metrics import RiskMetrics
from .webhooks import AlertSink

__all__ = ["RiskActorDeps", "RiskStatePort"]


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
    """The RiskActor's collaborators; its tunables are ``RiskConfig`` (``Settings.risk``)."""

    work: WorkQueue
    store: RiskStatePort
    metrics: RiskMetrics
    alerts: AlertSink | None = None
    market_clock: Clock | None = None
