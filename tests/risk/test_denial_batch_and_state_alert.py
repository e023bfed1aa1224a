"""Denials are written in batches (full batch at once, else one flush timer); a trading-state change names its
alert by what happened to the kill switch."""

from __future__ import annotations

import datetime as dt

import structlog

from actors.risk.alerts import AlertKind, Severity, trading_state_alert
from actors.risk.denials import DenialBatch
from actors.risk.messages import FlushDenials
from actors.timers import MessageTimers
from storage import ChangeSource, DenialRecord, TradingStateRecord
from strategy_core.risk_rules import TradingState
from supervision.clock import ManualClock

T0 = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)


class _Inbox:
    def __init__(self) -> None:
        self.told: list[object] = []

    def tell(self, message: object) -> None:
        self.told.append(message)


def _denial(n: int) -> DenialRecord:
    return DenialRecord(
        subject="signal",
        subject_id=f"s{n}",
        symbol="BTCUSDT",
        side="Buy",
        reason_code="halted",
        reason="trading is halted",
        trading_state=TradingState.HALTED,
        at=T0,
    )


def _batch(
    flush_s: float, batch_max: int
) -> tuple[ManualClock, _Inbox, list[tuple[DenialRecord, ...]], DenialBatch]:
    clock, inbox, written = ManualClock(T0), _Inbox(), []
    timers = MessageTimers(clock, inbox, structlog.get_logger(__name__))
    return (
        clock,
        inbox,
        written,
        DenialBatch(flush_s=flush_s, batch_max=batch_max, timers=timers, write=written.append),
    )


def test_the_first_denial_of_a_batch_schedules_one_flush() -> None:
    clock, inbox, written, batch = _batch(flush_s=0.05, batch_max=10)
    batch.add(_denial(1))
    batch.add(_denial(2))
    assert written == []
    clock.advance(0.05)
    assert inbox.told == [FlushDenials()]
    batch.flush()
    assert written == [(_denial(1), _denial(2))]
    batch.flush()
    assert len(written) == 1  # nothing left: no empty batch


def test_a_full_batch_or_a_zero_window_is_written_at_once() -> None:
    _, _, written, batch = _batch(flush_s=0.05, batch_max=2)
    batch.add(_denial(1))
    batch.add(_denial(2))
    assert written == [(_denial(1), _denial(2))]
    clock, _, written, batch = _batch(flush_s=0, batch_max=10)
    batch.add(_denial(3))
    assert written == [(_denial(3),)]
    assert clock.pending_timers() == 0


def _record(state: TradingState, kill_switch: bool) -> TradingStateRecord:
    return TradingStateRecord(
        state=state,
        kill_switch=kill_switch,
        reason="why",
        changed_by="ops",
        source=ChangeSource.OPERATOR,
        changed_at=T0,
    )


def test_a_trading_state_change_alert_follows_the_kill_switch() -> None:
    active, reducing = _record(TradingState.ACTIVE, False), _record(TradingState.REDUCING, False)
    halted = _record(TradingState.HALTED, True)
    engaged = trading_state_alert(halted, active)
    assert (engaged.event, engaged.severity) == (AlertKind.KILL_SWITCH_ENGAGED, Severity.CRITICAL)
    released = trading_state_alert(active, halted)
    assert (released.event, released.severity) == (AlertKind.KILL_SWITCH_RELEASED, Severity.WARNING)
    changed = trading_state_alert(reducing, active)
    assert (changed.event, changed.severity) == (AlertKind.TRADING_STATE_CHANGED, Severity.WARNING)
    assert dict(changed.details)["trading_state"] == "REDUCING"
    assert changed.at == T0
