"""Risk decisions read the market clock; timers and supervision keep the tree's clock (issues 5/7, DESIGN §3).

Two independent manual clocks: ``wall`` is the supervision tree's (restart backoff, the denial flush, the
monitor's tick) and ``market`` is what the RiskActor and MonitorActor decide on. They start days apart, so a
decision that read the wrong one would give a visibly different answer. Real tree, PostgreSQL and Redis.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from actors import CheckSignal, SignalAllowed, SignalDenied, SignalQueued
from actors.monitor import (
    FundingExitWarning,
    GetMonitorSnapshot,
    MonitorConfig,
    MonitorSnapshot,
    PositionMarked,
)
from actors.risk import RiskSnapshot, TradingState
from strategy_core.config import PositionRules, RiskLimits
from strategy_core.models import Side
from strategy_core.signal import Signal
from supervision import ManualClock
from tests.risk.risk_kit import (
    T0,
    Collector,
    RiskRig,
    make_signal,
    open_risk_storage,
    position,
    running_risk,
)
from tests.support import eventually_async

WALL_START = T0
MARKET_START = T0 + dt.timedelta(days=40, hours=3)  # another day than the wall clock's
ONE_POSITION = RiskLimits(max_concurrent_positions=1)


async def _check(rig: RiskRig, signal: Signal) -> object:
    return await rig.ask(CheckSignal(signal=signal, reply_to=Collector()))


def _clocks() -> tuple[ManualClock, ManualClock]:
    return ManualClock(WALL_START), ManualClock(MARKET_START)


async def test_a_reservation_expires_after_900_market_seconds_whatever_the_wall_clock_does(
    risk_db_url: str, redis_clean_url: str
) -> None:
    wall, market = _clocks()
    async with running_risk(
        risk_db_url, redis_clean_url, limits=ONE_POSITION, clock=wall, market=market
    ) as rig:
        await rig.snapshot()
        assert isinstance(await _check(rig, make_signal("BTCUSDT", at=market.now())), SignalAllowed)

        wall.advance(3600.0)  # an hour of wall time: the reservation still counts
        blocked = await _check(rig, make_signal("ETHUSDT", at=market.now()))
        assert isinstance(blocked, SignalDenied)
        assert blocked.reason == "max_concurrent_positions"

        market.advance(899.0)
        assert isinstance(await _check(rig, make_signal("ETHUSDT", at=market.now())), SignalDenied)
        market.advance(1.0)  # 900 market seconds after the approval
        assert isinstance(await _check(rig, make_signal("ETHUSDT", at=market.now())), SignalAllowed)

        snap: RiskSnapshot = await rig.snapshot()
        assert [p.symbol for p in snap.positions] == ["ETHUSDT"]  # BTC's reservation expired
        # BTC's anti-churn block ended with it; ETH's started at the market time of its approval.
        assert list(snap.churn) == [("ETHUSDT", "long", MARKET_START + dt.timedelta(seconds=900))]


async def test_anti_churn_queues_until_a_market_time_and_denials_carry_market_time(
    risk_db_url: str, redis_clean_url: str
) -> None:
    wall, market = _clocks()
    async with running_risk(risk_db_url, redis_clean_url, clock=wall, market=market) as rig:
        await rig.snapshot()
        assert isinstance(await _check(rig, make_signal("SOLUSDT", at=market.now())), SignalAllowed)
        market.advance(100.0)
        queued = await _check(rig, make_signal("SOLUSDT", at=market.now()))
        assert isinstance(queued, SignalQueued)
        assert queued.queued_until == MARKET_START + dt.timedelta(seconds=900)

        wall.advance(1000.0)  # wall time past the block changes nothing
        again = await _check(rig, make_signal("SOLUSDT", at=market.now()))
        assert isinstance(again, SignalQueued)
        assert again.queued_until == MARKET_START + dt.timedelta(seconds=900)
        market.advance(800.0)
        assert isinstance(await _check(rig, make_signal("SOLUSDT", at=market.now())), SignalAllowed)

    # A denial is stamped with market time (the flush itself waits on the wall clock).
    wall, market = _clocks()
    market.advance(5.0)
    async with running_risk(
        risk_db_url, redis_clean_url, limits=ONE_POSITION, clock=wall, market=market
    ) as rig:
        await rig.snapshot()
        await _check(rig, make_signal("XRPUSDT", Side.SHORT, at=market.now()))
        denied = await _check(rig, make_signal("ADAUSDT", Side.SHORT, at=market.now()))
        assert isinstance(denied, SignalDenied)
        query = "SELECT at FROM risk_denials WHERE symbol = 'ADAUSDT'"
        assert await rig.storage.db.fetchval(query) is None  # buffered until the wall-clock flush
        wall.advance(0.05)
        stamped = await eventually_async(lambda: rig.storage.db.fetchval(query), timeout=10)
        assert stamped == MARKET_START + dt.timedelta(seconds=5)


async def test_the_monitor_ticks_on_the_wall_clock_and_decides_on_the_market_day(
    risk_db_url: str, redis_clean_url: str
) -> None:
    wall, market = _clocks()
    rules = PositionRules(auto_funding_exit=False)
    config = MonitorConfig(position_rules=rules)
    async with running_risk(risk_db_url, redis_clean_url, monitor=config, clock=wall, market=market) as rig:
        # -5R closed an hour ago in market time: in the wall clock's frame it lies 40 days ahead.
        await rig.storage.db.execute(
            "INSERT INTO positions (symbol, side, status, requested_size_base, executed_size_base, "
            "avg_entry_price, risk_usd, risk_r, opened_at, closed_at, close_reason, pnl_usd) "
            "VALUES ('BTCUSDT', 'long', 'closed', 1, 1, 100, 25, 1, $1, $2, 'sl', -125)",
            MARKET_START - dt.timedelta(hours=2),
            MARKET_START - dt.timedelta(hours=1),
        )
        funding_at = MARKET_START + dt.timedelta(minutes=5)
        rig.monitor.tell(
            PositionMarked(position=position("p1"), mark=Decimal("100.1"), next_funding_time=funding_at)
        )
        market.advance(30.0)  # market time moves; the monitor's tick still waits on the wall clock
        assert (await rig.bridge.ask(rig.monitor, GetMonitorSnapshot(), timeout=5)).last_tick_at is None
        wall.advance(60.0)

        async def assessed() -> MonitorSnapshot | None:
            snap: MonitorSnapshot = await rig.bridge.ask(rig.monitor, GetMonitorSnapshot(), timeout=5)
            return snap if snap.last_tick_at is not None else None

        snap = await eventually_async(assessed, timeout=10)
        assert snap.last_tick_at == MARKET_START + dt.timedelta(seconds=30)
        assert snap.last_assessment is not None
        assert snap.last_assessment.daily_drawdown_r == 5
        assert ("daily_drawdown", MARKET_START.date()) in snap.fired

        async def halted() -> bool:
            record = (await rig.snapshot()).record
            return record is not None and record.state is TradingState.HALTED

        await eventually_async(halted, timeout=10)
        record = (await rig.snapshot()).record
        assert record is not None
        assert record.changed_at == MARKET_START + dt.timedelta(seconds=30)
        (warning,) = rig.positions.of(FundingExitWarning)
        assert warning.time_to_funding_s == 270.0  # funding time − market now, like with like
        assert warning.at == MARKET_START + dt.timedelta(seconds=30)


async def test_the_rebuild_counts_recent_signals_in_market_time_and_skips_another_timelines(
    risk_db_url: str, redis_clean_url: str
) -> None:
    wall, market = _clocks()
    market.advance(10 * 86_400.0)  # a market day of its own in this module
    now = market.now()
    recent = make_signal("DOTUSDT", at=now - dt.timedelta(seconds=100))
    expired = make_signal("LTCUSDT", at=now - dt.timedelta(seconds=1000))
    # Stored by an earlier simulation whose accelerated clock ran hours ahead of this run's start.
    ahead = make_signal("BNBUSDT", at=now + dt.timedelta(hours=3))
    async with open_risk_storage(risk_db_url, redis_clean_url) as storage:
        store = storage.market()
        for signal in (recent, expired, ahead):
            assert await store.store_signal(signal, "new", None)
    async with running_risk(risk_db_url, redis_clean_url, clock=wall, market=market) as rig:
        snap = await rig.snapshot()
        assert [p.symbol for p in snap.positions] == ["DOTUSDT"]
        assert list(snap.churn) == [("DOTUSDT", "long", now - dt.timedelta(seconds=100))]
        assert isinstance(await _check(rig, make_signal("BNBUSDT", at=now)), SignalAllowed)
        market.advance(800.0)  # the recent reservation ends 900 market seconds after its signal
        snap = await rig.snapshot()
        assert [p.symbol for p in snap.positions] == ["BNBUSDT"]
