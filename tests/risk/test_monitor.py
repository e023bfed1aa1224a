"""MonitorActor under the real tree with the RiskActor, on real PostgreSQL and a manual clock (R-04..R-06).

Closed trades are rows of ``positions``; the clock's ``advance`` fires the monitor's 60 s tick.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from actors.monitor import (
    BreakEvenReached,
    FundingExitWarning,
    GetMonitorSnapshot,
    MonitorConfig,
    MonitorSnapshot,
    MoveStopToEntry,
    PositionMarked,
    ReduceOnlyCloseRequested,
)
from actors.risk import AlertKind, SetTradingState, Severity, TradingState, TradingStateChanged
from storage import ChangeSource
from strategy_core.config import BreakEvenMode, PositionRules
from supervision import ManualClock, Status
from tests.risk.risk_kit import T0, RiskRig, position, running_risk
from tests.support import eventually_async

DAY = dt.timedelta(days=1)


async def _closed(rig: RiskRig, closed_at: dt.datetime, pnl_usd: str, risk_usd: str = "25") -> None:
    await rig.storage.db.execute(
        "INSERT INTO positions (symbol, side, status, requested_size_base, executed_size_base, "
        "avg_entry_price, risk_usd, risk_r, opened_at, closed_at, close_reason, pnl_usd) "
        "VALUES ('BTCUSDT', 'long', 'closed', 1, 1, 100, $1, 1, $2, $3, 'sl', $4)",
        Decimal(risk_usd),
        closed_at - dt.timedelta(hours=1),
        closed_at,
        Decimal(pnl_usd),
    )


async def _tick(rig: RiskRig, seconds: float = 60.0) -> MonitorSnapshot:
    """Advance the clock to fire the next tick and return the monitor's state once it has assessed."""
    expected = rig.clock.now() + dt.timedelta(seconds=seconds)
    rig.clock.advance(seconds)

    async def assessed() -> MonitorSnapshot | None:
        snap: MonitorSnapshot = await rig.bridge.ask(rig.monitor, GetMonitorSnapshot(), timeout=5)
        return snap if snap.last_tick_at == expected else None

    return await eventually_async(assessed, timeout=10)


async def _state(rig: RiskRig) -> Any:
    return (await rig.snapshot()).record


async def test_a_daily_drawdown_beyond_the_limit_halts_at_the_next_poll(
    risk_db_url: str, redis_clean_url: str
) -> None:
    async with running_risk(risk_db_url, redis_clean_url, monitor=MonitorConfig()) as rig:
        await _closed(rig, T0 - DAY, "-125")  # yesterday's -5R does not count today
        snap = await _tick(rig)
        assert snap.last_assessment is not None
        assert snap.last_assessment.daily_drawdown_r == 0
        assert (await _state(rig)).state is TradingState.ACTIVE

        await _closed(rig, T0 - dt.timedelta(hours=1), "-50")
        await _closed(rig, T0 - dt.timedelta(minutes=30), "-50")
        snap = await _tick(rig)
        assert snap.last_assessment is not None
        assert snap.last_assessment.daily_drawdown_r == 4

        async def halted() -> Any:
            record = await _state(rig)
            return record if record.state is TradingState.HALTED else None

        record = await eventually_async(halted)
        assert record.kill_switch
        assert record.source is ChangeSource.KILL_CONDITION
        assert record.changed_by == "monitor:daily_drawdown"
        # the monitor's finding and the RiskActor's engagement, each once (their order is not defined)
        assert sorted((a.event.value, a.severity.value) for a in rig.alerts.alerts) == [
            (AlertKind.DAILY_DRAWDOWN_HALT.value, Severity.CRITICAL.value),
            (AlertKind.KILL_SWITCH_ENGAGED.value, Severity.CRITICAL.value),
        ]
        assert rig.registry.get_sample_value("algogrid_risk_daily_drawdown_r") == 4


async def test_a_drawdown_above_25_percent_for_three_days_halts(
    risk_db_url: str, redis_clean_url: str
) -> None:
    config = MonitorConfig(starting_equity_usd=Decimal(1000))
    async with running_risk(risk_db_url, redis_clean_url, monitor=config) as rig:
        await _closed(rig, T0 - DAY, "-300", risk_usd="300")  # equity 700: 30 % below its peak
        await _tick(rig)  # two days (yesterday, today) above 25 %: not yet
        assert (await _state(rig)).state is TradingState.ACTIVE

        await _tick(rig, seconds=86_400.0)  # the third day

        async def halted() -> Any:
            record = await _state(rig)
            return record if record.state is TradingState.HALTED else None

        record = await eventually_async(halted)
        assert record.changed_by == "monitor:max_drawdown_days"
        assert rig.registry.get_sample_value("max_drawdown_pct") == 30  # G-06: equity 700 after a 1000 peak
        assert sorted(a.event.value for a in rig.alerts.alerts) == [
            "kill_switch_engaged",
            "max_drawdown_halt",
        ]


