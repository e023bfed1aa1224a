"""Repository of what the MonitorActor reads: closed trades in R, daily realised equity, today's halts (R-04).

Definitions, from ``positions``:

* a closed trade's net USD = ``pnl_usd − fees_usd − funding_usd`` (``pnl_usd`` is the gross realised PnL,
  fees and funding are costs paid); its net R = net USD / ``risk_usd`` (or / ``r_unit_usd`` when the position
  recorded no risk);
* the kill conditions that already halted today: audit rows written by the RiskActor for a change by
  ``monitor:<condition>`` (so a restarted monitor does not halt again after an operator's release);
* the equity at the end of UTC day *d* = ``starting_equity_usd`` + Σ net USD of trades closed up to the end
  of *d*; the series covers the last ``days`` UTC days, today last (today's value is "so far"; the monitor
  adds the open positions' unrealised USD to it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from storage.database import Database
from strategy_core.performance import ClosedTrade, utc_day_start

__all__ = ["MonitorRepository", "PerformanceHistory", "SlippageSample"]

_CLOSED_TRADES = """
SELECT closed_at, pnl_usd - fees_usd - funding_usd AS net_usd, risk_usd
FROM positions
WHERE status = 'closed' AND pnl_usd IS NOT NULL AND closed_at > $1 AND closed_at <= $2
ORDER BY closed_at
"""

_HALTS_SINCE = """
SELECT DISTINCT substr(actor_label, length('monitor:') + 1) AS condition
FROM audit_trail
WHERE action = 'kill_switch.set' AND actor_label LIKE 'monitor:%' AND at >= $1
"""

_SLIPPAGE = """
SELECT slippage_bps, modelled_bps FROM slippage_log WHERE recorded_at > $1 AND recorded_at <= $2
"""

_DAILY_NET = """
SELECT (closed_at AT TIME ZONE 'UTC')::date AS day, sum(pnl_usd - fees_usd - funding_usd) AS net_usd
FROM positions
WHERE status = 'closed' AND pnl_usd IS NOT NULL AND closed_at <= $1
GROUP BY day
ORDER BY day
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class PerformanceHistory:
    """Closed trades of the stats window (net R, oldest first) and the daily realised equity, today last."""

    trades: tuple[ClosedTrade, ...]
    daily_equity: tuple[Decimal, ...]
    at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class SlippageSample:
    """The fills' actual and modelled slippage (bps, E-05) of a window; a fill without a model has none."""

    actual_bps: tuple[Decimal, ...]
    modelled_bps: tuple[Decimal, ...]


class MonitorRepository:
    """Read the monitor's inputs from ``positions`` and ``audit_trail``; see the module docstring."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def load_performance(
        self,
        now: dt.datetime,
        *,
        window_days: int,
        equity_days: int,
        starting_equity_usd: Decimal,
        r_unit_usd: Decimal,
    ) -> PerformanceHistory:
        """Return the closed trades of the last ``window_days`` and ``equity_days`` daily equity values."""
        since = now - dt.timedelta(days=window_days)
        trade_rows = await self._db.fetch(_CLOSED_TRADES, since, now)
        daily_rows = await self._db.fetch(_DAILY_NET, now)
        trades = tuple(
            ClosedTrade(
                closed_at=row["closed_at"],
                pnl_r=row["net_usd"] / (row["risk_usd"] if row["risk_usd"] > 0 else r_unit_usd),
            )
            for row in trade_rows
        )
        net_by_day: dict[dt.date, Decimal] = {row["day"]: row["net_usd"] for row in daily_rows}
        today = utc_day_start(now).date()
        first = today - dt.timedelta(days=equity_days - 1)
        equity = starting_equity_usd + sum(
            (net for day, net in net_by_day.items() if day < first), Decimal(0)
        )
        series: list[Decimal] = []
        for offset in range(equity_days):
            equity += net_by_day.get(first + dt.timedelta(days=offset), Decimal(0))
            series.append(equity)
        return PerformanceHistory(trades=trades, daily_equity=tuple(series), at=now)

    async def load_slippage(self, now: dt.datetime, *, window_days: int) -> SlippageSample:
        """Return the slippage rows of the fills recorded in the last ``window_days``."""
        rows = await self._db.fetch(_SLIPPAGE, now - dt.timedelta(days=window_days), now)
        return SlippageSample(
            actual_bps=tuple(row["slippage_bps"] for row in rows),
            modelled_bps=tuple(row["modelled_bps"] for row in rows if row["modelled_bps"] is not None),
        )

    async def load_halts_today(self, now: dt.datetime) -> tuple[str, ...]:
        """Return the kill conditions that halted trading since today's UTC start, sorted (audit trail)."""
        rows = await self._db.fetch(_HALTS_SINCE, utc_day_start(now))
        return tuple(sorted(row["condition"] for row in rows))
