"""Deliver alert events to webhook URLs with an HMAC-SHA256 signature, timeouts and retries (G-05).

The dispatcher lives on the trio side (it owns the httpx client). Actors hand it alerts with
``submit(alert)``, which never blocks: it schedules an enqueue on the trio thread and returns at once.
A slow or failing receiver therefore never delays the RiskActor or the MonitorActor.

Every request carries::

    X-Algogrid-Event:     the event name
    X-Algogrid-Timestamp: unix seconds (also signed, so a captured body cannot be replayed later)
    X-Algogrid-Signature: "sha256=" + hex(HMAC_SHA256(secret, timestamp + "." + body))
"""

from __future__ import annotations

import hashlib
import hmac
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import httpx
import orjson
import structlog
import trio
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from .alerts import Alert, AlertKind
from .metrics import RiskMetrics

__all__ = [
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "AlertSink",
    "DeliveryAttempt",
    "DeliveryLog",
    "WebhookConfig",
    "WebhookDispatcher",
    "sign_payload",
    "verify_signature",
]

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Algogrid-Signature"
TIMESTAMP_HEADER = "X-Algogrid-Timestamp"
EVENT_HEADER = "X-Algogrid-Event"

_RETRYABLE_STATUS = frozenset({408, 425, 429})


class WebhookConfig(BaseModel):
    """Where and how alert webhooks are delivered (G-05)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    urls: tuple[str, ...] = ()
    secret: SecretStr = SecretStr("")
    timeout_s: float = Field(default=5.0, gt=0)
    max_attempts: int = Field(default=5, ge=1)
    backoff_initial_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=60.0, ge=0)
    backoff_jitter: float = Field(default=0.1, ge=0, le=1)
    queue_size: int = Field(default=1000, ge=1)
    max_concurrent: int = Field(default=8, ge=1)

    def backoff_s(self, failed_attempts: int) -> float:
        """Return the pause after ``failed_attempts`` failures (exponential, capped, jittered)."""
        base: float = min(self.backoff_initial_s * 2.0 ** (failed_attempts - 1), self.backoff_max_s)
        return base * (1 + self.backoff_jitter * random.random())


class AlertSink(Protocol):
    """Anything an actor can hand an alert to without blocking."""

    def submit(self, alert: Alert) -> bool:
        """Queue ``alert`` for delivery; return False when it was dropped."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryAttempt:
    """One HTTP attempt to deliver one alert to one URL (a row update of ``webhook_deliveries``).

    ``next_attempt_at`` is set when another attempt will follow; ``final`` when none will.
    """

    alert_id: uuid.UUID
    event: str
    url: str
    attempt: int
    delivered: bool
    final: bool
    status_code: int | None
    error: str | None
    at: datetime
    next_attempt_at: datetime | None


class DeliveryLog(Protocol):
    """Persist deliveries and their attempts (the delivery log of G-05)."""

    async def open_delivery(self, alert: Alert, url: str, payload: bytes, at: datetime) -> int:
        """Create the pending delivery of ``alert`` to ``url`` and return its id."""
        ...

    async def record_attempt(self, delivery_id: int, attempt: DeliveryAttempt) -> None:
        """Store the outcome of one attempt of delivery ``delivery_id``."""
        ...


