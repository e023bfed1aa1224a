"""The RiskActor's behaviour message by message, with its jobs run against real PostgreSQL and Redis."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from actors import CheckSignal, SignalAllowed, SignalDenied, SignalQueued
from actors.risk import (
    CheckOrder,
    CriticalDiscrepancy,
    KillConditionTriggered,
    OrderAllowed,
    OrderDenied,
    PollTradingState,
    PositionOpened,
    ReconciliationVerdict,
    RiskActorDeps,
    RiskBehaviour,
    RiskConfig,
    RiskMetrics,
    SetTradingState,
    TradingState,
    TradingStateChanged,
    TradingStateUnchanged,
    reason_sentence,
)
from storage import Storage
from strategy_core.config import RiskLimits
from strategy_core.exposure import OpenPosition
from strategy_core.models import Side
from strategy_core.signal import Signal
from supervision.clock import ManualClock
from tests.risk.risk_kit import T0, make_signal, open_risk_storage


class Inbox:
    """Stands for the actor's own address and for a signal actor's ``reply_to``: collects told messages."""

    def __init__(self) -> None:
        self.messages: list[object] = []

    def tell(self, message: object) -> None:
        self.messages.append(message)


class Jobs:
    """A ``WorkQueue`` the test drains explicitly: each job runs on this trio run against real storage."""

    def __init__(self) -> None:
        self.queued: list[tuple[Any, Any, Any]] = []

    def submit(self, job: Any, reply_to: Any, on_error: Any) -> None:
        self.queued.append((job, reply_to, on_error))

    async def drain(self, behaviour: RiskBehaviour, inbox: Inbox) -> None:
        while self.queued:
            job, reply_to, on_error = self.queued.pop(0)
            try:
                reply = await job()
            except Exception as exc:
                reply = on_error(exc)
            reply_to.tell(reply)
            while inbox.messages:
                behaviour.handle(inbox.messages.pop(0))


signal = make_signal


class Harness:
    def __init__(
        self,
        storage: Storage,
        limits: RiskLimits,
        clock: ManualClock,
        state_poll_s: float | None = None,
        *,
        await_reconciliation: bool = False,
    ) -> None:
        self.jobs = Jobs()
        self.inbox = Inbox()
        self.registry = CollectorRegistry()
        deps = RiskActorDeps(
            work=self.jobs,
            store=storage.risk_state,
            metrics=RiskMetrics(self.registry),
        )
        config = RiskConfig(
            state_poll_s=state_poll_s, denial_flush_s=0, await_reconciliation=await_reconciliation
        )
        self.behaviour = RiskBehaviour(config, limits, deps, clock, self.inbox, structlog.get_logger("test"))

    async def start(self) -> None:
        self.behaviour.start()
        await self.settle()

    async def settle(self) -> None:
        await self.jobs.drain(self.behaviour, self.inbox)

    def check(self, s: Signal) -> object:
        replies = Inbox()
        verdict = self.behaviour.handle(CheckSignal(signal=s, reply_to=replies))
        assert replies.messages == [verdict]
        return verdict


LIMITS = RiskLimits(max_concurrent_positions=2, max_positions_per_base=2)


async def test_nothing_is_approved_until_the_state_is_rebuilt(risk_db_url: str, redis_clean_url: str) -> None:
    async with open_risk_storage(risk_db_url, redis_clean_url) as storage:
        h = Harness(storage, LIMITS, ManualClock(T0))
        h.behaviour.start()
        early = h.check(signal())
        assert isinstance(early, SignalDenied)
        assert early.reason == "rebuilding"
        await h.settle()
        assert isinstance(h.check(signal()), SignalAllowed)


async def test_approved_signals_count_until_their_positions_open(
    risk_db_url: str, redis_clean_url: str
) -> None:
    async with open_risk_storage(risk_db_url, redis_clean_url) as storage:
        h = Harness(storage, LIMITS, ManualClock(T0))
        await h.start()
        first, second = signal("BTCUSDT"), signal("ETHUSDT")
        assert isinstance(h.check(first), SignalAllowed)
        assert isinstance(h.check(second), SignalAllowed)
        third = h.check(signal("SOLUSDT"))
        assert isinstance(third, SignalDenied)
        assert third.reason == "max_concurrent_positions"
        # the position of the first signal replaces its reservation: still two, still full
        h.behaviour.handle(
            PositionOpened(
                position=OpenPosition(
                    position_id="p1",
                    symbol="BTCUSDT",
                    side=Side.LONG,
                    qty=Decimal(25),
                    entry=Decimal(100),
                    risk_usd=Decimal(25),
                    risk_r=Decimal(1),
                ),
                signal_id=str(first.id),
            )
        )
        assert isinstance(h.check(signal("XRPUSDT")), SignalDenied)
        await h.settle()
        rows = await storage.db.fetch("SELECT symbol, reason_code FROM risk_denials ORDER BY id")
    assert [(r["symbol"], r["reason_code"]) for r in rows] == [
        ("SOLUSDT", "max_concurrent_positions"),
        ("XRPUSDT", "max_concurrent_positions"),
    ]


async def test_a_same_side_reentry_within_the_block_is_queued(risk_db_url: str, redis_clean_url: str) -> None:
    async with open_risk_storage(risk_db_url, redis_clean_url) as storage:
        clock = ManualClock(T0)
        h = Harness(storage, RiskLimits(max_concurrent_positions=5), clock)
        await h.start()
        assert isinstance(h.check(signal("BTCUSDT")), SignalAllowed)
        clock.advance(60)
        queued = h.check(signal("BTCUSDT"))
        assert isinstance(queued, SignalQueued)
        assert queued.queued_until == T0 + dt.timedelta(seconds=900)
        assert isinstance(h.check(signal("BTCUSDT", Side.SHORT)), SignalAllowed)


async def test_a_critical_finding_halts_and_the_halt_survives_a_restart(
    risk_db_url: str, redis_clean_url: str
) -> None:
    async with open_risk_storage(risk_db_url, redis_clean_url) as storage:
        clock = ManualClock(T0)
        h = Harness(storage, LIMITS, clock)
        await h.start()
        changed = h.behaviour.handle(
            CriticalDiscrepancy(symbol="BTCUSDT", kind="position_mismatch", details="size 1 vs 2", at=T0)
        )
        assert isinstance(changed, TradingStateChanged)
        assert isinstance(h.check(signal()), SignalDenied)
        await h.settle()
        assert (
            h.registry.get_sample_value(
                "algogrid_risk_kill_switch_engagements_total", {"source": "reconciliation"}
            )
            == 1
        )

        restarted = Harness(storage, LIMITS, clock)
        await restarted.start()
        denied = restarted.check(signal())
        assert isinstance(denied, SignalDenied)
        assert denied.reason == "halted"
        # automatic sources never loosen; only an operator releases
        again = restarted.behaviour.handle(KillConditionTriggered(condition="daily_dd", reason="x", at=T0))
        assert isinstance(again, TradingStateUnchanged)
        released = restarted.behaviour.handle(
            SetTradingState(
                state=TradingState.ACTIVE, kill_switch=False, reason="checked", changed_by="alice"
            )
        )
        assert isinstance(released, TradingStateChanged)
        assert isinstance(restarted.check(signal()), SignalAllowed)
        await restarted.settle()
        rows = await storage.db.fetch(
            "SELECT trading_state, engaged, changed_by_label FROM kill_switch_state"
        )
    assert [(r["trading_state"], r["engaged"], r["changed_by_label"]) for r in rows] == [
        ("ACTIVE", False, "alice")
    ]


async def test_reducing_allows_only_orders_that_reduce_an_open_position(
    risk_db_url: str, redis_clean_url: str
) -> None:
    async with open_risk_storage(risk_db_url, redis_clean_url) as storage:
        h = Harness(storage, LIMITS, ManualClock(T0))
        await h.start()
        h.behaviour.handle(
            PositionOpened(
                position=OpenPosition(
                    position_id="p1",
                    symbol="BTCUSDT",
                    side=Side.LONG,
                    qty=Decimal(1),
                    entry=Decimal(100),
                    risk_usd=Decimal(25),
                    risk_r=Decimal(1),
                )
            )
        )
        h.behaviour.handle(
            SetTradingState(state=TradingState.REDUCING, kill_switch=True, reason="exit", changed_by="bob")
        )
        exit_order = CheckOrder(order_id="o1", symbol="BTCUSDT", side=Side.LONG, reduces_position_id="p1")
        new_order = CheckOrder(
            order_id="o2", symbol="ETHUSDT", side=Side.LONG, risk_usd=Decimal(25), risk_r=Decimal(1)
        )
        assert isinstance(h.behaviour.handle(exit_order), OrderAllowed)
        denied = h.behaviour.handle(new_order)
        assert isinstance(denied, OrderDenied)
        assert denied.reason_code == "reducing"
        assert denied.reason == reason_sentence("reducing")
        assert "REDUCING" in denied.reason
        assert isinstance(h.check(signal("ETHUSDT")), SignalDenied)


async def test_a_stray_poll_from_a_dead_incarnation_does_not_start_a_second_chain(
    risk_db_url: str, redis_clean_url: str
) -> None:
    async with open_risk_storage(risk_db_url, redis_clean_url) as storage:
        clock = ManualClock(T0)
        h = Harness(storage, LIMITS, clock, state_poll_s=1.0)
        await h.start()
        assert clock.pending_timers() == 1
        h.behaviour.handle(PollTradingState())  # told by the previous incarnation's timer
        await h.settle()
        assert clock.pending_timers() == 1
        h.behaviour.stop()
        assert clock.pending_timers() == 0


async def test_a_halt_made_while_rebuilding_wins_even_when_its_write_is_confirmed_before_the_load(
    risk_db_url: str, redis_clean_url: str
) -> None:
    # The work queue runs jobs concurrently: the halt's write may be confirmed before the rebuild's reply,
    # which carries the state read before that write.
    async with open_risk_storage(risk_db_url, redis_clean_url) as storage:
        h = Harness(storage, LIMITS, ManualClock(T0))
        h.behaviour.start()
        changed = h.behaviour.handle(KillConditionTriggered(condition="daily_dd", reason="-4R", at=T0))
        assert isinstance(changed, TradingStateChanged)
        (load, _, _), (write, _, _) = h.jobs.queued
        h.jobs.queued.clear()
        loaded = await load()  # reads ACTIVE: the write has not run yet
        h.behaviour.handle(await write())
        h.behaviour.handle(loaded)
        denied = h.check(signal())
        assert isinstance(denied, SignalDenied)
        assert denied.reason == "halted"


async def test_new_exposure_waits_for_a_clean_reconciliation_pass_while_reduce_only_passes(
    risk_db_url: str, redis_clean_url: str
) -> None:
    async with open_risk_storage(risk_db_url, redis_clean_url) as storage:
        h = Harness(storage, LIMITS, ManualClock(T0), await_reconciliation=True)
        await h.start()
        held = h.check(signal())
        assert isinstance(held, SignalDenied)
        assert held.reason == "reconciling"
        h.behaviour.handle(ReconciliationVerdict(clean=True, reason="last pass clean", at=T0))
        assert isinstance(h.check(signal("ETHUSDT")), SignalAllowed)
        h.behaviour.handle(ReconciliationVerdict(clean=False, reason="1 critical finding(s) open", at=T0))
        again = h.check(signal("SOLUSDT"))
        assert isinstance(again, SignalDenied)
        assert again.reason == "reconciling"


async def test_a_critical_finding_engages_the_configured_state_and_only_tightens(
    risk_db_url: str, redis_clean_url: str
) -> None:
    async with open_risk_storage(risk_db_url, redis_clean_url) as storage:
        h = Harness(storage, LIMITS, ManualClock(T0))
        await h.start()
        reply = h.behaviour.handle(
            CriticalDiscrepancy(
                symbol="BTCUSDT", kind="size_mismatch", details="x", at=T0, state=TradingState.REDUCING
            )
        )
        assert isinstance(reply, TradingStateChanged)
        assert reply.record.state is TradingState.REDUCING
        assert reply.record.kill_switch
        same = h.behaviour.handle(
            CriticalDiscrepancy(
                symbol="ETHUSDT", kind="size_mismatch", details="y", at=T0, state=TradingState.REDUCING
            )
        )
        assert isinstance(same, TradingStateUnchanged)
        tighter = h.behaviour.handle(
            CriticalDiscrepancy(symbol="ETHUSDT", kind="position_unknown", details="z", at=T0)
        )
        assert isinstance(tighter, TradingStateChanged)
        assert tighter.record.state is TradingState.HALTED
