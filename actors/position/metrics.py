"""Prometheus metrics of the trading path (G-06): positions opened and closed, realised PnL, slippage.

One instance per engine, on the registry the gateway serves on ``/metrics``; the PositionActors count into it
from their own threads (``prometheus_client`` collectors are thread-safe). Counters move only on a transition
a position makes once (entry settled, close acknowledged after its commit, a fill new to the ledger), so a
rebuilt actor does not count again what its previous incarnation counted. Tests pass a fresh registry.

Realised PnL is signed, a counter is not: profits and losses are two counters (their ratio is the profit
factor, their difference the net PnL).
"""

from __future__ import annotations

from decimal import Decimal

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["ExecutionMetrics"]

_SLIPPAGE_BUCKETS_BPS = (-50, -20, -10, -5, -2, 0, 2, 5, 10, 20, 50, 100)


class ExecutionMetrics:
    """The trading path's collectors, registered on one registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self.positions_opened = Counter(
            "positions_opened",
            "Positions whose entry settled with a fill (open or partially accepted), by symbol and side.",
            ["symbol", "side"],
            registry=self.registry,
        )
        self.positions_closed = Counter(
            "algogrid_positions_closed",
            "Positions closed with the exchange's closed-PnL, by symbol and close reason.",
            ["symbol", "reason"],
            registry=self.registry,
        )
        self.realised_profit = Counter(
            "algogrid_realised_profit_usd",
            "Sum of the positive realised PnL of closed positions (exchange figures), USD.",
            ["symbol"],
            registry=self.registry,
        )
        self.realised_loss = Counter(
            "algogrid_realised_loss_usd",
            "Sum of the absolute negative realised PnL of closed positions (exchange figures), USD.",
            ["symbol"],
            registry=self.registry,
        )
        self.slippage = Histogram(
            "algogrid_execution_slippage_bps",
            "Slippage of each new fill against its requested price, in bps (positive: worse), by leg.",
            ["leg"],
            buckets=_SLIPPAGE_BUCKETS_BPS,
            registry=self.registry,
        )
        self.slippage_excess = Histogram(
            "algogrid_execution_slippage_excess_bps",
            "Realised minus modelled slippage of each new fill, in bps (positive: worse than the model).",
            ["leg"],
            buckets=_SLIPPAGE_BUCKETS_BPS,
            registry=self.registry,
        )

    def opened(self, symbol: str, side: str) -> None:
        """Count a position whose entry settled with a fill."""
        self.positions_opened.labels(symbol, side).inc()

    def closed(self, symbol: str, reason: str | None, pnl_usd: Decimal) -> None:
        """Count a closed position and its realised PnL."""
        self.positions_closed.labels(symbol, reason or "unknown").inc()
        if pnl_usd > 0:
            self.realised_profit.labels(symbol).inc(float(pnl_usd))
        elif pnl_usd < 0:
            self.realised_loss.labels(symbol).inc(float(-pnl_usd))

    def filled(self, leg: str, slippage_bps: Decimal, modelled_bps: Decimal | None) -> None:
        """Observe one new fill's slippage (and its excess over the model when one is known)."""
        self.slippage.labels(leg).observe(float(slippage_bps))
        if modelled_bps is not None:
            self.slippage_excess.labels(leg).observe(float(slippage_bps - modelled_bps))
