"""The webhook dispatcher with its real delivery log (PostgreSQL ``webhook_deliveries``, G-05)."""

from __future__ import annotations

import datetime as dt

import trio

from actors.risk import Alert, AlertKind, Severity, WebhookConfig, WebhookDispatcher
from tests.risk.risk_kit import open_risk_storage
from tests.risk.risk_receiver import run_receiver

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


async def test_webhook_deliveries_are_logged_attempt_by_attempt(
    risk_db_url: str, redis_clean_url: str
) -> None:
    alert = Alert(event=AlertKind.FUNDING_EXIT, severity=Severity.WARNING, at=T0, symbol="ETHUSDT")
    async with (
        open_risk_storage(risk_db_url, redis_clean_url) as storage,
        run_receiver([503, 200]) as receiver,
    ):
        config = WebhookConfig(urls=(receiver.url,), secret="s", backoff_initial_s=0.0, backoff_jitter=0.0)
        dispatcher = WebhookDispatcher(config, storage.webhook_deliveries)
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
