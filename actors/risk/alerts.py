"""Alert events of the risk room and their webhook JSON form (R-04, R-05, R-06, G-05)."""

from __future__ import annotations

import datetime as dt
import enum
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage import TradingStateRecord

__all__ = ["Alert", "AlertKind", "Severity", "trading_state_alert"]


class Severity(enum.StrEnum):
    """How urgent an alert is; ``critical`` alerts accompany a trading halt."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertKind(enum.StrEnum):
    """Every event name the risk room emits (the ``event`` field of the webhook JSON)."""

    BREAK_EVEN = "break_even"
    FUNDING_EXIT = "funding_exit"
    KILL_SWITCH_ENGAGED = "kill_switch_engaged"
    KILL_SWITCH_RELEASED = "kill_switch_released"
    TRADING_STATE_CHANGED = "trading_state_changed"
    DAILY_DRAWDOWN_HALT = "daily_drawdown_halt"
    MAX_DRAWDOWN_HALT = "max_drawdown_halt"
    NEGATIVE_EXPECTANCY = "negative_expectancy"
    LOW_WIN_RATE = "low_win_rate"
    LOW_PROFIT_FACTOR = "low_profit_factor"
    RECONCILIATION_CRITICAL = "reconciliation_critical"


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """Event: one alert, shown in the UI and POSTed to every configured webhook (G-05).

    ``details`` carries extra string fields merged into the JSON body; ``alert_id`` lets receivers
    deduplicate retried deliveries. ``at`` must be timezone-aware.
    """

    event: AlertKind
    severity: Severity
    at: dt.datetime
    position_id: str | None = None
    symbol: str | None = None
    details: tuple[tuple[str, str], ...] = ()
    alert_id: uuid.UUID = field(default_factory=uuid.uuid4)
    # when it was raised (monotonic), for the delivery latency; not part of the alert's identity
    raised_ns: int = field(default_factory=time.perf_counter_ns, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("expected a timezone-aware 'at', got a naive datetime")

    def to_json_payload(self) -> dict[str, Any]:
        """Return the webhook body: ``{event, position_id, symbol, at, ...}`` (G-05)."""
        body: dict[str, Any] = {
            "event": self.event.value,
            "position_id": self.position_id,
            "symbol": self.symbol,
            "at": self.at.astimezone(dt.UTC).isoformat(),
            "severity": self.severity.value,
            "alert_id": str(self.alert_id),
        }
        for key, value in self.details:
            body.setdefault(key, value)
        return body


def trading_state_alert(record: TradingStateRecord, previous: TradingStateRecord) -> Alert:
    """Return the alert of a trading-state change: engaging the kill switch is critical (R-04, G-05)."""
    if record.kill_switch and not previous.kill_switch:
        kind, severity = AlertKind.KILL_SWITCH_ENGAGED, Severity.CRITICAL
    elif previous.kill_switch and not record.kill_switch:
        kind, severity = AlertKind.KILL_SWITCH_RELEASED, Severity.WARNING
    else:
        kind, severity = AlertKind.TRADING_STATE_CHANGED, Severity.WARNING
    return Alert(
        event=kind,
        severity=severity,
        at=record.changed_at,
        details=(
            ("trading_state", record.state.name),
            ("reason", record.reason),
            ("changed_by", record.changed_by),
            ("source", record.source.value),
        ),
    )
