"""RiskActor (path ``root/risk``): every limit and the kill switch, decided in one place (R-02..R-07).

* Decisions are synchronous and in memory (``RiskBook``); I/O never sits on the decision path. Denials,
  trading-state changes and the rebuild go through the work queue; their results come back as messages.
* ``on_start`` submits the rebuild and the actor **denies everything until it is loaded** (fail closed), and
  keeps retrying a failed rebuild with backoff.
* Business refusals are verdict messages (``SignalDenied``/``OrderDenied``), never exceptions.
* Automatic sources only tighten the trading state; only ``SetTradingState`` (an operator) may loosen it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from actors.errors import WorkRejectedError
from actors.messages import CheckSignal, MessageSink, SignalAllowed, SignalDenied, SignalQueued
from actors.ports import WorkQueue
from strategy_core.config import RiskLimits
from strategy_core.exposure import ChurnBook, OpenPosition
from strategy_core.risk_rules import RiskCandidate, TradingState
from supervision.actor import SupervisedActor
from supervision.clock import Clock

from .alerts import Alert, AlertKind, Severity
from .book import RiskBook
from .messages import (
    CheckOrder,
    CriticalDiscrepancy,
    GetRiskSnapshot,
    KillConditionTriggered,
    OrderAllowed,
    OrderDenied,
    PositionClosed,
    PositionOpened,
    ReleaseReservation,
    RiskSnapshot,
    RiskStateLoaded,
    RiskStateLoadFailed,
    SetTradingState,
    StoreFailed,
    StorePersisted,
    TradingStateChanged,
    TradingStateUnchanged,
)
from .metrics import RiskMetrics
from .state import ChangeSource, TradingStateRecord
from .store import DenialRecord
from .webhooks import AlertSink

__all__ = ["RetryRebuild", "RiskActor", "RiskActorDeps", "RiskStatePort"]


class RiskStatePort(Protocol):
    """The store operations the RiskActor's jobs run on the trio side (``RiskStore`` satisfies it)."""

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

    async def record_denial(self, denial: DenialRecord) -> None:
        """Append one denial."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskActorDeps:
    """What the RiskActor needs, given to its ``ChildSpec`` factory."""

    limits: RiskLimits
    work: WorkQueue
    store: RiskStatePort
    metrics: RiskMetrics
    alerts: AlertSink | None = None
    reservation_ttl_s: float = 900.0
    rebuild_backoff_s: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0)


@dataclass(frozen=True, slots=True)
class RetryRebuild:
    """Internal command: submit the rebuild again (after a failure and its backoff)."""

    attempt: int


class RiskActor(SupervisedActor):
    """Supervised wrapper of ``RiskBehaviour`` (path ``root/risk``); a restart builds a fresh behaviour."""

    def __init__(self, deps: RiskActorDeps) -> None:
        super().__init__()
        self._deps = deps
        self._behaviour: RiskBehaviour | None = None

    def on_start(self) -> None:
        """Build a fresh behaviour and start its rebuild (closed until loaded)."""
        self._behaviour = RiskBehaviour(self._deps, self.clock, self.self_ref, self.log)
        self._behaviour.start()

    def handle(self, message: Any) -> Any:
        """Delegate to the behaviour."""
        if self._behaviour is None:
            raise RuntimeError("expected on_start to have built the behaviour, got none")
        return self._behaviour.handle(message)


class RiskBehaviour:
    """The RiskActor's state machine, free of pykka so tests can drive it message by message."""

    def __init__(self, deps: RiskActorDeps, clock: Clock, self_ref: MessageSink, log: Any) -> None:
        self._deps = deps
        self.clock = clock
        self.self_ref = self_ref
        self.log = log
        self._book = RiskBook(limits=deps.limits, reservation_ttl_s=deps.reservation_ttl_s)
        self._pending_record: TradingStateRecord | None = None

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start closed and ask the trio side for the persisted state (R-07)."""
        self._deps.metrics.show_state("REBUILDING", kill_switch=True)
        self._submit_rebuild(1)

    def _submit_rebuild(self, attempt: int) -> None:
        store, limits, ttl = self._deps.store, self._deps.limits, self._deps.reservation_ttl_s
        now = self.clock.now()

        async def rebuild() -> RiskStateLoaded:
            record = await store.load_trading_state(now)
            positions, reservations, churn = await store.load_exposure(now, limits, ttl)
            return RiskStateLoaded(record=record, positions=positions, reservations=reservations, churn=churn)

        def failed(exc: Exception) -> RiskStateLoadFailed:
            return RiskStateLoadFailed(error=repr(exc), attempt=attempt)

        try:
            self._deps.work.submit(rebuild, self.self_ref, failed)
        except WorkRejectedError as exc:
            self.handle(failed(exc))

    # -- messages --------------------------------------------------------------------------------------

    def handle(self, message: Any) -> Any:  # noqa: PLR0911 (one branch per message type)
        """Dispatch one message; asks get the verdict or reply as their value."""
        if isinstance(message, CheckSignal):
            return self._check_signal(message)
        if isinstance(message, CheckOrder):
            return self._check_order(message)
        if isinstance(message, PositionOpened):
            self._book.open_position(message.position, message.signal_id)
            return None
        if isinstance(message, PositionClosed):
            self._book.close_position(message.position_id)
            return None
        if isinstance(message, ReleaseReservation):
            self._book.release_reservation(message.signal_id)
            return None
        if isinstance(message, SetTradingState):
            return self._set_state(
                message.state, message.kill_switch, message.reason, message.changed_by, ChangeSource.OPERATOR
            )
        if isinstance(message, CriticalDiscrepancy):
            where = f" on {message.symbol}" if message.symbol else ""
            reason = f"critical reconciliation finding {message.kind}{where}: {message.details}"
            return self._engage(reason, "reconciler", ChangeSource.RECONCILIATION)
        if isinstance(message, KillConditionTriggered):
            return self._engage(message.reason, f"monitor:{message.condition}", ChangeSource.KILL_CONDITION)
        if isinstance(message, GetRiskSnapshot):
            return self._snapshot()
        return self._handle_reply(message)

    def _handle_reply(self, message: Any) -> Any:
        if isinstance(message, RiskStateLoaded):
            self._restore(message)
        elif isinstance(message, RiskStateLoadFailed):
            self.log.warning("risk rebuild failed", error=message.error, attempt=message.attempt)
            backoff = self._deps.rebuild_backoff_s
            delay = backoff[min(message.attempt, len(backoff)) - 1]
            ref, attempt = self.self_ref, message.attempt + 1
            self.clock.call_later(delay, lambda: ref.tell(RetryRebuild(attempt)))
        elif isinstance(message, RetryRebuild):
            if self._book.rebuilding:
                self._submit_rebuild(message.attempt)
        elif isinstance(message, StoreFailed):
            self.log.error("risk store write failed", what=message.what, error=message.error)
            if message.what == "trading_state" and self._pending_record is not None:
                self._persist(self._pending_record)
        elif isinstance(message, StorePersisted):
            if message.what == "trading_state":
                self._pending_record = None
        else:
            self.log.warning("risk actor ignored message", kind=type(message).__name__)
        return None

    # -- decisions ---------------------------------------------------------------------------------------

    def _check_signal(self, message: CheckSignal) -> object:
        signal, now = message.signal, self.clock.now()
        candidate = RiskCandidate(
            symbol=signal.symbol, side=signal.side, risk_usd=signal.risk_usd, risk_r=signal.risk_r
        )
        decision = self._book.check(candidate, now)
        signal_id = signal.id
        verdict: object
        if decision.allowed:
            self._book.approve_signal(
                str(signal_id),
                OpenPosition(
                    position_id=str(signal_id),
                    symbol=signal.symbol,
                    side=signal.side,
                    qty=signal.qty,
                    entry=signal.entry,
                    risk_usd=signal.risk_usd,
                    risk_r=signal.risk_r,
                ),
                now,
            )
            verdict = SignalAllowed(signal_id=signal_id)
            self._count("signal", "allowed", "none")
        elif decision.queued_until is not None:
            verdict = SignalQueued(signal_id=signal_id, queued_until=decision.queued_until)
            self._count("signal", "queued", decision.reason_code or "anti_churn")
        else:
            code = decision.reason_code or "denied"
            verdict = SignalDenied(signal_id=signal_id, reason=code)
            self._count("signal", "denied", code)
            self._record_denial(
                "signal", str(signal_id), signal.symbol, signal.side.value, code=code, now=now
            )
        message.reply_to.tell(verdict)
        return verdict

    def _check_order(self, message: CheckOrder) -> object:
        now = self.clock.now()
        candidate = RiskCandidate(
            symbol=message.symbol,
            side=message.side,
            risk_usd=message.risk_usd,
            risk_r=message.risk_r,
            reduces_position_id=message.reduces_position_id,
        )
        decision = self._book.check(candidate, now)
        verdict: object
        if decision.allowed:
            verdict = OrderAllowed(order_id=message.order_id)
            self._count("order", "allowed", "none")
        else:
            code = decision.reason_code or "denied"
            verdict = OrderDenied(order_id=message.order_id, reason_code=code, reason=_sentence(code))
            self._count("order", "denied", code)
            self._record_denial(
                "order", message.order_id, message.symbol, message.side.value, code=code, now=now
            )
        if message.reply_to is not None:
            message.reply_to.tell(verdict)
        return verdict

    def _count(self, subject: str, outcome: str, reason: str) -> None:
        self._deps.metrics.decisions.labels(subject=subject, outcome=outcome, reason=reason).inc()

    def _record_denial(
        self, subject: str, subject_id: str, symbol: str, side: str, *, code: str, now: dt.datetime
    ) -> None:
        record = self._book.record
        denial = DenialRecord(
            subject=subject,
            subject_id=subject_id,
            symbol=symbol,
            side=side,
            reason_code=code,
            reason=_sentence(code),
            trading_state=record.state if record is not None else TradingState.HALTED,
            at=now,
        )
        store = self._deps.store

        async def write() -> StorePersisted:
            await store.record_denial(denial)
            return StorePersisted(what="denial")

        self._submit(write, "denial")

    # -- trading state -----------------------------------------------------------------------------------

    def _engage(self, reason: str, by: str, source: ChangeSource) -> object:
        self._deps.metrics.kill_switch_engagements.labels(source=source.value).inc()
        return self._set_state(TradingState.HALTED, True, reason, by, source)

    def _set_state(
        self, state: TradingState, kill_switch: bool, reason: str, by: str, source: ChangeSource
    ) -> object:
        current = self._book.record
        now = self.clock.now()
        if current is None:
            # Still rebuilding: the change is kept pending and wins over the loaded state (see _restore).
            current = self._pending_record or TradingStateRecord.initial(now)
        halted = current.kill_switch and current.state is TradingState.HALTED
        if source is not ChangeSource.OPERATOR and halted:
            return TradingStateUnchanged(record=current, why="the kill switch is already engaged")
        if kill_switch and state is TradingState.ACTIVE:
            state = TradingState.HALTED
        record = TradingStateRecord(
            state=state, kill_switch=kill_switch, reason=reason, changed_by=by, source=source, changed_at=now
        )
        if self._book.record is not None:
            self._book.record = record
        self._persist(record)
        self._deps.metrics.show_state(record.state.name, kill_switch=record.kill_switch)
        self.log.warning(
            "trading state changed",
            state=record.state.name,
            kill_switch=record.kill_switch,
            by=by,
            reason=reason,
        )
        self._alert(record, current)
        return TradingStateChanged(record=record, previous=current.state)

    def _persist(self, record: TradingStateRecord) -> None:
        self._pending_record = record
        store = self._deps.store

        async def write() -> StorePersisted:
            await store.save_trading_state(record)
            return StorePersisted(what="trading_state")

        self._submit(write, "trading_state")

    def _alert(self, record: TradingStateRecord, previous: TradingStateRecord) -> None:
        if self._deps.alerts is None:
            return
        if record.kill_switch and not previous.kill_switch:
            kind, severity = AlertKind.KILL_SWITCH_ENGAGED, Severity.CRITICAL
        elif previous.kill_switch and not record.kill_switch:
            kind, severity = AlertKind.KILL_SWITCH_RELEASED, Severity.WARNING
        else:
            kind, severity = AlertKind.TRADING_STATE_CHANGED, Severity.WARNING
        self._deps.metrics.alerts.labels(event=kind.value, severity=severity.value).inc()
        self._deps.alerts.submit(
            Alert(
                event=kind,
                severity=severity,
                at=record.changed_at,
                details=(
                    ("trading_state", record.state.name),
                    ("reason", record.reason),
                    ("changed_by", record.changed_by),
                    ("source", record.source.value),
                ),
            )
        )

    def _restore(self, loaded: RiskStateLoaded) -> None:
        record = loaded.record
        pending = self._pending_record
        if pending is not None:
            record = pending  # a change made during the rebuild is newer (its write is queued after the load)
        self._book.restore(record, loaded.positions, loaded.reservations, loaded.churn)
        self._deps.metrics.show_state(record.state.name, kill_switch=record.kill_switch)
        self.log.info(
            "risk state rebuilt",
            state=record.state.name,
            kill_switch=record.kill_switch,
            positions=len(loaded.positions),
            reservations=len(loaded.reservations),
        )

    def _submit(self, job: Any, what: str) -> None:
        def failed(exc: Exception) -> StoreFailed:
            return StoreFailed(what=what, error=repr(exc))

        try:
            self._deps.work.submit(job, self.self_ref, failed)
        except WorkRejectedError as exc:
            self.log.error("risk work rejected", what=what, error=str(exc))  # noqa: TRY400 (expected, no trace)

    def _snapshot(self) -> RiskSnapshot:
        now = self.clock.now()
        book = self._book
        return RiskSnapshot(
            rebuilding=book.rebuilding,
            record=book.record,
            positions=tuple(sorted(book.exposure.positions, key=lambda p: p.position_id)),
            churn=tuple((s, side.value, at) for s, side, at in book.churn_entries(now)),
        )


_SENTENCES = {
    "rebuilding": "the risk state is being rebuilt after a start; nothing is approved until it is loaded",
    "halted": "trading is HALTED; nothing is approved",
    "reducing": "trading is REDUCING; only risk-reducing orders are approved",
    "kill_switch": "the kill switch is engaged",
    "unknown_position": "expected a reduce-only order for an open position on that symbol and side",
    "max_concurrent_positions": "the maximum number of concurrent positions is reached",
    "max_total_risk_r": "the total open risk in R would exceed its limit",
    "max_total_risk_usd": "the total open risk in USD would exceed its limit",
    "max_positions_per_base": "the per-base-asset limit on this side is reached",
    "anti_churn": "a same-side entry on this symbol was accepted less than the churn block ago",
}


def _sentence(code: str) -> str:
    return _SENTENCES.get(code, code)
