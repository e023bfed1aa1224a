"""``RiskBehaviour``: the RiskActor's state machine, free of pykka so tests can drive it message by message.

See ``actors.risk.actor`` for the rules. ``handle`` dispatches with one ``match`` over ``RiskMessage``, in
fixed sections: commands (pre-checks, exposure events, trading-state commands, the snapshot ask), replies from
the trio side, timers; an unknown message is a ``TypeError``.

Two clocks: ``market`` (``deps.market_clock``, else ``clock``) is
read by every decision and timestamp (R-02, R-03: reservation TTL, anti-churn, ``queued_until``, denials,
trading state); ``clock`` (the tree's wall clock) runs the timers (rebuild retry, state poll, denial flush),
which come back as messages to ``self_ref``; ``stop()`` cancels them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from actors.errors import WorkRejectedError
from actors.host import unexpected
from actors.messages import CheckSignal, MessageSink, RiskVerdict, SignalAllowed, SignalDenied, SignalQueued
from actors.ports import Job
from actors.timers import MessageTimers
from storage import ChangeSource, DenialRecord, TradingStateRecord
from strategy_core.config import RiskLimits
from strategy_core.execution import SizingRefusal, size_entry
from strategy_core.exposure import OpenPosition, base_asset
from strategy_core.risk_rules import RiskCandidate, TradingState
from supervision.clock import Clock

from .alerts import trading_state_alert
from .book import RiskBook, reason_sentence
from .config import RiskConfig
from .denials import DenialBatch
from .deps import RiskActorDeps
from .messages import (
    CheckOrder,
    CriticalDiscrepancy,
    FlushDenials,
    GetRiskSnapshot,
    KillConditionTriggered,
    OrderAllowed,
    OrderDenied,
    OrderVerdict,
    PollTradingState,
    PositionClosed,
    PositionOpened,
    PreviewTrade,
    ReconciliationVerdict,
    ReleaseReservation,
    RetryPersist,
    RetryRebuild,
    RiskSnapshot,
    RiskStateLoaded,
    RiskStateLoadFailed,
    SetTradingState,
    StoreFailed,
    StorePersisted,
    TradePreview,
    TradingStateChanged,
    TradingStateObserved,
    TradingStateReply,
    TradingStateUnchanged,
    UpdateRiskLimits,
)
from .state import is_tightening

__all__ = ["RiskBehaviour", "RiskMessage"]

RiskMessage = (
    CheckSignal
    | CheckOrder
    | PreviewTrade
    | PositionOpened
    | PositionClosed
    | ReleaseReservation
    | SetTradingState
    | CriticalDiscrepancy
    | ReconciliationVerdict
    | KillConditionTriggered
    | GetRiskSnapshot
    | UpdateRiskLimits
    | RiskStateLoaded
    | RiskStateLoadFailed
    | TradingStateObserved
    | StoreFailed
    | StorePersisted
    | RetryRebuild
    | RetryPersist
    | FlushDenials
    | PollTradingState
)
"""Every message the RiskActor handles: commands, replies from the trio side, its own timers."""

RiskReply = RiskVerdict | OrderVerdict | TradePreview | TradingStateReply | RiskSnapshot | RiskLimits
"""What ``RiskBehaviour.handle`` returns for the messages that answer (an ask's reply)."""


class RiskBehaviour:
    """The RiskActor's state machine (see the module docstring)."""

    def __init__(  # noqa: PLR0917 - config, limits, ports and the host's clock, ref and log
        self,
        config: RiskConfig,
        limits: RiskLimits,
        deps: RiskActorDeps,
        clock: Clock,
        self_ref: MessageSink,
        log: Any,
    ) -> None:
        self._config = config
        self._limits = limits
        self._deps = deps
        self.clock = clock
        self.market: Clock = deps.market_clock or clock
        self.self_ref = self_ref
        self.log = log
        self._book = RiskBook(
            limits=limits,
            reservation_ttl_s=config.reservation_ttl_s,
            reconciliation_hold=config.await_reconciliation,
        )
        self._pending_record: TradingStateRecord | None = None  # written, not yet confirmed (retried)
        # The newest change made while rebuilding: it wins over the loaded state, whichever reply lands first.
        self._changed_while_rebuilding: TradingStateRecord | None = None
        self._writes = 0  # trading-state writes submitted by this incarnation (guards stale poll results)
        self._polling = False
        self._timers = MessageTimers(clock, self_ref, log)  # internal messages, one live timer per kind
        self._denials = DenialBatch(
            flush_s=config.denial_flush_s,
            batch_max=config.denial_batch_max,
            timers=self._timers,
            write=self._write,
        )

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start closed, ask the trio side for the persisted state (R-07) and start polling it."""
        self._deps.metrics.show_state("REBUILDING", kill_switch=True)
        self._submit_rebuild(1)
        if self._config.state_poll_s is not None:
            self._timers.tell_later(self._config.state_poll_s, PollTradingState())

    def stop(self) -> None:
        """Hand buffered denials to the work queue and cancel every pending timer (the incarnation ends)."""
        self._denials.flush()
        self._timers.close()

    def _submit_rebuild(self, attempt: int) -> None:
        store, limits, ttl = self._deps.store, self._limits, self._config.reservation_ttl_s
        now = self.market.now()

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

    def handle(self, message: RiskMessage) -> RiskReply | None:  # noqa: PLR0911, PLR0912 (a case per message type)
        """Dispatch one message; asks get the verdict or reply as their value.

        Raises:
            TypeError: ``message`` is not a ``RiskMessage``.
        """
        match message:
            # -- commands: pre-checks (signal and order side)
            case CheckSignal():
                return self._check_signal(message)
            case CheckOrder():
                return self._check_order(message)
            case PreviewTrade():
                return self._preview(message)
            # -- commands: exposure events (position side)
            case PositionOpened():
                self._book.open_position(message.position, message.signal_id)
            case PositionClosed():
                self._book.close_position(message.position_id)
            case ReleaseReservation():
                self._book.release_reservation(message.signal_id)
            # -- commands: trading state (operator, reconciler, monitor) and the snapshot ask
            case SetTradingState():
                return self._set_state(
                    message.state,
                    message.kill_switch,
                    message.reason,
                    message.changed_by,
                    ChangeSource.OPERATOR,
                )
            case CriticalDiscrepancy():
                where = f" on {message.symbol}" if message.symbol else ""
                reason = f"critical reconciliation finding {message.kind}{where}: {message.details}"
                return self._engage(reason, "reconciler", ChangeSource.RECONCILIATION, message.state)
            case ReconciliationVerdict():
                self._reconciled(message)
            case KillConditionTriggered():
                by = f"monitor:{message.condition}"
                return self._engage(message.reason, by, ChangeSource.KILL_CONDITION)
            case GetRiskSnapshot():
                return self._snapshot()
            case UpdateRiskLimits():
                self._limits = message.limits
                self._book.limits = message.limits
                self.log.info("risk limits reloaded", limits=repr(message.limits))
                return message.limits
            # -- replies (work queue → risk)
            case RiskStateLoaded():
                if self._book.rebuilding:  # a second load (e.g. a stray retry) must not wipe newer state
                    self._restore(message)
            case RiskStateLoadFailed():
                self.log.warning("risk rebuild failed", error=message.error, attempt=message.attempt)
                self._timers.tell_later(self._backoff(message.attempt), RetryRebuild(message.attempt + 1))
            case TradingStateObserved():
                self._observe(message)
            case StoreFailed():
                self._on_store_failed(message)
            case StorePersisted():
                if message.what == "trading_state":
                    self._pending_record = None
            # -- timers (told by this incarnation's MessageTimers)
            case RetryRebuild():
                if self._book.rebuilding:
                    self._submit_rebuild(message.attempt)
            case RetryPersist():
                if self._pending_record is not None:
                    self._persist(self._pending_record)
            case FlushDenials():
                self._denials.flush()
            case PollTradingState():
                self._poll()
            case _:
                raise unexpected("RiskBehaviour", message)
        return None

    def _on_store_failed(self, message: StoreFailed) -> None:
        self.log.error("risk store job failed", what=message.what, error=message.error)
        if message.what == "poll":
            self._polling = False
        elif message.what == "trading_state" and self._pending_record is not None:
            self._timers.tell_later(self._backoff(1), RetryPersist())

    def _backoff(self, attempt: int) -> float:
        backoff = self._config.rebuild_backoff_s
        return backoff[min(attempt, len(backoff)) - 1]

    # -- decisions ---------------------------------------------------------------------------------------

    def _check_signal(self, message: CheckSignal) -> RiskVerdict:
        signal, now = message.signal, self.market.now()
        candidate = RiskCandidate(
            symbol=signal.symbol, side=signal.side, risk_usd=signal.risk_usd, risk_r=signal.risk_r
        )
        decision = self._book.check(candidate, now)
        signal_id = signal.id
        verdict: RiskVerdict
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

    def _check_order(self, message: CheckOrder) -> OrderVerdict:
        now = self.market.now()
        candidate = RiskCandidate(
            symbol=message.symbol,
            side=message.side,
            risk_usd=message.risk_usd,
            risk_r=message.risk_r,
            reduces_position_id=message.reduces_position_id,
        )
        decision = self._book.check(candidate, now, signal_id=message.signal_id)
        verdict: OrderVerdict
        if decision.allowed:
            verdict = OrderAllowed(order_id=message.order_id)
            self._count("order", "allowed", "none")
        else:
            code = decision.reason_code or "denied"
            verdict = OrderDenied(order_id=message.order_id, reason_code=code, reason=reason_sentence(code))
            self._count("order", "denied", code)
            self._record_denial(
                "order", message.order_id, message.symbol, message.side.value, code=code, now=now
            )
        if message.reply_to is not None:
            message.reply_to.tell(verdict)
        return verdict

    def _preview(self, message: PreviewTrade) -> TradePreview:
        """Size the trade and ask the book, reserving nothing (the book only prunes expired reservations)."""
        now, r_unit = self.market.now(), self._config.risk_per_trade_usd
        sizing = size_entry(
            message.side, message.entry, message.sl, r_unit, message.instrument, message.min_notional_usd
        )
        if isinstance(sizing, SizingRefusal):
            qty, price = Decimal(0), message.entry
            risk_usd, risk_r = Decimal(0), Decimal(0)
        else:
            qty, price, risk_usd, risk_r = sizing.qty, sizing.price, sizing.risk_usd, sizing.risk_r
        candidate = RiskCandidate(symbol=message.symbol, side=message.side, risk_usd=risk_usd, risk_r=risk_r)
        decision = self._book.check(candidate, now, signal_id=message.signal_id)
        exposure, _ = self._book.without_reservation(candidate, message.signal_id)
        notional = qty * price
        if isinstance(sizing, SizingRefusal):
            code: str | None = sizing.reason_code
            reason: str | None = sizing.message
        elif decision.allowed:
            code, reason = None, None
        else:
            code = decision.reason_code or "denied"
            reason = reason_sentence(code)
        return TradePreview(
            symbol=message.symbol,
            side=message.side,
            qty=qty,
            price=price,
            notional_usd=notional,
            fee_estimate_usd=notional * message.taker_fee_rate * 2,
            risk_usd=risk_usd,
            risk_r=risk_r,
            total_risk_usd_after=exposure.total_risk_usd + risk_usd,
            total_risk_r_after=exposure.total_risk_r + risk_r,
            positions_after=exposure.count + 1,
            base_usage_after=exposure.count_on_side(base_asset(message.symbol), message.side) + 1,
            base_limit=self._limits.max_positions_per_base,
            verdict="allowed" if code is None else "denied",
            reason_code=code,
            reason=reason,
        )

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
            reason=reason_sentence(code),
            trading_state=record.state if record is not None else TradingState.HALTED,
            at=now,
        )
        self._denials.add(denial)

    def _write(self, batch: tuple[DenialRecord, ...]) -> None:
        store = self._deps.store

        async def write() -> StorePersisted:
            await store.record_denials(batch)
            return StorePersisted(what="denials")

        self._submit(write, "denials")

    # -- trading state -----------------------------------------------------------------------------------

    def _engage(
        self, reason: str, by: str, source: ChangeSource, state: TradingState = TradingState.HALTED
    ) -> TradingStateReply:
        self._deps.metrics.kill_switch_engagements.labels(source=source.value).inc()
        return self._set_state(state, True, reason, by, source)

    def _reconciled(self, verdict: ReconciliationVerdict) -> None:
        """Hold or release new exposure after a reconciliation pass (C-01); only a change is logged."""
        hold = not verdict.clean
        if hold != self._book.reconciliation_hold:
            self.log.warning("reconciliation hold changed", hold=hold, reason=verdict.reason)
        self._book.reconciliation_hold = hold

    def _set_state(
        self, state: TradingState, kill_switch: bool, reason: str, by: str, source: ChangeSource
    ) -> TradingStateReply:
        current = self._book.record
        now = self.market.now()
        if current is None:
            # Still rebuilding: the change wins over the loaded state (see _restore).
            current = self._changed_while_rebuilding or TradingStateRecord.initial(now)
        automatic = source is not ChangeSource.OPERATOR
        if automatic and current.kill_switch and not is_tightening(current.state, state):
            return TradingStateUnchanged(record=current, why="the kill switch is already engaged")
        if automatic and is_tightening(state, current.state):
            state = current.state  # an automatic source only tightens (a HALTED state stays HALTED)
        if kill_switch and state is TradingState.ACTIVE:
            state = TradingState.HALTED
        record = TradingStateRecord(
            state=state, kill_switch=kill_switch, reason=reason, changed_by=by, source=source, changed_at=now
        )
        if self._book.record is not None:
            self._book.record = record
        else:
            self._changed_while_rebuilding = record
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
        self._writes += 1
        store = self._deps.store

        async def write() -> StorePersisted:
            await store.save_trading_state(record)
            return StorePersisted(what="trading_state")

        self._submit(write, "trading_state")

    def _alert(self, record: TradingStateRecord, previous: TradingStateRecord) -> None:
        if self._deps.alerts is None:
            return
        alert = trading_state_alert(record, previous)
        self._deps.metrics.alerts.labels(event=alert.event.value, severity=alert.severity.value).inc()
        self._deps.alerts.submit(alert)

    # -- changes made by other processes (the CLI) ------------------------------------------------------

    def _poll(self) -> None:
        poll_s = self._config.state_poll_s
        if poll_s is not None:
            self._timers.tell_later(poll_s, PollTradingState())
        if self._polling or self._book.rebuilding or self._pending_record is not None:
            return
        store, generation, now = self._deps.store, self._writes, self.market.now()

        async def read() -> TradingStateObserved:
            return TradingStateObserved(record=await store.load_trading_state(now), generation=generation)

        self._polling = True
        self._submit(read, "poll")

    def _observe(self, observed: TradingStateObserved) -> None:
        self._polling = False
        current = self._book.record
        if current is None or self._pending_record is not None or observed.generation != self._writes:
            return  # our own write is newer than what the poll read
        record = observed.record
        if record == current:
            return
        self._book.record = record
        self._deps.metrics.show_state(record.state.name, kill_switch=record.kill_switch)
        if record.kill_switch and not current.kill_switch:
            self._deps.metrics.kill_switch_engagements.labels(source=record.source.value).inc()
        self.log.warning(
            "trading state changed elsewhere",
            state=record.state.name,
            kill_switch=record.kill_switch,
            by=record.changed_by,
            reason=record.reason,
        )
        self._alert(record, current)

    def _restore(self, loaded: RiskStateLoaded) -> None:
        # A change made during the rebuild is newer than the load, even when its write was confirmed (and
        # ``_pending_record`` cleared) before the load's reply arrived: the jobs run concurrently.
        record = self._changed_while_rebuilding or loaded.record
        self._changed_while_rebuilding = None
        self._book.restore(record, loaded.positions, loaded.reservations, loaded.churn)
        self._deps.metrics.show_state(record.state.name, kill_switch=record.kill_switch)
        self.log.info(
            "risk state rebuilt",
            state=record.state.name,
            kill_switch=record.kill_switch,
            positions=len(loaded.positions),
            reservations=len(loaded.reservations),
        )

    def _submit(self, job: Job, what: str) -> None:
        def failed(exc: Exception) -> StoreFailed:
            return StoreFailed(what=what, error=repr(exc))

        try:
            self._deps.work.submit(job, self.self_ref, failed)
        except WorkRejectedError as exc:
            self.log.error("risk work rejected", what=what, error=str(exc))  # noqa: TRY400 (expected, no trace)

    def _snapshot(self) -> RiskSnapshot:
        now = self.market.now()
        book = self._book
        book.expire_reservations(now)
        return RiskSnapshot(
            rebuilding=book.rebuilding,
            record=book.record,
            positions=tuple(sorted(book.exposure.positions, key=lambda p: p.position_id)),
            churn=tuple((s, side.value, at) for s, side, at in book.churn_entries(now)),
            reconciliation_hold=book.reconciliation_hold,
        )
