"""Prometheus metrics of the gateway (G-06): HTTP latency per route template, actor restarts and crashes by
kind (read from the supervision tree at scrape time), SSE clients and published signals.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, Histogram
from prometheus_client import Counter as PromCounter
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.feed import SignalFeed
from gateway.hub import SignalHub
from gateway.relay import RelayStats

__all__ = ["FeedCollector", "GatewayMetrics", "LatencyMiddleware", "OutboxCollector", "SupervisionCollector"]

_LATENCY_BUCKETS_MS = (0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)


def walk_tree(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Yield ``node`` and all its descendants (depth first)."""
    yield node
    for child in node.get("children") or ():
        yield from walk_tree(child)


class SupervisionCollector(Collector):
    """Exposes the last supervision tree seen as restart/crash counters and a status gauge by kind."""

    def __init__(self) -> None:
        self._tree: Mapping[str, Any] | None = None

    def update(self, tree: Mapping[str, Any]) -> None:
        """Remember ``tree`` for the next scrape."""
        self._tree = tree

    def collect(self) -> Iterable[Metric]:
        """Yield ``actor_restarts_total{kind}``, ``actor_crashes_total{kind}`` and ``actors{kind,status}``."""
        restarts: Counter[str] = Counter()
        crashes: Counter[str] = Counter()
        states: Counter[tuple[str, str]] = Counter()
        if self._tree is not None:
            for node in walk_tree(self._tree):
                kind = str(node.get("kind", "unknown"))
                count = int(node.get("restarts") or 0)
                status = str(node.get("status", "unknown"))
                restarts[kind] += count
                # Every restart follows a crash; a child left "failed" crashed without being restarted.
                crashes[kind] += count + (1 if status == "failed" else 0)
                states[(kind, status)] += 1
        restart_family = CounterMetricFamily("actor_restarts", "Actor restarts by kind.", labels=["kind"])
        crash_family = CounterMetricFamily("actor_crashes", "Actor crashes by kind.", labels=["kind"])
        for kind in sorted(set(restarts) | set(crashes)):
            restart_family.add_metric([kind], restarts[kind])
            crash_family.add_metric([kind], crashes[kind])
        status_family = GaugeMetricFamily("actors", "Actors by kind and status.", labels=["kind", "status"])
        for (kind, status), n in sorted(states.items()):
            status_family.add_metric([kind, status], n)
        yield restart_family
        yield crash_family
        yield status_family


class FeedCollector(Collector):
    """Monotonic counts of the signal feed and the SSE hub, read at scrape time (Counters, G-06)."""

    def __init__(self, hub: SignalHub, feed: SignalFeed) -> None:
        self._hub = hub
        self._feed = feed

    def collect(self) -> Iterable[Metric]:
        """Yield ``signals_generated_total{symbol,side}`` and the feed's and hub's counters."""
        generated = CounterMetricFamily(
            "signals_generated",
            "Signals generated and published, by symbol and side.",
            labels=["symbol", "side"],
        )
        for (symbol, side), n in sorted(self._feed.generated.items()):
            generated.add_metric([symbol, side], n)
        yield generated
        yield CounterMetricFamily(
            "gateway_signals_published",
            "Events without a state change of their own written to the outbox by the feed.",
            value=self._feed.published,
        )
        yield CounterMetricFamily(
            "gateway_signals_lost",
            "Events dropped by the feed (buffer full).",
            value=self._feed.dropped + self._feed.lost,
        )
        yield CounterMetricFamily(
            "sse_clients_cut_off",
            "SSE clients cut off because their buffer was full.",
            value=self._hub.dropped_slow,
        )


class OutboxCollector(Collector):
    """The outbox relay's counters and gauges, read at scrape time (G-03, G-06)."""

    def __init__(self, stats: RelayStats) -> None:
        self._stats = stats

    def collect(self) -> Iterable[Metric]:
        """Yield the relayed, duplicate, error and purge counts, the backlog and the lag of the oldest row."""
        s = self._stats
        yield CounterMetricFamily(
            "outbox_relayed", "UI events moved from the outbox to the Redis Stream.", value=s.relayed
        )
        yield CounterMetricFamily(
            "outbox_relay_duplicates",
            "Outbox rows found on the stream already (a relay retried after an interruption).",
            value=s.duplicates,
        )
        yield CounterMetricFamily(
            "outbox_relay_errors", "Relay attempts failed (Redis or PostgreSQL unavailable).", value=s.errors
        )
        yield CounterMetricFamily("outbox_purged", "Relayed outbox rows deleted (retention).", value=s.purged)
        yield GaugeMetricFamily("outbox_backlog", "Outbox rows not relayed yet.", value=s.backlog_rows)
        yield GaugeMetricFamily(
            "outbox_lag_seconds", "Age of the oldest outbox row not relayed yet (0: none).", value=s.lag_s
        )


class GatewayMetrics:
    """The gateway's own registry (one per app, so tests can build several apps in one process)."""

    def __init__(self, hub: SignalHub, feed: SignalFeed) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_latency = Histogram(
            "http_request_duration_ms",
            "Time to the response start, per route template (G-06).",
            ["method", "route", "status"],
            buckets=_LATENCY_BUCKETS_MS,
            registry=self.registry,
        )
        self.supervision = SupervisionCollector()
        self.registry.register(self.supervision)
        Gauge("sse_clients", "Connected SSE clients.", registry=self.registry).set_function(
            lambda: hub.clients
        )
        self.registry.register(FeedCollector(hub, feed))
        self.engine_errors = PromCounter(
            "gateway_engine_errors",
            "Engine asks answered 503, by reason.",
            ["reason"],
            registry=self.registry,
        )

    def watch_relay(self, stats: RelayStats) -> None:
        """Expose the outbox relay's ``stats`` on this registry (``gateway.serve`` calls it once)."""
        self.registry.register(OutboxCollector(stats))


class LatencyMiddleware:
    """ASGI middleware observing the time to ``http.response.start`` per route template."""

    def __init__(self, app: ASGIApp, metrics: GatewayMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = scope.get("route")
                template = getattr(route, "path", None) or "unmatched"
                self.metrics.http_latency.labels(scope["method"], template, str(message["status"])).observe(
                    (time.perf_counter() - started) * 1000.0
                )
            await send(message)

        await self.app(scope, receive, timed_send)
