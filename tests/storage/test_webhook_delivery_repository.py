"""The webhook delivery log against real PostgreSQL: a pending row, then one update per attempt (G-05)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import orjson

from storage import Storage

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
URL = "http://127.0.0.1:9/hook"


@dataclass(frozen=True)
class _Alert:
    event: str
    symbol: str | None


@dataclass(frozen=True)
class _Attempt:
    attempt: int
    delivered: bool
    final: bool
    status_code: int | None
    error: str | None
    at: dt.datetime
    next_attempt_at: dt.datetime | None


async def _row(storage: Storage, delivery_id: int) -> dict[str, object]:
    row = await storage.db.fetchrow(
        "SELECT event, url, symbol, status, attempts, last_status_code, last_error, delivered_at, "
        "next_attempt_at, payload FROM webhook_deliveries WHERE id = $1",
        delivery_id,
    )
    assert row is not None
    return dict(row)


async def test_a_delivery_is_pending_then_logged_attempt_by_attempt(risk_storage: Storage) -> None:
    log = risk_storage.webhook_deliveries
    payload = orjson.dumps({"event": "funding_exit", "alert_id": "a-1"})
    delivery_id = await log.open_delivery(_Alert("funding_exit", "ETHUSDT"), URL, payload, T0)
    opened = await _row(risk_storage, delivery_id)
    assert (opened["event"], opened["url"], opened["symbol"]) == ("funding_exit", URL, "ETHUSDT")
    assert (opened["status"], opened["attempts"], opened["next_attempt_at"]) == ("pending", 0, T0)
    assert opened["payload"] == {"event": "funding_exit", "alert_id": "a-1"}

    retry_at = T0 + dt.timedelta(seconds=2)
    await log.record_attempt(delivery_id, _Attempt(1, False, False, 503, "HTTP 503", T0, retry_at))
    failed_once = await _row(risk_storage, delivery_id)
    once = (failed_once["status"], failed_once["attempts"], failed_once["last_status_code"])
    assert once == ("pending", 1, 503)
    assert (failed_once["last_error"], failed_once["next_attempt_at"]) == ("HTTP 503", retry_at)

    await log.record_attempt(delivery_id, _Attempt(2, True, True, 200, None, retry_at, None))
    delivered = await _row(risk_storage, delivery_id)
    twice = (delivered["status"], delivered["attempts"], delivered["last_status_code"])
    assert twice == ("delivered", 2, 200)
    assert (delivered["delivered_at"], delivered["next_attempt_at"]) == (retry_at, retry_at)


async def test_a_last_failed_attempt_marks_the_delivery_failed(risk_storage: Storage) -> None:
    log = risk_storage.webhook_deliveries
    delivery_id = await log.open_delivery(_Alert("kill_switch", None), URL, b"{}", T0)
    await log.record_attempt(delivery_id, _Attempt(5, False, True, None, "connection refused", T0, None))
    row = await _row(risk_storage, delivery_id)
    assert (row["status"], row["attempts"], row["last_error"], row["delivered_at"]) == (
        "failed", 5, "connection refused", None
    )
