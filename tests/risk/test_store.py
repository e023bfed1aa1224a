"""The risk repository against real PostgreSQL and Redis: state + audit, denials, delivery log, mirror."""

from __future__ import annotations

import datetime as dt

import orjson
import trio

from actors.risk import (
    MIRROR_KEY,
    Alert,
    AlertKind,
    ChangeSource,
    DenialRecord,
    RiskStore,
    Severity,
    TradingState,
    TradingStateRecord,
    WebhookConfig,
    WebhookDispatcher,
)
from tests.risk.risk_kit import open_risk_storage
from tests.risk.risk_receiver import run_receiver

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


async def test_a_fresh_database_starts_active(risk_db_url: str, redis_clean_url: str) -> None:
    async with open_risk_storage(risk_db_url, redis_clean_url) as storage:
        record = await RiskStore(storage.db, storage.redis).load_trading_state(T0)
    assert record.state is TradingState.ACTIVE
    assert not record.kill_switch


async def test_each_change_is_persisted_audited_and_mirrored(risk_db_url: str, redis_clean_url: str) -> None:
    async with open_risk_storage(risk_db_url, redis_clean_url) as storage:
        store = RiskStore(storage.db, storage.redis)
        await store.save_trading_state(_record(TradingState.HALTED, "drill", "alice"))
        reducing = _record(TradingState.REDUCING, "exit positions", "bob", minutes=1)
        await store.save_trading_state(reducing)
        loaded = await store.load_trading_state(T0)
        history = await store.audit_history(limit=2)
        mirrored = orjson.loads(await storage.redis.get(MIRROR_KEY) or "{}")
    assert loaded == reducing
    assert [(h["actor"], h["trading_state"], h["previous"], h["reason"]) for h in history] == [
        ("bob", "REDUCING", "HALTED", "exit positions"),
        ("alice", "HALTED", "ACTIVE", "drill"),
    ]
    assert mirrored["state"] == "REDUCING"
    assert mirrored["kill_switch"] is True


async def test_the_source_of_an_automatic_change_survives_a_reload(
    risk_db_url: str, redis_clean_url: str
) -> None:
    halted = TradingStateRecord(
        state=TradingState.HALTED,
        kill_switch=True,
        reason="daily drawdown -3.5R beyond -3R",
        changed_by="monitor",
        source=ChangeSource.KILL_CONDITION,
        changed_at=T0,
    )
    async with open_risk_storage(risk_db_url, redis_clean_url) as storage:
        await RiskStore(storage.db, storage.redis).save_trading_state(halted)
    async with open_risk_storage(risk_db_url, redis_clean_url) as storage:
        assert await RiskStore(storage.db, storage.redis).load_trading_state(T0) == halted


async def test_denials_are_logged_with_code_and_sentence(risk_db_url: str, redis_clean_url: str) -> None:
    async with open_risk_storage(risk_db_url, redis_clean_url) as storage:
        await RiskStore(storage.db, storage.redis).record_denial(
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
        rows = await storage.db.fetch("SELECT reason_code, side, details FROM risk_denials")
    assert [(r["reason_code"], r["side"], r["details"]["subject_id"]) for r in rows] == [
        ("max_concurrent_positions", "long", "sig-1")
    ]


async def test_webhook_deliveries_are_logged_attempt_by_attempt(
    risk_db_url: str, redis_clean_url: str
) -> None:
    alert = Alert(event=AlertKind.FUNDING_EXIT, severity=Severity.WARNING, at=T0, symbol="ETHUSDT")
    async with (
        open_risk_storage(risk_db_url, redis_clean_url) as storage,
        run_receiver([503, 200]) as receiver,
    ):
        config = WebhookConfig(urls=(receiver.url,), secret="s", backoff_initial_s=0.0, backoff_jitter=0.0)
        dispatcher = WebhookDispatcher(config, RiskStore(storage.db, storage.redis))
        async with trio.open_nursery() as nursery:
            await nursery.start(dispatcher.run)
            await dispatcher.deliver(alert, receiver.url)
            nursery.cancel_scope.cancel()
        rows = await storage.db.fetch(
            "SELECT event, url, symbol, status, attempts, last_status_code, delivered_at, payload "
            "FROM webhook_deliveries"
        )
    (row,) = rows
    assert (row["event"], row["url"], row["symbol"]) == ("funding_exit", receiver.url, "ETHUSDT")
    assert (row["status"], row["attempts"], row["last_status_code"]) == ("delivered", 2, 200)
    assert row["delivered_at"] is not None
    assert row["payload"]["alert_id"] == str(alert.alert_id)
