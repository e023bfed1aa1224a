"""``MonitorBehaviour``: the MonitorActor's state machine, free of pykka so tests drive it message by message.

See ``actors.monitor.actor`` for the rules (R-04..R-06) and the two clocks: ``market`` is read by every
decision and timestamp; ``clock`` (the tree's wall clock) schedules the ``Tick`` and stamps the liveness
gauge.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from actors.errors import WorkRejectedError
from actors.host import unexpected
from actors.messages import MessageSink
from actors.risk import Alert, AlertKind, KillConditionTriggered, PositionClosed, Severity
from actors.timers import MessageTimers
from strategy_core.performance import KillAssessment, KillFinding, assess_kill_conditions
from strategy_core.position_rules import check_break_even, check_funding_exit, upnl_r
from supervision.clock import Clock

from .config import MonitorConfig
from .deps import MonitorDeps
from .messages import (
    BreakEvenReached,
    FundingExitWarning,
    GetMonitorSnapshot,
    HaltsLoaded,
    MetricsUpdated,
    MonitorSnapshot,
    MoveStopToEntry,
    PerformanceLoaded,
    PerformanceLoadFailed,
    PositionMarked,
    ReduceOnlyCloseRequested,
    Tick,
)

__all__ = ["MonitorBehaviour", "MonitorMessage"]

MonitorMessage = (
    Tick
    | PositionMarked
    | PositionClosed
    | GetMonitorSnapshot
    | PerformanceLoaded
    | PerformanceLoadFailed
    | HaltsLoaded
)
"""Every message the MonitorActor handles: commands, events, the snapshot ask, replies from the trio side."""

_FINDING_ALERTS = {
    KillFinding.DAILY_DRAWDOWN: (AlertKind.DAILY_DRAWDOWN_HALT, Severity.CRITICAL),
    KillFinding.MAX_DRAWDOWN_DAYS: (AlertKind.MAX_DRAWDOWN_HALT, Severity.CRITICAL),
    KillFinding.NEGATIVE_EXPECTANCY: (AlertKind.NEGATIVE_EXPECTANCY, Severity.WARNING),
    KillFinding.LOW_WIN_RATE: (AlertKind.LOW_WIN_RATE, Severity.WARNING),
    KillFinding.LOW_PROFIT_FACTOR: (AlertKind.LOW_PROFIT_FACTOR, Severity.WARNING),
}


@dataclass
class _Watched:
    marked: PositionMarked
    funding_alerted_for: dt.datetime | None = None


@dataclass
class MonitorBehaviour:
    """The monitor's state machine (see ``actors.monitor.actor`` for the rules)."""

    config: MonitorConfig
    deps: MonitorDeps
    clock: Clock
    self_ref: MessageSink
    log: Any
    watched: dict[str, _Watched] = field(default_factory=dict)
    break_even_done: set[str] = field(default_factory=set)
    fired: dict[str, dt.date] = field(default_factory=dict)  # finding → UTC day it last fired
    last_tick_at: dt.datetime | None = None
    last_assessment: KillAssessment | None = None
    last_metrics: MetricsUpdated | None = None  # the figures last handed to the UI
    _timers: MessageTimers = field(init=False)
    _loading: bool = False

    def __post_init__(self) -> None:
        self._timers = MessageTimers(self.clock, self.self_ref, self.log)

    @property
    def market(self) -> Clock:
        """Return the clock decisions read (market time)."""
        return self.deps.market_clock or self.clock

    # -- lifecycle

    def start(self) -> None:
        """Recall today's halts (a restart must not overrule an operator's release) and schedule a tick."""
        store, now = self.deps.store, self.market.now()

        async def halts() -> HaltsLoaded:
            return HaltsLoaded(conditions=await store.load_halts_today(now), day=now.date())

        def failed(exc: Exception) -> HaltsLoaded:
            self.log.warning("monitor could not read today's halts", error=repr(exc))
            return HaltsLoaded(conditions=(), day=now.date())

        try:
            self.deps.work.submit(halts, self.self_ref, failed)
        except WorkRejectedError as exc:
            self.log.warning("monitor read rejected", error=str(exc))
        self._schedule()

    def stop(self) -> None:
        """Cancel the pending tick; this incarnation schedules none from now on."""
        self._timers.close()

    # -- dispatch

    def handle(self, message: MonitorMessage) -> MonitorSnapshot | None:
        """Dispatch one message; ``GetMonitorSnapshot`` returns the snapshot, every other ``None``.

        Raises:
            TypeError: ``message`` is not a ``MonitorMessage``.
        """
        match message:
            # -- commands and events (the tick, the position side, the snapshot ask)
            case Tick():
                self._tick()
            case PositionMarked():
                previous = self.watched.get(message.position.position_id)
                self.watched[message.position.position_id] = _Watched(
                    message, previous.funding_alerted_for if previous else None
                )
            case PositionClosed():
                self.watched.pop(message.position_id, None)
                self.break_even_done.discard(message.position_id)
            case GetMonitorSnapshot():
                return MonitorSnapshot(
                    last_tick_at=self.last_tick_at,
                    last_assessment=self.last_assessment,
                    watched=tuple(sorted(self.watched)),
                    break_even_done=tuple(sorted(self.break_even_done)),
                    fired=tuple(sorted(self.fired.items())),
                )
            # -- replies (work queue → monitor)
            case PerformanceLoaded():
                self._loading = False
                self._assess(message)
            case PerformanceLoadFailed():
                self._loading = False
                self.log.warning("monitor read failed", error=message.error)
            case HaltsLoaded():
                for condition in message.conditions:
                    self.fired.setdefault(condition, message.day)
            case _:
                raise unexpected("MonitorBehaviour", message)
        return None

    # -- timers

    def _schedule(self) -> None:
        config = self.config
        # Replaces a pending tick: one chain, even when a dead incarnation's tick lands here.
        if config.schedule_ticks:
            self._timers.tell_later(config.poll_interval_s, Tick())

    def _tick(self) -> None:
        now = self.market.now()
        self._schedule()
        for watched in list(self.watched.values()):
            self._position_rules(watched, now)
        if self._loading:
            return  # the previous read is still running: skip rather than pile up
        config, store = self.config, self.deps.store

        async def load() -> PerformanceLoaded:
            history = await store.load_performance(
                now,
                window_days=config.stats_window_days,
                equity_days=config.equity_days,
                starting_equity_usd=config.starting_equity_usd,
                r_unit_usd=config.position_rules.r_unit_usd,
            )
            return PerformanceLoaded(trades=history.trades, daily_equity=history.daily_equity, at=history.at)

        def failed(exc: Exception) -> PerformanceLoadFailed:
            return PerformanceLoadFailed(error=repr(exc))

        try:
            self.deps.work.submit(load, self.self_ref, failed)
            self._loading = True
        except WorkRejectedError as exc:
            self.log.warning("monitor read rejected", error=str(exc))

    # -- commands

    def _position_rules(self, watched: _Watched, now: dt.datetime) -> None:
        marked, rules = watched.marked, self.config.position_rules
        position = marked.position
        pid = position.position_id
        be = check_break_even(position, marked.mark, marked.tp1_hit, rules, pid in self.break_even_done)
        if be.triggered:
            self.break_even_done.add(pid)
            self._to_positions(
                BreakEvenReached(
                    position_id=pid, symbol=position.symbol, side=position.side, mark=marked.mark, at=now
                )
            )
            if be.move_sl_to is not None:
                self._to_positions(
                    MoveStopToEntry(position_id=pid, symbol=position.symbol, new_sl=be.move_sl_to, at=now)
                )
            self._alert(AlertKind.BREAK_EVEN, Severity.INFO, now, pid, position.symbol, mark=str(marked.mark))
        funding_at = marked.next_funding_time
        if funding_at is None or watched.funding_alerted_for == funding_at:
            return
        decision = check_funding_exit(position, marked.mark, funding_at, now, rules)
        if not decision.alert:
            return
        watched.funding_alerted_for = funding_at
        left = decision.time_to_funding.total_seconds()
        self._to_positions(
            FundingExitWarning(
                position_id=pid,
                symbol=position.symbol,
                time_to_funding_s=left,
                upnl_r=decision.upnl_r,
                at=now,
            )
        )
        if decision.close_reduce_only:
            self._to_positions(
                ReduceOnlyCloseRequested(
                    position_id=pid,
                    symbol=position.symbol,
                    side=position.side,
                    reason=f"funding in {left:.0f} s with UPnL {decision.upnl_r:.2f}R (R-06)",
                    at=now,
                )
            )
        self._alert(
            AlertKind.FUNDING_EXIT,
            Severity.WARNING,
            now,
            pid,
            position.symbol,
            time_to_funding_s=f"{left:.0f}",
            upnl_r=str(decision.upnl_r),
        )

    # -- replies

    def _assess(self, loaded: PerformanceLoaded) -> None:
        now, rules = loaded.at, self.config.position_rules
        open_r = Decimal(0)
        open_usd = Decimal(0)
        for watched in self.watched.values():
            r = upnl_r(watched.marked.position, watched.marked.mark, rules.r_unit_usd)
            open_r += r
            open_usd += r * rules.r_unit_usd
        equity = list(loaded.daily_equity)
        if equity:
            equity[-1] += open_usd
        # A non-positive equity (a blown account) is clamped to one cent: a ~100 % drawdown, not an error.
        floor = Decimal("0.01")
        assessment = assess_kill_conditions(
            loaded.trades, [max(e, floor) for e in equity], now, self.config.thresholds, open_r
        )
        self.last_tick_at, self.last_assessment = now, assessment
        self._gauges(assessment)
        self._announce(MetricsUpdated.of(assessment, now))
        for finding in assessment.halt:
            if self._first_today(finding, now):
                reason = self._halt_reason(finding, assessment)
                self.log.warning("kill condition triggered", condition=finding.value, reason=reason)
                self.deps.risk.tell(KillConditionTriggered(condition=finding.value, reason=reason, at=now))
                self._finding_alert(finding, now, reason)
        for finding in (*assessment.alerts, *assessment.warnings):
            if self._first_today(finding, now):
                self._finding_alert(finding, now, self._stats_reason(finding, assessment))

    # -- rules

    def _first_today(self, finding: KillFinding, now: dt.datetime) -> bool:
        today = now.astimezone(dt.UTC).date()
        if self.fired.get(finding.value) == today:
            return False
        self.fired[finding.value] = today
        if self.deps.metrics is not None:
            self.deps.metrics.monitor_findings.labels(finding=finding.value).inc()
        return True

    def _halt_reason(self, finding: KillFinding, assessment: KillAssessment) -> str:
        thresholds = self.config.thresholds
        if finding is KillFinding.DAILY_DRAWDOWN:
            return (
                f"daily drawdown {assessment.daily_drawdown_r:.2f}R is beyond the limit of "
                f"{thresholds.daily_drawdown_limit_r}R (R-04)"
            )
        return f"drawdown above {thresholds.max_dd_pct}% for {thresholds.max_dd_days} consecutive days (R-04)"

    @staticmethod
    def _stats_reason(finding: KillFinding, assessment: KillAssessment) -> str:
        stats = assessment.stats
        if stats is None:
            return finding.value
        return (
            f"{finding.value}: trades={stats.trades} win_rate={stats.win_rate} "
            f"profit_factor={stats.profit_factor} net_expectancy_r={stats.net_expectancy_r}"
        )

    # -- egress

    def _to_positions(self, message: object) -> None:
        sink = self.deps.positions
        if sink is None:
            self.log.info("position decision without a position side", kind=type(message).__name__)
            return
        try:
            sink.tell(message)
        except Exception as exc:  # boundary: a down position side must not crash the monitor
            self.log.warning("position decision undeliverable", kind=type(message).__name__, error=repr(exc))

    def _finding_alert(self, finding: KillFinding, now: dt.datetime, reason: str) -> None:
        kind, severity = _FINDING_ALERTS[finding]
        self._alert(kind, severity, now, None, None, reason=reason)

    def _alert(
        self,
        kind: AlertKind,
        severity: Severity,
        at: dt.datetime,
        position_id: str | None,
        symbol: str | None,
        **details: str,
    ) -> None:
        metrics = self.deps.metrics
        if metrics is not None:
            metrics.alerts.labels(event=kind.value, severity=severity.value).inc()
        if self.deps.alerts is None:
            return
        self.deps.alerts.submit(
            Alert(
                event=kind,
                severity=severity,
                at=at,
                position_id=position_id,
                symbol=symbol,
                details=tuple(sorted(details.items())),
            )
        )

    def _announce(self, figures: MetricsUpdated) -> None:
        """Hand ``figures`` to the UI when they differ from the last ones handed over (G-03 ``metrics``)."""
        ui = self.deps.ui
        if ui is None or (self.last_metrics is not None and self.last_metrics.figures() == figures.figures()):
            return
        self.last_metrics = figures
        try:
            ui.publish(figures)
        except Exception as exc:  # boundary: the UI's sink must never crash the monitor (its rules go on)
            self.log.warning("metrics undeliverable", error=repr(exc))

    def _gauges(self, assessment: KillAssessment) -> None:
        metrics = self.deps.metrics
        if metrics is None:
            return
        metrics.daily_drawdown_r.set(float(assessment.daily_drawdown_r))
        metrics.daily_drawdown_limit_r.set(float(self.config.thresholds.daily_drawdown_limit_r))
        metrics.monitor_last_tick.set(self.clock.now().timestamp())  # liveness: wall time
        if assessment.max_drawdown_pct is not None:
            metrics.max_drawdown_pct.set(float(assessment.max_drawdown_pct))
        stats = assessment.stats
        if stats is not None:
            metrics.performance.labels(stat="trades").set(stats.trades)
            for name in ("win_rate", "profit_factor", "net_expectancy_r"):
                value = getattr(stats, name)
                if value is not None:
                    metrics.performance.labels(stat=name).set(float(value))
            if stats.win_rate is not None:
                metrics.win_rate.set(float(stats.win_rate))
            if stats.profit_factor is not None:
                metrics.profit_factor.set(float(stats.profit_factor))
