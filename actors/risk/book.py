"""The RiskActor's in-memory state and its decisions, without threads or I/O (R-02..R-04, R-07).

``RiskBook`` holds the exposure (open positions plus *reservations* for approved signals whose position is not
open yet), the anti-churn book and the trading-state record, and turns a candidate into a decision through
``strategy_core.risk_rules.check_risk``. Counting reservations is what keeps every *approved set* inside the
limits: two signals approved back to back cannot together exceed them before either position opens.
A reservation ends when its position opens, or after ``reservation_ttl_s`` (the operator never took it).

While ``record`` is ``None`` the book is rebuilding and denies everything (fail closed).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from storage import TradingStateRecord
from strategy_core.config import RiskLimits
from strategy_core.exposure import ChurnBook, Exposure, OpenPosition
from strategy_core.models import Side
from strategy_core.risk_rules import RiskCandidate, RiskDecision, check_risk

__all__ = ["REBUILDING", "Decision", "RiskBook", "reason_sentence", "reservation_id"]

REBUILDING = "rebuilding"


def reservation_id(signal_id: str) -> str:
    """Return the exposure id under which an approved signal is reserved."""
    return f"signal:{signal_id}"


@dataclass(frozen=True, slots=True)
class Decision:
    """A decision with its machine reason code (``None`` when allowed)."""

    allowed: bool
    reason_code: str | None
    queued_until: dt.datetime | None = None

    @classmethod
    def of(cls, decision: RiskDecision) -> Decision:
        """Convert a ``strategy_core`` decision."""
        code = decision.reason.value if decision.reason is not None else None
        return cls(decision.allowed, code, decision.queued_until)


_REBUILDING = Decision(False, REBUILDING)
_RECONCILING = Decision(False, "reconciling")


@dataclass
class RiskBook:
    """Mutable state owned by exactly one RiskActor thread; see the module docstring."""

    limits: RiskLimits
    reservation_ttl_s: float = 900.0
    record: TradingStateRecord | None = None
    exposure: Exposure = field(default_factory=Exposure)
    churn: ChurnBook = field(default_factory=ChurnBook)
    reserved_at: dict[str, dt.datetime] = field(default_factory=dict)
    # C-01: new exposure waits for a clean reconciliation pass (set at start when the reconciler runs, and
    # again while a critical finding is open); reduce-only orders are never held.
    reconciliation_hold: bool = False

    @property
    def rebuilding(self) -> bool:
        """Return True until the persisted state is loaded."""
        return self.record is None

    def restore(
        self,
        record: TradingStateRecord,
        positions: tuple[OpenPosition, ...],
        reservations: tuple[tuple[OpenPosition, dt.datetime], ...],
        churn: ChurnBook,
    ) -> None:
        """Adopt the state rebuilt from storage (ends the rebuilding phase)."""
        self.record = record
        self.exposure = Exposure(positions=positions + tuple(p for p, _ in reservations))
        self.reserved_at = {p.position_id: at for p, at in reservations}
        self.churn = churn

    def check(self, candidate: RiskCandidate, now: dt.datetime, *, signal_id: str | None = None) -> Decision:
        """Decide one candidate at ``now`` (no side effect except pruning expired reservations).

        With ``signal_id`` of a reserved signal (its entry order, its preview) the signal's own reservation
        and anti-churn mark are not counted against it: they are this very trade.
        """
        record = self.record
        if record is None:
            return _REBUILDING
        self.expire_reservations(now)
        exposure, churn = self.without_reservation(candidate, signal_id)
        decision = Decision.of(
            check_risk(
                exposure,
                candidate,
                limits=self.limits,
                state=record.state,
                kill_switch=record.kill_switch,
                churn=churn,
                now=now,
            )
        )
        if decision.allowed and self.reconciliation_hold and not candidate.reduce_only:
            return _RECONCILING
        return decision

    def without_reservation(
        self, candidate: RiskCandidate, signal_id: str | None
    ) -> tuple[Exposure, ChurnBook]:
        """Return exposure and churn book without ``signal_id``'s own reservation (unchanged when none)."""
        if signal_id is None or reservation_id(signal_id) not in self.reserved_at:
            return self.exposure, self.churn
        return (
            self.exposure.apply_close(reservation_id(signal_id)),
            self.churn.clear(candidate.symbol, candidate.side),
        )

    def approve_signal(self, signal_id: str, position: OpenPosition, now: dt.datetime) -> None:
        """Reserve an approved signal's exposure and start its anti-churn block (R-03)."""
        key = reservation_id(signal_id)
        self.exposure = self.exposure.apply_open(position.model_copy(update={"position_id": key}))
        self.reserved_at[key] = now
        self.churn = self.churn.record(position.symbol, position.side, now)

    def open_position(self, position: OpenPosition, signal_id: str | None) -> None:
        """Count an opened position, replacing its signal's reservation."""
        exposure = self.exposure
        if signal_id is not None:
            key = reservation_id(signal_id)
            exposure = exposure.apply_close(key)
            self.reserved_at.pop(key, None)
        self.exposure = exposure.apply_open(position)

    def close_position(self, position_id: str) -> OpenPosition | None:
        """Stop counting a position; clear its churn block when configured (R-03). Return it."""
        position = self.exposure.get(position_id)
        if position is None:
            return None
        self.exposure = self.exposure.apply_close(position_id)
        if self.limits.clear_churn_on_close:
            self.churn = self.churn.clear(position.symbol, position.side)
        return position

    def release_reservation(self, signal_id: str) -> None:
        """Drop the reservation of a signal that will not be executed."""
        key = reservation_id(signal_id)
        self.exposure = self.exposure.apply_close(key)
        self.reserved_at.pop(key, None)

    def churn_entries(self, now: dt.datetime) -> tuple[tuple[str, Side, dt.datetime], ...]:
        """Return the live anti-churn blocks as (symbol, side, last entry), sorted."""
        pruned = self.churn.prune(self.limits.churn_block_s, now)
        return tuple(sorted((s, side, at) for (s, side), at in pruned.last_entry.items()))

    def expire_reservations(self, now: dt.datetime) -> None:
        """Stop counting reservations older than ``reservation_ttl_s`` at ``now``."""
        if not self.reserved_at:
            return
        horizon = dt.timedelta(seconds=self.reservation_ttl_s)
        expired = [key for key, at in self.reserved_at.items() if at + horizon <= now]
        for key in expired:
            self.exposure = self.exposure.apply_close(key)
            del self.reserved_at[key]


_SENTENCES = {
    "rebuilding": "the risk state is being rebuilt after a start; nothing is approved until it is loaded",
    "halted": "trading is HALTED; nothing is approved",
    "reducing": "trading is REDUCING; only risk-reducing orders are approved",
    "kill_switch": "the kill switch is engaged",
    "reconciling": "new exposure waits for a clean reconciliation pass (at start, or while a critical "
    "finding is open)",
    "unknown_position": "expected a reduce-only order for an open position on that symbol and side",
    "max_concurrent_positions": "the maximum number of concurrent positions is reached",
    "max_total_risk_r": "the total open risk in R would exceed its limit",
    "max_total_risk_usd": "the total open risk in USD would exceed its limit",
    "max_positions_per_base": "the per-base-asset limit on this side is reached",
    "anti_churn": "a same-side entry on this symbol was accepted less than the churn block ago",
}


def reason_sentence(code: str) -> str:
    """Return the operator-facing sentence of a reason code (the code itself when unknown)."""
    return _SENTENCES.get(code, code)
