"""Repository of alert webhook deliveries (G-05): one row per alert and URL, updated attempt by attempt.

A delivery starts ``pending`` with no attempt; each attempt stores its HTTP status or error and moves the row
to ``delivered`` (with ``delivered_at``), ``failed`` (the last attempt failed) or keeps it ``pending`` with
the time of the next attempt. The payload is stored as the JSON body that was signed and sent.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import orjson

from storage.database import Database

__all__ = ["AlertLike", "AttemptLike", "WebhookDeliveryRepository"]


class AlertLike(Protocol):
    """What ``open_delivery`` reads from an alert; ``actors.risk.Alert`` satisfies it."""

    @property
    def event(self) -> str: ...
    @property
    def symbol(self) -> str | None: ...


class AttemptLike(Protocol):
    """What ``record_attempt`` reads from one attempt; ``actors.risk.DeliveryAttempt`` satisfies it."""

    @property
    def attempt(self) -> int: ...
    @property
    def delivered(self) -> bool: ...
    @property
    def final(self) -> bool: ...
    @property
    def status_code(self) -> int | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def at(self) -> dt.datetime: ...
    @property
    def next_attempt_at(self) -> dt.datetime | None: ...


_OPEN_DELIVERY = """
INSERT INTO webhook_deliveries (event, url, payload, symbol, status, attempts, created_at, next_attempt_at)
VALUES ($1, $2, $3::jsonb, $4, 'pending', 0, $5, $5)
RETURNING id
"""

_RECORD_ATTEMPT = """
UPDATE webhook_deliveries SET
    attempts = $2,
    last_status_code = $3,
    last_error = $4,
    status = $5,
    delivered_at = $6,
    next_attempt_at = COALESCE($7, next_attempt_at)
WHERE id = $1
"""


class WebhookDeliveryRepository:
    """Explicit SQL over ``webhook_deliveries``; satisfies ``actors.risk.DeliveryLog``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def open_delivery(self, alert: AlertLike, url: str, payload: bytes, at: dt.datetime) -> int:
        """Create the pending delivery of ``alert`` to ``url`` (``payload``: the JSON body); return its id."""
        delivery_id: int = await self._db.fetchval(
            _OPEN_DELIVERY, str(alert.event), url, orjson.loads(payload), alert.symbol, at
        )
        return delivery_id

    async def record_attempt(self, delivery_id: int, attempt: AttemptLike) -> None:
        """Update delivery ``delivery_id`` with the outcome of one attempt."""
        if attempt.delivered:
            status = "delivered"
        elif attempt.final:
            status = "failed"
        else:
            status = "pending"
        await self._db.execute(
            _RECORD_ATTEMPT,
            delivery_id,
            attempt.attempt,
            attempt.status_code,
            attempt.error,
            status,
            attempt.at if attempt.delivered else None,
            attempt.next_attempt_at,
        )
