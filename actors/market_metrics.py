"""Prometheus metrics of market-data integrity (D-02, P-06): holes, repairs, skipped signals, stored streams;
and the signal generation latency of G-06.

One instance per engine, registered on the registry the gateway serves on ``/metrics`` (the risk room's); the
feed, indicator and signal behaviours and the stream recorder count into it from their own threads
(``prometheus_client`` counters are thread-safe). Tests pass a fresh ``CollectorRegistry``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["MarketMetrics"]

_LATENCY_BUCKETS_MS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)


class MarketMetrics:
    """The market-data collectors, registered on one registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self.bars_absent = Counter(
            "algogrid_market_bars_absent",
            "Confirmed 5m bars found absent against the exchange clock (holes), by symbol.",
            ["symbol"],
            registry=self.registry,
        )
        self.bars_repaired = Counter(
            "algogrid_market_bars_repaired",
            "Absent 5m bars fetched over REST, stored as rest_backfill and folded in order, by symbol.",
            ["symbol"],
            registry=self.registry,
        )
        self.bars_missing = Counter(
            "algogrid_market_bars_missing",
            "Absent 5m bars that could not be recovered (marked missing, never invented), by symbol.",
            ["symbol"],
            registry=self.registry,
        )
        self.repair_fetches = Counter(
            "algogrid_market_repair_fetches",
            "REST fetches of holes by outcome (ok, failed).",
            ["outcome"],
            registry=self.registry,
        )
        self.signals_skipped = Counter(
            "algogrid_signal_skipped",
            "Bars not evaluated for a signal, by symbol and reason (missing_bar, repaired_bar).",
            ["symbol", "reason"],
            registry=self.registry,
        )
        self.stream_rows = Counter(
            "algogrid_market_stream_rows",
            "Public stream rows by stream (trades, tickers, funding) and outcome (stored, duplicate, "
            "dropped, failed).",
            ["stream", "outcome"],
            registry=self.registry,
        )
        self.signal_generation_latency = Histogram(
            "signal_generation_latency_ms",
            "Time from a confirmed bar's arrival to its signal being stored and published (G-06).",
            buckets=_LATENCY_BUCKETS_MS,
            registry=self.registry,
        )
