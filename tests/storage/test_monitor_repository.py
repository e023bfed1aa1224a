"""The monitor's reads against real PostgreSQL: closed trades in net R, daily equity, today's halts (R-04)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from storage import ChangeSource, MonitorRepository, Storage, TradingStateRecord
from strategy_core import TradingState
from strategy_core.performance import ClosedTrade

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)


async def _position(
    storage: Storage,
    closed_at: dt.datetime | None,
    pnl_usd: str,
    *,
    risk_usd: str = "25",
    fees_usd: str = "0",
    funding_usd: str = "0",
) -> None:
    opened_at = (closed_at or NOW) - HOUR
    await storage.db.execute(
        "INSERT INTO positions (symbol, side, status, requested_size_base, executed_size_base, "
        "avg_entry_price, risk_usd, risk_r, opened_at, closed_at, close_reason, pnl_usd, fees_usd, "
        "funding_usd) "
        "VALUES ('BTCUSDT', 'long', $1, 1, 1, 100, $2, 1, $3, $4, $5, $6, $7, $8)",
        "open" if closed_at is None else "closed",
        Decimal(risk_usd),
        opened_at,
        closed_at,
        None if closed_at is None else "sl",
        None if closed_at is None else Decimal(pnl_usd),
        Decimal(fees_usd),
        Decimal(funding_usd),
    )


async def test_closed_trades_and_daily_equity_are_net_of_costs(risk_storage: Storage) -> None:
    await _position(risk_storage, NOW - HOUR, "50", fees_usd="1", funding_usd="0.5")  # today: +48.5 USD
    await _position(risk_storage, NOW - DAY, "-25", risk_usd="0")  # yesterday: no recorded risk → r_unit
    await _position(risk_storage, NOW - 10 * DAY, "100")  # in the window, before the equity series
    await _position(risk_storage, NOW - 40 * DAY, "10")  # before the window: equity only
    await _position(risk_storage, NOW + HOUR, "999")  # after now: another timeline
    await _position(risk_storage, None, "0")  # still open

    history = await MonitorRepository(risk_storage.db).load_performance(
        NOW, window_days=30, equity_days=3, starting_equity_usd=Decimal(1000), r_unit_usd=Decimal(25)
    )

    assert history.trades == (
        ClosedTrade(closed_at=NOW - 10 * DAY, pnl_r=Decimal(4)),
        ClosedTrade(closed_at=NOW - DAY, pnl_r=Decimal(-1)),
        ClosedTrade(closed_at=NOW - HOUR, pnl_r=Decimal("1.94")),
    )
    assert history.daily_equity == (Decimal(1110), Decimal(1085), Decimal("1133.5"))
    assert history.at == NOW


async def test_an_empty_history_is_flat_equity(risk_storage: Storage) -> None:
    history = await risk_storage.monitor.load_performance(
        NOW, window_days=30, equity_days=2, starting_equity_usd=Decimal(1000), r_unit_usd=Decimal(25)
    )
    assert (history.trades, history.daily_equity) == ((), (Decimal(1000), Decimal(1000)))


async def test_todays_halts_are_the_monitors_kill_switch_changes_since_midnight(
    risk_storage: Storage,
) -> None:
    def change(by: str, at: dt.datetime) -> TradingStateRecord:
        return TradingStateRecord(
            state=TradingState.HALTED, kill_switch=True, reason="r", changed_by=by,
            source=ChangeSource.KILL_CONDITION, changed_at=at,
        )

    for by, at in [
        ("monitor:max_drawdown", NOW - DAY),  # yesterday
        ("monitor:daily_drawdown", NOW - 2 * HOUR),
        ("monitor:daily_drawdown", NOW - HOUR),  # the same condition twice
        ("monitor:expectancy", NOW - 3 * HOUR),
        ("cli:alice", NOW),  # an operator, not a kill condition
    ]:
        await risk_storage.kill_switch.save_trading_state(change(by, at))

    assert await risk_storage.monitor.load_halts_today(NOW) == ("daily_drawdown", "expectancy")
