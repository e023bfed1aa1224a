"""A hypothesis state machine over the RiskBehaviour with the real rules (R-02..R-07).

Random signals, opens, closes, orders, clock advances, kill-switch toggles and restarts. The store is in
memory but rebuilds through the same pure ``rebuild_exposure`` as ``RiskStateRepository`` (the SQL side is
covered by ``test_risk_actor.py``), and its jobs run to completion synchronously, so thousands of steps take
seconds.

Invariants after every step: no approved set (open positions + reservations) breaks a limit; no same-side
re-entry on a symbol within the churn block (unless a close lifted it); HALTED approves nothing; REDUCING (or
an engaged kill switch) approves only reductions; the state after a restart equals the state before.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any

import structlog
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
)
from prometheus_client import CollectorRegistry

from actors import CheckSignal, SignalAllowed
from actors.risk import (
    CheckOrder,
    GetRiskSnapshot,
    KillConditionTriggered,
    OrderAllowed,
    PositionClosed,
    PositionOpened,
    RiskActorDeps,
    RiskBehaviour,
    RiskConfig,
    RiskMetrics,
    RiskSnapshot,
    SetTradingState,
    TradingState,
)
from storage import DenialRecord, TradingStateRecord, rebuild_exposure
from strategy_core.config import RiskLimits
from strategy_core.exposure import ChurnBook, OpenPosition, base_asset
from strategy_core.models import Side
from supervision import ManualClock
from tests.risk.risk_kit import T0, Collector, make_signal

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
LOG = structlog.get_logger("test")


def _run(job: Callable[[], Awaitable[Any]]) -> Any:
    """Run a job that never suspends (the memory store awaits nothing) to completion."""
    coro = job()
    try:
        coro.send(None)  # type: ignore[attr-defined]
    except StopIteration as done:
        return done.value
    raise AssertionError("expected the memory store job to finish without suspending")


class MemoryStore:
    """In-memory ``RiskStatePort`` shaped like the rows ``RiskStateRepository`` reads (positions, signals)."""

    def __init__(self) -> None:
        self.record = TradingStateRecord.initial(T0)  # the migration seeds the row, as in PostgreSQL
        self.positions: dict[str, dict[str, Any]] = {}
        self.signals: dict[str, dict[str, Any]] = {}
        self.last_close: dict[tuple[str, str], dt.datetime] = {}
        self.denials: list[DenialRecord] = []

    async def load_trading_state(self, now: dt.datetime) -> TradingStateRecord:
        return self.record

    async def load_exposure(
        self, now: dt.datetime, limits: RiskLimits, reservation_ttl_s: float
    ) -> tuple[tuple[OpenPosition, ...], tuple[tuple[OpenPosition, dt.datetime], ...], ChurnBook]:
        signal_rows = [
            {**row, "last_close": self.last_close.get((row["symbol"], row["side"]))}
            for row in self.signals.values()
        ]
        return rebuild_exposure(list(self.positions.values()), signal_rows, now, limits, reservation_ttl_s)

    async def save_trading_state(self, record: TradingStateRecord) -> None:
        self.record = record

    async def record_denials(self, denials: Sequence[DenialRecord]) -> None:
        self.denials.extend(denials)


class SyncJobs:
    """A ``WorkQueue`` whose jobs the machine runs between steps (replies go to the current incarnation)."""

    def __init__(self) -> None:
        self.queued: list[tuple[Any, Any, Any]] = []

    def submit(self, job: Any, reply_to: Any, on_error: Any) -> None:
        self.queued.append((job, reply_to, on_error))


class RiskMachine(RuleBasedStateMachine):
    signals = Bundle("approved_signals")
    positions = Bundle("open_positions")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(T0)
        self.store = MemoryStore()
        self.jobs = SyncJobs()
        self.ids = itertools.count(1)
        self.last_accept: dict[tuple[str, Side], dt.datetime] = {}
        self.limits = RiskLimits()
        self.behaviour: RiskBehaviour | None = None
        self.inbox = Collector()

    @initialize(
        max_positions=st.integers(1, 4),
        max_risk_r=st.sampled_from([Decimal(2), Decimal(4), Decimal(10)]),
        max_usd=st.sampled_from([Decimal(60), Decimal(250)]),
        per_base=st.integers(1, 2),
        clear_on_close=st.booleans(),
    )
    def setup(
        self, max_positions: int, max_risk_r: Decimal, max_usd: Decimal, per_base: int, clear_on_close: bool
    ) -> None:
        self.limits = RiskLimits(
            max_concurrent_positions=max_positions,
            max_total_risk_r=max_risk_r,
            max_total_risk_usd=max_usd,
            max_positions_per_base=per_base,
            clear_churn_on_close=clear_on_close,
        )
        self._start()

    # -- plumbing --------------------------------------------------------------------------------------

    def _start(self) -> None:
        self.inbox = Collector()
        deps = RiskActorDeps(work=self.jobs, store=self.store, metrics=RiskMetrics(CollectorRegistry()))
        config = RiskConfig(state_poll_s=None)
        self.behaviour = RiskBehaviour(config, self.limits, deps, self.clock, self.inbox, LOG)
        self.behaviour.start()
        self._settle()

    def _settle(self) -> None:
        """Run queued jobs and deliver their replies (and any self-told messages) to the behaviour."""
        assert self.behaviour is not None
        while self.jobs.queued:
            job, reply_to, on_error = self.jobs.queued.pop(0)
            try:
                reply = _run(job)
            except Exception as exc:  # a job failure is a reply message, as in the real queue
                reply = on_error(exc)
            if reply_to is self.inbox:  # replies to a dead incarnation are dropped, as by the real tree
                self.behaviour.handle(reply)

    def _handle(self, message: object) -> Any:
        assert self.behaviour is not None
        self.clock.advance(0.001)  # distinct instants: a close and an approval never share a timestamp
        reply = self.behaviour.handle(message)
        self._settle()
        return reply

    def _snapshot(self) -> RiskSnapshot:
        assert self.behaviour is not None
        snapshot: RiskSnapshot = self.behaviour.handle(GetRiskSnapshot())
        return snapshot

    def _record(self) -> TradingStateRecord:
        record = self._snapshot().record
        assert record is not None
        return record

    # -- rules -----------------------------------------------------------------------------------------

    @rule(
        target=signals,
        symbol=st.sampled_from(SYMBOLS),
        side=st.sampled_from(list(Side)),
        risk_r=st.sampled_from(["0.5", "1", "2"]),
    )
    def signal(self, symbol: str, side: Side, risk_r: str) -> Any:
        record = self._record()
        before = self._snapshot()
        sig = make_signal(symbol, side, risk_r, at=self.clock.now())
        verdict = self._handle(CheckSignal(signal=sig, reply_to=Collector()))
        if not isinstance(verdict, SignalAllowed):
            return multiple()  # nothing approved: nothing to open later
        now = self.clock.now()
        assert record.state is TradingState.ACTIVE
        assert not record.kill_switch
        last = self.last_accept.get((symbol, side))
        assert last is None or now - last >= dt.timedelta(seconds=self.limits.churn_block_s), (
            f"re-entry {symbol} {side} after {now - last if last else None}"
        )
        self._check_limits(before.positions, sig.risk_r, sig.risk_usd, symbol, side)
        self.last_accept[(symbol, side)] = now
        self.store.signals[str(sig.id)] = {
            "id": sig.id,
            "symbol": symbol,
            "side": side.value,
            "entry": sig.entry,
            "qty": sig.qty,
            "risk_usd": sig.risk_usd,
            "risk_r": sig.risk_r,
            "created_at": now,
            "has_position": False,
        }
        return str(sig.id)

    @rule(target=positions, signal_id=consumes(signals))
    def open_position(self, signal_id: Any) -> Any:
        row = self.store.signals.get(signal_id) if isinstance(signal_id, str) else None
        live = {p.position_id for p in self._snapshot().positions}
        if row is None or f"signal:{signal_id}" not in live:
            return multiple()  # the reservation expired: the position side would not open it
        position_id = str(uuid.UUID(int=next(self.ids)))
        opened = OpenPosition(
            position_id=position_id,
            symbol=row["symbol"],
            side=Side(row["side"]),
            qty=row["qty"],
            entry=row["entry"],
            risk_usd=row["risk_usd"],
            risk_r=row["risk_r"],
        )
        row["has_position"] = True
        self.store.positions[position_id] = {**opened.model_dump(), "id": position_id}
        self._handle(PositionOpened(position=opened, signal_id=signal_id))
        return position_id

    @rule(position_id=consumes(positions))
    def close_position(self, position_id: Any) -> None:
        row = self.store.positions.pop(position_id, None) if isinstance(position_id, str) else None
        if row is None:
            return
        self._handle(PositionClosed(position_id=position_id, closed_at=self.clock.now()))
        self.store.last_close[(row["symbol"], row["side"].value)] = self.clock.now()
        if self.limits.clear_churn_on_close:
            self.last_accept.pop((row["symbol"], row["side"]), None)

    @rule(position_id=positions)
    def reduce_order(self, position_id: Any) -> None:
        row = self.store.positions.get(position_id) if isinstance(position_id, str) else None
        if row is None:
            return
        record = self._record()
        order = CheckOrder(
            order_id=f"r{next(self.ids)}",
            symbol=row["symbol"],
            side=row["side"],
            reduces_position_id=position_id,
        )
        allowed = isinstance(self._handle(order), OrderAllowed)
        assert allowed == (record.state is not TradingState.HALTED)

    @rule(symbol=st.sampled_from(SYMBOLS), side=st.sampled_from(list(Side)))
    def new_order(self, symbol: str, side: Side) -> None:
        record = self._record()
        before = self._snapshot()
        order = CheckOrder(
            order_id=f"n{next(self.ids)}", symbol=symbol, side=side, risk_usd=Decimal(25), risk_r=Decimal(1)
        )
        if isinstance(self._handle(order), OrderAllowed):
            assert record.state is TradingState.ACTIVE
            assert not record.kill_switch
            self._check_limits(before.positions, Decimal(1), Decimal(25), symbol, side)

    @rule(seconds=st.sampled_from([1.0, 60.0, 299.0, 450.0, 899.0, 901.0, 1800.0]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule(
        state=st.sampled_from(list(TradingState)),
        engaged=st.booleans(),
        automatic=st.booleans(),
    )
    def toggle(self, state: TradingState, engaged: bool, automatic: bool) -> None:
        before = self._record()
        if automatic:
            self._handle(
                KillConditionTriggered(condition="daily_drawdown", reason="test", at=self.clock.now())
            )
            after = self._record()
            assert (after.state, after.kill_switch) == (TradingState.HALTED, True)
            if before.kill_switch and before.state is TradingState.HALTED:
                assert after == before  # automatic sources never rewrite an engaged halt
            return
        self._handle(SetTradingState(state=state, kill_switch=engaged, reason="test", changed_by="op"))
        after = self._record()
        assert after.kill_switch == engaged
        assert after.state is (TradingState.HALTED if engaged and state is TradingState.ACTIVE else state)

    @rule()
    def restart(self) -> None:
        before = self._snapshot()
        assert self.behaviour is not None
        self.behaviour.stop()
        self._start()
        after = self._snapshot()
        assert not after.rebuilding
        assert after == before

    # -- invariants ------------------------------------------------------------------------------------

    @invariant()
    def approved_set_within_limits(self) -> None:
        if self.behaviour is None:
            return
        positions = self._snapshot().positions
        limits = self.limits
        assert len(positions) <= limits.max_concurrent_positions
        assert sum((p.risk_r for p in positions), Decimal(0)) <= limits.max_total_risk_r
        assert sum((p.risk_usd for p in positions), Decimal(0)) <= limits.max_total_risk_usd
        for base, side in {(base_asset(p.symbol), p.side) for p in positions}:
            same = [p for p in positions if base_asset(p.symbol) == base and p.side is side]
            assert len(same) <= limits.max_positions_per_base

    @invariant()
    def persisted_state_matches_the_actor(self) -> None:
        if self.behaviour is None:
            return
        assert self.store.record == self._record()

    def _check_limits(
        self, positions: tuple[OpenPosition, ...], risk_r: Decimal, risk_usd: Decimal, symbol: str, side: Side
    ) -> None:
        limits = self.limits
        assert len(positions) + 1 <= limits.max_concurrent_positions
        assert sum((p.risk_r for p in positions), risk_r) <= limits.max_total_risk_r
        assert sum((p.risk_usd for p in positions), risk_usd) <= limits.max_total_risk_usd
        same = [p for p in positions if base_asset(p.symbol) == base_asset(symbol) and p.side is side]
        assert len(same) < limits.max_positions_per_base


RiskMachine.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_risk_state_machine = RiskMachine.TestCase