async def test_negative_expectancy_alerts_and_low_win_rate_and_profit_factor_warn_once_a_day(
    risk_db_url: str, redis_clean_url: str
) -> None:
    config = MonitorConfig(starting_equity_usd=Decimal(10_000))
    async with running_risk(risk_db_url, redis_clean_url, monitor=config) as rig:
        for i in range(20):
            await _closed(rig, T0 - 2 * DAY - dt.timedelta(hours=i), "-12.5")  # -0.5R each
        snap = await _tick(rig)
        assert snap.last_assessment is not None
        assert snap.last_assessment.stats is not None
        assert snap.last_assessment.stats.net_expectancy_r == Decimal("-0.5")
        assert rig.registry.get_sample_value("win_rate_last_30d") == 0  # G-06 gauges of the 30-day window
        assert rig.registry.get_sample_value("profit_factor_last_30d") == 0  # no winner: no gross profit
        await _tick(rig)  # the same UTC day: nothing repeated
        assert sorted((a.event.value, a.severity.value) for a in rig.alerts.alerts) == [
            ("low_profit_factor", "warning"),
            ("low_win_rate", "warning"),
            ("negative_expectancy", "warning"),
        ]
        assert (await _state(rig)).state is TradingState.ACTIVE


async def test_break_even_in_full_mode_moves_the_stop_to_entry_once(
    risk_db_url: str, redis_clean_url: str
) -> None:
    config = MonitorConfig(position_rules=PositionRules(be_mode=BreakEvenMode.FULL))
    async with running_risk(risk_db_url, redis_clean_url, monitor=config) as rig:
        held = position("p1", entry="100")  # 1R = $25 over 25 units: 1 USD per unit
        rig.monitor.tell(PositionMarked(position=held, mark=Decimal("100.5")))
        await _tick(rig)
        assert rig.positions.messages == []
        rig.monitor.tell(PositionMarked(position=held, mark=Decimal("101")))
        snap = await _tick(rig)
        await _tick(rig)
        assert snap.break_even_done == ("p1",)
        (reached,) = rig.positions.of(BreakEvenReached)
        (move,) = rig.positions.of(MoveStopToEntry)
        assert (reached.position_id, reached.mark) == ("p1", Decimal(101))
        assert (move.position_id, move.new_sl) == ("p1", Decimal(100))
        assert [a.event for a in rig.alerts.alerts] == [AlertKind.BREAK_EVEN]


async def test_break_even_in_visual_mode_on_tp1_only_reports(risk_db_url: str, redis_clean_url: str) -> None:
    async with running_risk(risk_db_url, redis_clean_url, monitor=MonitorConfig()) as rig:
        rig.monitor.tell(PositionMarked(position=position("p1"), mark=Decimal("100.1"), tp1_hit=True))
        await _tick(rig)
        assert [type(m) for m in rig.positions.messages] == [BreakEvenReached]


async def test_funding_exit_alerts_and_requests_a_reduce_only_close_when_configured(
    risk_db_url: str, redis_clean_url: str
) -> None:
    rules = PositionRules(auto_funding_exit=True)
    async with running_risk(risk_db_url, redis_clean_url, monitor=MonitorConfig(position_rules=rules)) as rig:
        soon = T0 + dt.timedelta(minutes=6)
        later = T0 + dt.timedelta(minutes=30)
        rig.monitor.tell(
            PositionMarked(position=position("p1"), mark=Decimal("100.2"), next_funding_time=soon)
        )
        rig.monitor.tell(
            PositionMarked(position=position("p2"), mark=Decimal("100"), next_funding_time=later)
        )
        rig.monitor.tell(
            PositionMarked(position=position("p3", "ETHUSDT"), mark=Decimal("100.5"), next_funding_time=soon)
        )
        await _tick(rig)  # T0+1min: p1 (0.2R) and p3 (0.5R) are 5 min from funding
        await _tick(rig)  # once per funding time
        (warning,) = rig.positions.of(FundingExitWarning)
        (close,) = rig.positions.of(ReduceOnlyCloseRequested)
        assert (warning.position_id, warning.time_to_funding_s, warning.upnl_r) == (
            "p1",
            300.0,
            Decimal("0.2"),
        )
        assert close.position_id == "p1"
        assert [a.event for a in rig.alerts.alerts] == [AlertKind.FUNDING_EXIT]


async def test_a_restarted_monitor_respects_a_release_made_after_todays_halt(
    risk_db_url: str, redis_clean_url: str
) -> None:
    # audit_trail is append-only and shared by this module's tests: run on a day no other test halts on
    day = T0 + 30 * DAY
    clock = ManualClock(day)
    async with running_risk(risk_db_url, redis_clean_url, monitor=MonitorConfig(), clock=clock) as rig:
        await _closed(rig, day - dt.timedelta(hours=1), "-100")  # -4R today

        async def state_is(state: TradingState) -> bool:
            return bool((await _state(rig)).state is state)

        await _tick(rig)
        await eventually_async(lambda: state_is(TradingState.HALTED))

        async def halt_stored() -> bool:  # the RiskActor persists after it answers: wait for the row
            return "daily_drawdown" in await rig.storage.monitor.load_halts_today(day)

        await eventually_async(halt_stored)
        released = await rig.ask(
            SetTradingState(state=TradingState.ACTIVE, kill_switch=False, reason="reviewed", changed_by="ops")
        )
        assert isinstance(released, TradingStateChanged)

        rig.tree.faults.crash_now("root/monitor")
        await eventually_async(lambda: rig.monitor.incarnation == 2 and rig.monitor.status is Status.RUNNING)

        async def recalled() -> bool:
            snap = await rig.bridge.ask(rig.monitor, GetMonitorSnapshot(), timeout=5)
            return ("daily_drawdown", day.date()) in snap.fired

        await eventually_async(recalled)
        snap = await _tick(rig)
        assert snap.last_assessment is not None
        assert snap.last_assessment.halt  # the condition still holds ...
        assert await state_is(TradingState.ACTIVE)  # ... but the operator's release stands today
