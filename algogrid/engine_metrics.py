"""Prometheus view of the engine's exchange side (G-06), read from the sessions' and clients' stats at scrape.

``ws_reconnects_total{channel}`` and ``ws_messages_total{channel}`` (public / private sessions),
``rate_limit_hits_total{endpoint}`` (E-08 buckets: a call that had to wait or was refused),
``bybit_errors_total{type}`` (REST: ``rejected`` answers, ``unknown_outcome`` requests, ``retried`` calls);
and ``db_query_duration_ms{query}``, observed by the storage facade for every statement (``QueryTimings``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.metrics_core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["EngineCollector", "QueryTimings"]

_QUERY_BUCKETS_MS = (0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 1000, 5000)


class QueryTimings:
    """``db_query_duration_ms{query}``: the storage facade's observer (``Database.instrument``).

    The label is the statement's verb and first table (``storage.query_labels``), never an argument value.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self._histogram = Histogram(
            "db_query_duration_ms",
            "PostgreSQL statement duration by statement (verb and first table), as the caller waited for it.",
            ["query"],
            buckets=_QUERY_BUCKETS_MS,
            registry=registry,
        )

    def __call__(self, label: str, elapsed_ms: float) -> None:
        """Observe one statement."""
        self._histogram.labels(label).observe(elapsed_ms)


class EngineCollector(Collector):
    """Reads the running engine's counters (plain ints written by the trio thread) at scrape time."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    def collect(self) -> Iterable[Metric]:
        """Yield the WS, rate-limit and Bybit error counters."""
        reconnects = CounterMetricFamily("ws_reconnects", "WS reconnects by channel.", labels=["channel"])
        messages = CounterMetricFamily("ws_messages", "WS messages received by channel.", labels=["channel"])
        for session in (self._engine.session, self._engine.private_session):
            if session is not None:
                reconnects.add_metric([session.stats.channel], session.stats.reconnects)
                messages.add_metric([session.stats.channel], session.stats.messages)
        yield reconnects
        yield messages
        hits = CounterMetricFamily(
            "rate_limit_hits", "Exchange rate-limit waits and refusals by bucket (E-08).", labels=["endpoint"]
        )
        errors = CounterMetricFamily("bybit_errors", "Bybit REST errors by type.", labels=["type"])
        rest = self._engine.rest
        if rest is not None:
            limiter = rest.rate_limiter
            if limiter is not None:
                for bucket, stats in sorted(limiter.stats.items()):
                    hits.add_metric([bucket], stats.waited + stats.rejected)
            errors.add_metric(["rejected"], rest.stats.errors)
            errors.add_metric(["unknown_outcome"], rest.stats.unknown_outcomes)
            errors.add_metric(["retried"], rest.stats.retries)
        yield hits
        yield errors
