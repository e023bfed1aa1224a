"""The risk repository against real PostgreSQL and Redis: state + audit, denials, delivery log, mirror."""

from __future__ import annotations

import datetime as dt
import uuid

import orjson
from risk_adapters import open_clients

from actors.risk import (
    MIRROR_KEY,
    ChangeSource,
    DeliveryAttempt,
    DenialRecord,
    RiskStore,
    TradingState,
)

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


async def test_a_fresh_database_starts_active(risk_db_url: str, risk_redis_url: str) -> None:
    async with open_clients(risk_db_url, risk_redis_url) as (sql, mirror):
        record = await RiskStore(sql, mirror).load_trading_state(T0)
    assert record.state is TradingState.ACTIVE
    assert record.version == 0
    assert not record.kill_switch_engaged


async def test_each_change_is_persisted_audited_and_mirrored(risk_db_url: str, risk_redis_url: str) -> None:
    async with open_clients(risk_db_url, risk_redis_url) as (sql, mirror):
        store = RiskStore(sql, mirror)
        first = await store.save_trading_state(
            state=TradingState.HALTED, reason="drill", changed_by="alice", source=ChangeSource.OPERATOR, at=T0
        )
        second = await store.save_trading_state(
            state=TradingState.REDUCING,
            reason="exit positions",
            changed_by="bob",
            source=ChangeSource.OPERATOR,
            at=T0 + dt.timedelta(minutes=1),
        )
        loaded = await store.load_trading_state(T0)
        history = await store.audit_history()
        mirrored = orjson.loads(await mirror.get(MIRROR_KEY) or b"{}")
    assert (first.version, second.version) == (1, 2)
    assert loaded == second
    assert [(h["actor"], h["trading_state"], h["reason"], h["version"]) for h in history] == [
        ("bob", "REDUCING", "exit positions", 2),
        ("alice", "HALTED", "drill", 1),
    ]
    assert mirrored["state"] == "REDUCING"
    assert mirrored["kill_switch"] is True
    assert mirrored["version"] == 2


async def test_denials_and_deliveries_are_logged(risk_db_url: str, risk_redis_url: str) -> None:
    async with open_clients(risk_db_url, risk_redis_url) as (sql, mirror):
        store = RiskStore(sql, mirror)
        await store.record_denial(
            DenialRecord(
                subject="signal",
                subject_id="sig-1",
                symbol="BTCUSDT",
                side="long",
                reason="max_concurrent_positions",
                trading_state=TradingState.ACTIVE,
                at=T0,
            )
        )
        alert_id = uuid.uuid4()
        await store.record_delivery(
            DeliveryAttempt(
                alert_id=alert_id,
                event="break_even",
                url="http://127.0.0.1/hook",
                attempt=2,
                delivered=False,
                final=True,
                status_code=503,
                error="expected a 2xx status, got 503",
                at=T0,
            )
        )
        denials = await sql.fetch("SELECT subject_id, reason FROM risk_denials")
        deliveries = await sql.fetch("SELECT alert_id, attempt, status_code FROM webhook_deliveries")
    assert [(r["subject_id"], r["reason"]) for r in denials] == [("sig-1", "max_concurrent_positions")]
    assert [(r["alert_id"], r["attempt"], r["status_code"]) for r in deliveries] == [(alert_id, 2, 503)]
