"""The RiskActor's repository against real PostgreSQL: denials, the exposure rebuild (R-07), trading state."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from test_storage_repositories import Sig

from storage import ChangeSource, DenialRecord, Storage, TradingStateRecord
from strategy_core import Side, TradingState
from strategy_core.config import RiskLimits
from strategy_core.exposure import OpenPosition

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def _signal(symbol: str, created_at: dt.datetime) -> Sig:
    """A long signal (status ``new``: it counts as exposure) created at ``created_at``."""
    bar_start = created_at - dt.timedelta(minutes=5)
    return Sig(uuid.uuid4(), symbol=symbol, created_at=created_at, bar_start=bar_start)


async def test_denials_are_logged_with_code_and_sentence(risk_storage: Storage) -> None:
    await risk_storage.risk_state.record_denial(
        DenialRecord(
            subject="signal",
            subject_id="sig-1",
            symbol="BTCUSDT",
            side="long",
            reason_code="max_concurrent_positions",
            reason="expected fewer than 3 open positions, got 3",
            trading_state=TradingState.ACTIVE,
            at=T0,
        )
    )
    rows = await risk_storage.db.fetch("SELECT reason_code, side, details FROM risk_denials")
    assert [(r["reason_code"], r["side"], r["details"]["subject_id"]) for r in rows] == [
        ("max_concurrent_positions", "long", "sig-1")
    ]


async def test_a_batch_of_denials_is_stored_whole(risk_storage: Storage) -> None:
    denials = [
        DenialRecord(
            subject="order",
            subject_id=f"o{n}",
            symbol="ETHUSDT",
            side=None,
            reason_code="halted",
            reason="trading is HALTED",
            trading_state=TradingState.HALTED,
            at=T0 + dt.timedelta(seconds=n),
        )
        for n in range(3)
    ]
    await risk_storage.risk_state.record_denials(denials)
    rows = await risk_storage.db.fetch("SELECT side, details FROM risk_denials ORDER BY at")
    assert [(r["side"], r["details"]["subject_id"], r["details"]["trading_state"]) for r in rows] == [
        (None, "o0", "HALTED"),
        (None, "o1", "HALTED"),
        (None, "o2", "HALTED"),
    ]


async def test_the_trading_state_goes_through_the_kill_switch_row(risk_storage: Storage) -> None:
    halted = TradingStateRecord(
        state=TradingState.HALTED,
        kill_switch=True,
        reason="drill",
        changed_by="alice",
        source=ChangeSource.OPERATOR,
        changed_at=T0,
    )
    await risk_storage.risk_state.save_trading_state(halted)
    assert await risk_storage.kill_switch.load_trading_state(T0) == halted
    assert await risk_storage.risk_state.load_trading_state(T0) == halted


async def test_exposure_is_rebuilt_from_open_positions_and_recent_signals(risk_storage: Storage) -> None:
    now = T0 + dt.timedelta(minutes=10)
    reserved = _signal("ETHUSDT", T0 + dt.timedelta(minutes=5))
    filled = _signal("BTCUSDT", T0 + dt.timedelta(minutes=5))
    too_old = _signal("SOLUSDT", T0 - dt.timedelta(hours=2))
    other_timeline = _signal("ADAUSDT", now + dt.timedelta(hours=2))
    for signal in (reserved, filled, too_old, other_timeline):
        assert await risk_storage.signals.insert(signal)
    position_id = await risk_storage.db.fetchval(
        "INSERT INTO positions (signal_id, symbol, side, requested_size_base, executed_size_base, risk_usd, "
        "risk_r) VALUES ($1, 'BTCUSDT', 'long', 40, 30, 25, 1) RETURNING id",
        filled.id,
    )

    positions, reservations, churn = await risk_storage.risk_state.load_exposure(
        now, RiskLimits(), reservation_ttl_s=900.0
    )

    # the position's entry comes from its signal while no fill price is stored; qty is the executed size
    assert positions == (
        OpenPosition(
            position_id=str(position_id), symbol="BTCUSDT", side=Side.LONG, qty=Decimal(30),
            entry=Decimal("100.5"), risk_usd=Decimal(25), risk_r=Decimal(1),
        ),
    )
    assert reservations == (
        (
            OpenPosition(
                position_id=f"signal:{reserved.id}", symbol="ETHUSDT", side=Side.LONG,
                qty=Decimal("33.333333"), entry=Decimal("100.5"), risk_usd=Decimal(25), risk_r=Decimal(1),
            ),
            reserved.created_at,
        ),
    )
    assert churn.last_entry == {
        ("ETHUSDT", Side.LONG): reserved.created_at,
        ("BTCUSDT", Side.LONG): filled.created_at,
    }


async def test_a_position_still_opening_counts_as_exposure_at_its_requested_size(
    risk_storage: Storage,
) -> None:
    # a restart in the middle of a placement (intent committed, entry not settled) must not forget the
    # exposure: the signal's reservation is gone (a position row exists), so the position row must count.
    now = T0 + dt.timedelta(minutes=10)
    clicked = _signal("BTCUSDT", T0 + dt.timedelta(minutes=5))
    assert await risk_storage.signals.insert(clicked)
    position_id = await risk_storage.db.fetchval(
        "INSERT INTO positions (signal_id, symbol, side, status, requested_size_base, risk_usd, risk_r) "
        "VALUES ($1, 'BTCUSDT', 'long', 'opening', 40, 25, 1) RETURNING id",
        clicked.id,
    )

    positions, reservations, _ = await risk_storage.risk_state.load_exposure(
        now, RiskLimits(), reservation_ttl_s=900.0
    )

    assert [(p.position_id, p.qty) for p in positions] == [(str(position_id), Decimal(40))]
    assert reservations == ()
