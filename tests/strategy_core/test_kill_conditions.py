"""R-04 kill conditions and metrics, R-05 break-even and R-06 funding exit, all pure."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sc_builders import T0

from strategy_core import (
    BreakEvenMode,
    ClosedTrade,
    KillFinding,
    KillThresholds,
    OpenPosition,
    PositionRules,
    Side,
    assess_kill_conditions,
    check_break_even,
    check_funding_exit,
    daily_drawdown_r,
    drawdown_pct_series,
    max_drawdown_breached,
    trade_stats,
    upnl_r,
    utc_day_start,
)

D = Decimal
NOON = T0 + timedelta(hours=12)


def trade(hours: float, r: str) -> ClosedTrade:
    return ClosedTrade(closed_at=T0 + timedelta(hours=hours), pnl_r=D(r))


def test_daily_drawdown_is_the_largest_fall_of_todays_r_curve() -> None:
    trades = [
        trade(-1, "-9"),
        trade(1, "2"),
        trade(2, "-1.5"),
        trade(3, "-2"),
        trade(4, "1"),
        trade(13, "-5"),
    ]
    # today until noon: 0 → 2 → 0.5 → −1.5 → −0.5; peak 2, trough −1.5 → 3.5 (other days ignored)
    assert daily_drawdown_r(trades, NOON) == D("3.5")
    assert daily_drawdown_r(trades, NOON, open_upnl_r=D("-1")) == D("3.5")
    assert daily_drawdown_r(trades, NOON, open_upnl_r=D("-2")) == D("4.5")  # ends at −2.5
    assert daily_drawdown_r([], NOON) == 0
    assert utc_day_start(NOON) == T0


def test_drawdown_series_and_the_three_day_rule() -> None:
    series = drawdown_pct_series([D(100), D(80), D(70), D(74), D(75), D(120)])
    assert series[:5] == [D(0), D(20), D(30), D(26), D(25)]
    assert not max_drawdown_breached(series[:5], D(25), 3)  # 30, 26, 25: the last is not above 25
    assert max_drawdown_breached(series[:4], D(25), 3) is False  # 20, 30, 26
    assert max_drawdown_breached([D(26), D(30), D("25.1")], D(25), 3)
    assert not max_drawdown_breached([D(30), D(30)], D(25), 3)
    with pytest.raises(ValueError):
        drawdown_pct_series([D(0)])


def test_trade_stats() -> None:
    s = trade_stats([D(2), D(-1), D(1), D(0), D(-1)])
    assert (s.trades, s.wins, s.losses) == (5, 2, 2)
    assert s.win_rate == D("0.4")
    assert s.profit_factor == D("1.5")
    assert s.net_expectancy_r == D("0.2")
    assert trade_stats([D(1)]).profit_factor is None
    assert trade_stats([]).win_rate is None


def test_kill_assessment_halts_alerts_and_warns() -> None:
    th = KillThresholds(min_trades_for_stats=3)
    losing = [trade(1, "-1"), trade(2, "-1"), trade(3, "-1.5"), trade(4, "0.5")]
    a = assess_kill_conditions(losing, [D(100), D(70), D(70), D(70)], NOON, th)
    assert a.halt == (KillFinding.DAILY_DRAWDOWN, KillFinding.MAX_DRAWDOWN_DAYS)
    assert a.alerts == (KillFinding.NEGATIVE_EXPECTANCY,)
    assert a.warnings == (KillFinding.LOW_WIN_RATE, KillFinding.LOW_PROFIT_FACTOR)
    assert a.max_drawdown_pct == D(30)  # G-06 max_drawdown_pct: the deepest day of the series
    calm = assess_kill_conditions([trade(1, "2"), trade(2, "1"), trade(3, "-0.5")], [D(100)], NOON, th)
    assert (calm.halt, calm.alerts, calm.warnings) == ((), (), ())
    assert calm.max_drawdown_pct == D(0)
    assert assess_kill_conditions([], [], NOON, th).max_drawdown_pct is None
    few = assess_kill_conditions(losing[:2], [D(100)], NOON, KillThresholds())
    assert few.alerts == ()
    assert few.warnings == ()


LONG = OpenPosition(
    position_id="p", symbol="BTCUSDT", side=Side.LONG, qty=D(2), entry=D(100), risk_usd=D(10), risk_r=D("0.4")
)
SHORT = LONG.model_copy(update={"side": Side.SHORT})


def test_break_even_triggers_at_one_r_or_on_tp1() -> None:
    full = PositionRules(be_mode=BreakEvenMode.FULL)
    # R per unit = 10 / 2 = 5 → trigger at mark ≥ 105 (long) / ≤ 95 (short)
    assert not check_break_even(LONG, D("104.99"), False, full).triggered
    assert check_break_even(LONG, D(105), False, full).move_sl_to == D(100)
    assert check_break_even(SHORT, D(95), False, full).triggered
    assert not check_break_even(SHORT, D(105), False, full).triggered
    visual = check_break_even(LONG, D(101), True, PositionRules())
    assert visual.triggered
    assert visual.move_sl_to is None
    assert not check_break_even(LONG, D(200), True, full, already_triggered=True).triggered


def test_funding_exit_alerts_when_close_to_funding_and_not_in_profit() -> None:
    rules = PositionRules()
    soon, later = NOON + timedelta(minutes=9), NOON + timedelta(minutes=10)
    # UPnL = (103 − 100)·2 / 25 = 0.24 R < 0.3 R
    d = check_funding_exit(LONG, D(103), soon, NOON, rules)
    assert d.alert
    assert not d.close_reduce_only
    assert d.upnl_r == D("0.24")
    assert not check_funding_exit(LONG, D(103), later, NOON, rules).alert
    assert not check_funding_exit(LONG, D(104), soon, NOON, rules).alert  # 0.32 R
    auto = check_funding_exit(SHORT, D(103), soon, NOON, PositionRules(auto_funding_exit=True))
    assert auto.alert
    assert auto.close_reduce_only
    assert auto.upnl_r == D("-0.24")
    assert upnl_r(SHORT, D(90), D(25)) == D("0.8")
