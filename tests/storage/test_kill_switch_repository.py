"""The trading state and kill switch against real PostgreSQL and Redis: state + audit rows, Redis mirror."""

from __future__ import annotations

import datetime as dt

import orjson

from storage import (
    MIRROR_KEY,
    ChangeSource,
    KillSwitchRepository,
    Storage,
    StorageConfig,
    TradingStateRecord,
    open_storage,
)
from strategy_core import TradingState

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def _record(state: TradingState, reason: str, by: str, minutes: int = 0) -> TradingStateRecord:
    return TradingStateRecord(
        state=state,
        kill_switch=state is not TradingState.ACTIVE,
        reason=reason,
        changed_by=by,
        source=ChangeSource.OPERATOR,
        changed_at=T0 + dt.timedelta(minutes=minutes),
    )


async def test_a_fresh_database_starts_active(risk_storage: Storage) -> None:
    record = await risk_storage.kill_switch.load_trading_state(T0)
    assert record.state is TradingState.ACTIVE
    assert not record.kill_switch


async def test_an_empty_table_reads_as_the_initial_record(risk_storage: Storage) -> None:
    await risk_storage.db.execute("DELETE FROM kill_switch_state")
    assert await risk_storage.kill_switch.load_trading_state(T0) == TradingStateRecord.initial(T0)


async def test_each_change_is_persisted_audited_and_mirrored(risk_storage: Storage) -> None:
    store = risk_storage.kill_switch
    await store.save_trading_state(_record(TradingState.HALTED, "drill", "alice"))
    reducing = _record(TradingState.REDUCING, "exit positions", "bob", minutes=1)
    await store.save_trading_state(reducing)
    loaded = await store.load_trading_state(T0)
    history = await store.audit_history(limit=2)
    mirrored = orjson.loads(await risk_storage.redis.get(MIRROR_KEY) or "{}")
    assert loaded == reducing
    assert [(h["actor"], h["trading_state"], h["previous"], h["reason"]) for h in history] == [
        ("bob", "REDUCING", "HALTED", "exit positions"),
        ("alice", "HALTED", "ACTIVE", "drill"),
    ]
    assert mirrored["state"] == "REDUCING"
    assert mirrored["kill_switch"] is True
    assert await store.read_mirror() == reducing.to_mirror()


async def test_the_source_of_an_automatic_change_survives_a_reload(
    risk_storage: Storage, storage_config: StorageConfig
) -> None:
    halted = TradingStateRecord(
        state=TradingState.HALTED,
        kill_switch=True,
        reason="daily drawdown -3.5R beyond -3R",
        changed_by="monitor",
        source=ChangeSource.KILL_CONDITION,
        changed_at=T0,
    )
    await risk_storage.kill_switch.save_trading_state(halted)
    async with open_storage(storage_config) as reopened:  # another process: its own pool
        assert await reopened.kill_switch.load_trading_state(T0) == halted


async def test_without_redis_a_change_is_stored_and_nothing_is_mirrored(risk_storage: Storage) -> None:
    store = KillSwitchRepository(risk_storage.db)
    halted = _record(TradingState.HALTED, "no mirror", "carol")
    await store.save_trading_state(halted)
    assert await store.load_trading_state(T0) == halted
    assert await store.read_mirror() is None
    assert await risk_storage.redis.get(MIRROR_KEY) is None
