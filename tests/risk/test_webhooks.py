"""Webhook delivery against a real local HTTP receiver: signatures, retries with backoff, timeouts (G-05)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from decimal import Decimal

import orjson
import pytest
import trio
from prometheus_client import CollectorRegistry
from trio.testing import MockClock

from actors.risk import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Alert,
    AlertKind,
    DeliveryAttempt,
    RiskMetrics,
    Severity,
    WebhookConfig,
    WebhookDispatcher,
    verify_signature,
)
from tests.risk.risk_receiver import run_receiver

SECRET = "test-webhook-secret"
AT = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> MockClock:
    # Jump virtual time only after 50 ms of real idleness, so a real loopback round trip is never
    # mistaken for a timeout while backoff pauses and hung receivers still cost no real time.
    return MockClock(autojump_threshold=0.05)


class MemoryDeliveryLog:
    """Collects delivery attempts (the PostgreSQL log is tested in test_store.py)."""

    def __init__(self) -> None:
        self.opened: list[tuple[str, str]] = []
        self.attempts: list[DeliveryAttempt] = []

    async def open_delivery(self, alert: Alert, url: str, payload: bytes, at: dt.datetime) -> int:
        self.opened.append((alert.event.value, url))
        return len(self.opened)

    async def record_attempt(self, delivery_id: int, attempt: DeliveryAttempt) -> None:
        assert delivery_id == len(self.opened)
        self.attempts.append(attempt)


def _alert() -> Alert:
    return Alert(
        event=AlertKind.BREAK_EVEN,
        severity=Severity.INFO,
        at=AT,
        position_id="pos-1",
        symbol="BTCUSDT",
        details=(("entry", str(Decimal("65000.5"))),),
    )


def _config(url: str, **overrides: object) -> WebhookConfig:
    values: dict[str, object] = {
        "urls": (url,),
        "secret": SECRET,
        "timeout_s": 2.0,
        "max_attempts": 4,
        "backoff_initial_s": 1.0,
        "backoff_jitter": 0.0,
    }
    values.update(overrides)
    return WebhookConfig.model_validate(values)


async def test_delivery_is_signed_with_the_shared_secret(clock: MockClock) -> None:
    async with run_receiver([200]) as receiver:
        dispatcher = WebhookDispatcher(_config(receiver.url))
        async with trio.open_nursery() as nursery:
            await nursery.start(dispatcher.run)
            attempt = await dispatcher.deliver(_alert(), receiver.url)
            nursery.cancel_scope.cancel()
    assert attempt.delivered
    assert attempt.attempt == 1
    (request,) = receiver.received
    timestamp = request.headers[TIMESTAMP_HEADER.lower()]
    signature = request.headers[SIGNATURE_HEADER.lower()]
    assert verify_signature(SECRET, timestamp, request.body, signature)
    assert not verify_signature("wrong-secret", timestamp, request.body, signature)
    assert not verify_signature(SECRET, timestamp, request.body + b" ", signature)
    body = orjson.loads(request.body)
    assert body["event"] == "break_even"
    assert body["position_id"] == "pos-1"
    assert body["symbol"] == "BTCUSDT"
    assert dt.datetime.fromisoformat(body["at"]) == AT
    assert body["entry"] == "65000.5"


async def test_server_errors_are_retried_with_exponential_backoff(clock: MockClock) -> None:
    delivery_log = MemoryDeliveryLog()
    async with run_receiver([503, 500, 200]) as receiver:
        dispatcher = WebhookDispatcher(_config(receiver.url), delivery_log)
        async with trio.open_nursery() as nursery:
            await nursery.start(dispatcher.run)
            attempt = await dispatcher.deliver(_alert(), receiver.url)
            nursery.cancel_scope.cancel()
    assert attempt.delivered
    assert attempt.attempt == 3
    gaps = [b.at - a.at for a, b in zip(receiver.received, receiver.received[1:], strict=False)]
    assert gaps[0] == pytest.approx(1.0, abs=0.2)
    assert gaps[1] == pytest.approx(2.0, abs=0.2)
    assert [(a.attempt, a.status_code, a.delivered, a.final) for a in delivery_log.attempts] == [
        (1, 503, False, False),
        (2, 500, False, False),
        (3, 200, True, True),
    ]
    # every retry is signed again and carries the same alert id for deduplication
    ids = {orjson.loads(r.body)["alert_id"] for r in receiver.received}
    assert len(ids) == 1


async def test_a_delivered_break_even_observes_its_latency_from_detection(clock: MockClock) -> None:
    registry = CollectorRegistry()
    metrics = RiskMetrics(registry)
    async with run_receiver([200, 200, 400]) as receiver:
        dispatcher = WebhookDispatcher(_config(receiver.url, max_attempts=1), metrics=metrics)
        async with trio.open_nursery() as nursery:
            await nursery.start(dispatcher.run)
            # detected 50 ms (of the metric's monotonic clock) before the delivery starts
            be = dataclasses.replace(_alert(), raised_ns=time.perf_counter_ns() - 50_000_000)
            assert (await dispatcher.deliver(be, receiver.url)).delivered
            other = Alert(event=AlertKind.FUNDING_EXIT, severity=Severity.INFO, at=AT, symbol="BTCUSDT")
            assert (await dispatcher.deliver(other, receiver.url)).delivered
            assert not (await dispatcher.deliver(_alert(), receiver.url)).delivered
            nursery.cancel_scope.cancel()
    # only the delivered break-even is observed: not the other kind, not the refused one
    assert registry.get_sample_value("be_delivery_latency_ms_count") == 1
    assert (registry.get_sample_value("be_delivery_latency_ms_sum") or 0) >= 50


async def test_client_errors_are_not_retried(clock: MockClock) -> None:
    delivery_log = MemoryDeliveryLog()
    async with run_receiver([400]) as receiver:
        dispatcher = WebhookDispatcher(_config(receiver.url), delivery_log)
        async with trio.open_nursery() as nursery:
            await nursery.start(dispatcher.run)
            attempt = await dispatcher.deliver(_alert(), receiver.url)
            nursery.cancel_scope.cancel()
    assert not attempt.delivered
    assert attempt.final
    assert attempt.status_code == 400
    assert len(receiver.received) == 1


async def test_a_hung_receiver_times_out_and_gives_up_after_max_attempts(clock: MockClock) -> None:
    delivery_log = MemoryDeliveryLog()
    registry = CollectorRegistry()
    metrics = RiskMetrics(registry)
    async with run_receiver(["hang"]) as receiver:
        dispatcher = WebhookDispatcher(_config(receiver.url, max_attempts=3), delivery_log, metrics=metrics)
        async with trio.open_nursery() as nursery:
            await nursery.start(dispatcher.run)
            started = trio.current_time()
            attempt = await dispatcher.deliver(_alert(), receiver.url)
            elapsed = trio.current_time() - started
            nursery.cancel_scope.cancel()
    assert not attempt.delivered
    assert attempt.final
    assert attempt.attempt == 3
    assert all(a.error is not None and "Timeout" in a.error for a in delivery_log.attempts)
    # three 2 s timeouts plus 1 s and 2 s of backoff, in virtual time
    assert elapsed == pytest.approx(3 * 2.0 + 1.0 + 2.0, abs=0.5)
    assert registry.get_sample_value("algogrid_risk_alert_deliveries_total", {"outcome": "failed"}) == 1


async def test_submit_from_an_actor_thread_never_blocks_and_delivers_to_every_url(clock: MockClock) -> None:
    async with run_receiver([200]) as first, run_receiver(["hang"]) as second:
        config = _config(first.url, max_attempts=1)
        config = config.model_copy(update={"urls": (first.url, second.url)})
        dispatcher = WebhookDispatcher(config)
        async with trio.open_nursery() as nursery:
            await nursery.start(dispatcher.run)
            results: list[bool] = []
            thread = threading.Thread(target=lambda: results.append(dispatcher.submit(_alert())))
            thread.start()
            await trio.to_thread.run_sync(thread.join)
            assert results == [True]
            with trio.fail_after(5):
                await first.wait_for(1)
                await second.wait_for(1)
            nursery.cancel_scope.cancel()


def test_submit_without_a_running_dispatcher_drops_and_counts() -> None:
    registry = CollectorRegistry()
    dispatcher = WebhookDispatcher(_config("http://127.0.0.1:9/hook"), metrics=RiskMetrics(registry))
    assert dispatcher.submit(_alert()) is False
    assert registry.get_sample_value("algogrid_risk_alert_deliveries_total", {"outcome": "dropped"}) == 1


def test_alert_requires_an_aware_timestamp() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Alert(event=AlertKind.LOW_WIN_RATE, severity=Severity.WARNING, at=dt.datetime(2026, 1, 1))