def sign_payload(secret: str, timestamp: str, body: bytes) -> str:
    """Return the signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """Return True when ``header`` is the valid signature of ``body`` at ``timestamp`` (constant time)."""
    return hmac.compare_digest(sign_payload(secret, timestamp, body), header)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class WebhookDispatcher:
    """Deliver alerts to every configured URL from a trio task; see the module docstring.

    Run it in a nursery with ``await nursery.start(dispatcher.run)``; ``submit`` works from any thread
    once ``run`` has started and drops (and counts) alerts when the queue is full or the service is down.
    """

    def __init__(
        self,
        config: WebhookConfig,
        delivery_log: DeliveryLog | None = None,
        *,
        metrics: RiskMetrics | None = None,
        now: Callable[[], datetime] = _utc_now,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._config = config
        self._log = delivery_log
        self._metrics = metrics
        self._now = now
        self._transport = transport
        self._send, self._receive = trio.open_memory_channel[Alert](config.queue_size)
        self._token: trio.lowlevel.TrioToken | None = None
        self._client: httpx.AsyncClient | None = None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve queued alerts until cancelled."""
        limiter = trio.CapacityLimiter(self._config.max_concurrent)
        async with (
            httpx.AsyncClient(timeout=self._config.timeout_s, transport=self._transport) as client,
            trio.open_nursery() as nursery,
        ):
            self._client = client
            self._token = trio.lowlevel.current_trio_token()
            task_status.started()
            try:
                async for alert in self._receive:
                    for url in self._config.urls:
                        nursery.start_soon(self._deliver_limited, limiter, alert, url)
            finally:
                self._token = None

    def submit(self, alert: Alert) -> bool:
        """Queue ``alert`` from any thread without blocking; return False when it was dropped."""
        token = self._token
        if token is None or not self._config.urls:
            self._count_delivery("dropped")
            return False
        try:
            token.run_sync_soon(self._enqueue, alert)
        except trio.RunFinishedError:
            self._count_delivery("dropped")
            return False
        return True

    def _enqueue(self, alert: Alert) -> None:
        # Runs inside trio via run_sync_soon: an exception escaping here would kill the whole trio run.
        try:
            self._send.send_nowait(alert)
        except trio.WouldBlock:
            log.warning("webhook queue full", alert_event=alert.event.value)
            self._count_delivery("dropped")
        except Exception:  # boundary of run_sync_soon: never let anything escape
            log.exception("webhook enqueue failed", alert_event=alert.event.value)

    async def _deliver_limited(self, limiter: trio.CapacityLimiter, alert: Alert, url: str) -> None:
        async with limiter:
            await self.deliver(alert, url)

    async def deliver(self, alert: Alert, url: str) -> DeliveryAttempt:
        """Deliver ``alert`` to ``url``, retrying with backoff; return the last attempt."""
        body = orjson.dumps(alert.to_json_payload())
        delivery_id = await self._open(alert, url, body)
        attempt_no = 0
        while True:
            attempt_no += 1
            status, error, retryable = await self._post(alert, url, body)
            delivered = status is not None and 200 <= status < 300
            final = delivered or not retryable or attempt_no >= self._config.max_attempts
            pause = 0.0 if final else self._config.backoff_s(attempt_no)
            at = self._now()
            attempt = DeliveryAttempt(
                alert_id=alert.alert_id,
                event=alert.event.value,
                url=url,
                attempt=attempt_no,
                delivered=delivered,
                final=final,
                status_code=status,
                error=error,
                at=at,
                next_attempt_at=None if final else at + timedelta(seconds=pause),
            )
            log.info(
                "webhook attempt",
                alert_event=attempt.event,
                url=url,
                attempt=attempt_no,
                status=status,
                delivered=delivered,
                final=final,
            )
            await self._record(delivery_id, attempt)
            if final:
                self._count_delivery("delivered" if delivered else "failed")
                if delivered and alert.event is AlertKind.BREAK_EVEN and self._metrics is not None:
                    waited_ms = (time.perf_counter_ns() - alert.raised_ns) / 1e6
                    self._metrics.be_delivery_latency.observe(waited_ms)
                return attempt
            await trio.sleep(pause)

    async def _post(self, alert: Alert, url: str, body: bytes) -> tuple[int | None, str | None, bool]:
        """POST once; return (status, error, retryable)."""
        timestamp = str(int(self._now().timestamp()))
        headers = {
            "content-type": "application/json",
            EVENT_HEADER: alert.event.value,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign_payload(self._config.secret.get_secret_value(), timestamp, body),
        }
        try:
            response = await self._http().post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500], True
        status = response.status_code
        if 200 <= status < 300:
            return status, None, False
        retryable = status >= 500 or status in _RETRYABLE_STATUS
        return status, f"expected a 2xx status, got {status}", retryable

    async def _open(self, alert: Alert, url: str, body: bytes) -> int | None:
        if self._log is None:
            return None
        try:
            return await self._log.open_delivery(alert, url, body, self._now())
        except Exception:  # the delivery log is best effort: a DB blip must not stop alerting
            log.exception("webhook delivery log write failed", alert_event=alert.event.value)
            return None

    async def _record(self, delivery_id: int | None, attempt: DeliveryAttempt) -> None:
        if self._log is None or delivery_id is None:
            return
        try:
            await self._log.record_attempt(delivery_id, attempt)
        except Exception:  # the delivery log is best effort: a DB blip must not stop alerting
            log.exception("webhook delivery log write failed", alert_event=attempt.event)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            raise RuntimeError("expected WebhookDispatcher.run to be running, got no client")
        return self._client

    def _count_delivery(self, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.alert_deliveries.labels(outcome=outcome).inc()
