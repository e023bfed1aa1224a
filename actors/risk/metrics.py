"""Prometheus metrics of the risk room: decisions, trading state, kill switch, alerts, monitor gauges."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["RiskMetrics"]

_DELIVERY_BUCKETS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000)


class RiskMetrics:
    """The risk room's collectors, registered on one registry.

    Tests pass a fresh ``CollectorRegistry`` so that several instances can coexist in one process.
    """

    def __init__(self, registry: CollectorRegistry, *, stats_window_days: int = 30) -> None:
        self.registry = registry
        self.decisions = Counter(
            "algogrid_risk_decisions",
            "Risk decisions by subject (signal/order), outcome and reason.",
            ["subject", "outcome", "reason"],
            registry=registry,
        )
        self.trading_state = Gauge(
            "algogrid_risk_trading_state",
            "1 for the current trading state (ACTIVE, REDUCING, HALTED, REBUILDING), 0 for the others.",
            ["state"],
            registry=registry,
        )
        self.kill_switch_engaged = Gauge(
            "algogrid_risk_kill_switch_engaged",
            "1 while the kill switch is engaged.",
            registry=registry,
        )
        self.kill_switch_engagements = Counter(
            "algogrid_risk_kill_switch_engagements",
            "Kill-switch engagements by source (operator, reconciliation, kill_condition).",
            ["source"],
            registry=registry,
        )
        self.alerts = Counter(
            "algogrid_risk_alerts",
            "Alert events emitted by event name and severity.",
            ["event", "severity"],
            registry=registry,
        )
        self.alert_deliveries = Counter(
            "algogrid_risk_alert_deliveries",
            "Webhook deliveries by final outcome (delivered, failed, dropped).",
            ["outcome"],
            registry=registry,
        )

        self.daily_drawdown_r = Gauge(
            "algogrid_risk_daily_drawdown_r",
            "Today's drawdown of the R curve (closed trades + open UPnL), as last assessed by the monitor.",
            registry=registry,
        )
        self.daily_drawdown_limit_r = Gauge(
            "algogrid_risk_daily_drawdown_limit_r",
            "The configured daily drawdown limit in R beyond which the monitor halts trading (R-04).",
            registry=registry,
        )
        self.performance = Gauge(
            "algogrid_risk_performance",
            "Trade statistics of the monitor's window: win_rate, profit_factor, net_expectancy_r, trades.",
            ["stat"],
            registry=registry,
        )
        # G-06 names: the window is the monitor's stats_window_days (30 by default: win_rate_last_30d)
        self.win_rate = Gauge(
            f"win_rate_last_{stats_window_days}d",
            f"Win rate of the trades closed in the last {stats_window_days} days (0..1).",
            registry=registry,
        )
        self.profit_factor = Gauge(
            f"profit_factor_last_{stats_window_days}d",
            f"Profit factor of the trades closed in the last {stats_window_days} days.",
            registry=registry,
        )
        self.max_drawdown_pct = Gauge(
            "max_drawdown_pct",
            "Largest fall of daily equity from its running peak over the monitor's equity days, in percent.",
            registry=registry,
        )
        self.be_delivery_latency = Histogram(
            "be_delivery_latency_ms",
            "Time from a break-even detection (R-05) to its webhook's 2xx answer, per delivered URL.",
            buckets=_DELIVERY_BUCKETS_MS,
            registry=registry,
        )
        self.monitor_findings = Counter(
            "algogrid_risk_monitor_findings",
            "Kill conditions, alerts and warnings raised by the monitor, by finding.",
            ["finding"],
            registry=registry,
        )
        self.monitor_last_tick = Gauge(
            "algogrid_risk_monitor_last_tick_timestamp_seconds",
            "Unix time of the monitor's last completed assessment.",
            registry=registry,
        )

    def show_state(self, state: str, *, kill_switch: bool) -> None:
        """Set the trading-state gauges to ``state`` and the kill-switch flag."""
        for name in ("ACTIVE", "REDUCING", "HALTED", "REBUILDING"):
            self.trading_state.labels(state=name).set(1 if name == state else 0)
        self.kill_switch_engaged.set(1 if kill_switch else 0)
