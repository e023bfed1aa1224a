"""``MessageTimers``: one live timer per message kind, told to the actor when it fires; none after close."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from actors.risk.messages import FlushDenials, PollTradingState
from actors.timers import MessageTimers
from supervision.clock import ManualClock


@dataclass
class _Inbox:
    told: list[object]
    refuse: bool = False

    def tell(self, message: object) -> None:
        if self.refuse:
            raise RuntimeError("expected a live actor, got a dead one")
        self.told.append(message)


def _rig() -> tuple[ManualClock, _Inbox, MessageTimers]:
    clock, inbox = ManualClock(), _Inbox([])
    return clock, inbox, MessageTimers(clock, inbox, structlog.get_logger(__name__))


def test_a_timer_tells_its_message_when_it_fires() -> None:
    clock, inbox, timers = _rig()
    timers.tell_later(2.0, PollTradingState())
    clock.advance(1.9)
    assert inbox.told == []
    clock.advance(0.1)
    assert inbox.told == [PollTradingState()]


def test_scheduling_a_kind_again_replaces_the_pending_timer() -> None:
    clock, inbox, timers = _rig()
    timers.tell_later(1.0, PollTradingState())
    timers.tell_later(5.0, PollTradingState())
    timers.tell_later(1.0, FlushDenials())
    assert clock.pending_timers() == 2
    clock.advance(5.0)
    assert inbox.told == [FlushDenials(), PollTradingState()]


def test_close_cancels_every_timer_and_refuses_new_ones() -> None:
    clock, inbox, timers = _rig()
    timers.tell_later(1.0, PollTradingState())
    timers.close()
    timers.tell_later(1.0, FlushDenials())
    clock.advance(10.0)
    assert inbox.told == []
    assert clock.pending_timers() == 0


def test_a_dead_actor_does_not_break_the_timer_thread() -> None:
    clock, inbox, timers = _rig()
    inbox.refuse = True
    timers.tell_later(1.0, PollTradingState())
    clock.advance(1.0)  # would raise out of the clock if the callback let the error escape
    assert inbox.told == []
