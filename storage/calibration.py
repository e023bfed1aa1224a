"""Calibration runs, their versioned θ maps and OOS outcomes (S-05): ``calibration_runs``, ``theta_maps``,
``calibration_outcomes``.

A run is written as ``running`` when it starts (with who started it and the data range), advances its
``progress_days``, and ends ``succeeded`` — its θ rows and outcomes in the same transaction — or ``failed``.
The θ map in force is the newest succeeded run's (``version`` increases with every run); ``load_active``
returns it as strategy_core values, per symbol, for the SignalActors.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from storage.database import Database
from strategy_core import CalibrationStats, HourOutcomes, Side, ThetaMap

__all__ = ["ActiveCalibration", "CalibrationRepository", "OutcomeRow", "ThetaRow"]


@dataclass(frozen=True, slots=True)
class ThetaRow:
    """One hour of one symbol's θ map as stored."""

    symbol: str
    hour: int
    theta: Decimal
    dead: bool
    fallback: bool
    oos_profit_factor: float | None
    train_profit_factor: float | None
    train_trades: int
    oos_trades: int
    psi: float | None
    train_days: int


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    """OOS wins and losses of one symbol, hour and side."""

    symbol: str
    hour: int
    side: str
    wins: int
    losses: int


@dataclass(frozen=True, slots=True)
class ActiveCalibration:
    """The newest succeeded run: its version, when and by whom, and per symbol its θ map and p_win stats."""

    run_id: str
    version: int
    finished_at: datetime
    triggered_by: str
    start_date: date
    end_date: date
    theta_maps: Mapping[str, ThetaMap] = field(default_factory=dict)
    stats: Mapping[str, CalibrationStats] = field(default_factory=dict)


_START = """
    INSERT INTO calibration_runs (start_date, end_date, forced, total_days, params, triggered_by_name)
    VALUES ($1, $2, $3, $4, $5, $6) RETURNING id
"""
_PROGRESS = "UPDATE calibration_runs SET progress_days = $2 WHERE id = $1 AND status = 'running'"
_SUCCEED = """
    UPDATE calibration_runs SET status = 'succeeded', result = $2, finished_at = now(),
        progress_days = total_days
    WHERE id = $1
"""
_FAIL = "UPDATE calibration_runs SET status = 'failed', error = $2, finished_at = now() WHERE id = $1"
_THETA = """
    INSERT INTO theta_maps (calibration_run_id, symbol, hour, theta, oos_profit_factor, is_dead_hour,
        is_fallback, train_trades, oos_trades, train_profit_factor, psi, train_days)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
"""
_OUTCOME = """
    INSERT INTO calibration_outcomes (calibration_run_id, symbol, hour, side, wins, losses)
    VALUES ($1, $2, $3, $4, $5, $6)
"""
_LATEST = """
    SELECT id, version, finished_at, triggered_by_name, start_date, end_date FROM calibration_runs
    WHERE status = 'succeeded' ORDER BY version DESC LIMIT 1
"""
_RECENT_RUNS = """
    SELECT id, version, status, start_date, end_date, forced, progress_days, total_days, triggered_by_name,
           started_at, finished_at, error
    FROM calibration_runs ORDER BY started_at DESC, version DESC LIMIT $1
"""
_LAST_STARTED = "SELECT max(started_at) FROM calibration_runs WHERE status IN ('running', 'succeeded')"
_THETAS_OF = "SELECT symbol, hour, theta, is_dead_hour FROM theta_maps WHERE calibration_run_id = $1"
_OUTCOMES_OF = (
    "SELECT symbol, hour, side, wins, losses FROM calibration_outcomes WHERE calibration_run_id = $1"
)


class CalibrationRepository:
    """Explicit SQL over the calibration tables."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def start_run(  # noqa: PLR0917 - the run's facts
        self,
        start_date: date,
        end_date: date,
        forced: bool,
        total_days: int,
        params: Mapping[str, object],
        triggered_by: str,
    ) -> str:
        """Insert a ``running`` run and return its id."""
        run_id = await self._db.fetchval(
            _START, start_date, end_date, forced, total_days, dict(params), triggered_by
        )
        return str(run_id)

    async def progress(self, run_id: str, days: int) -> None:
        """Record how many of the run's days are done."""
        await self._db.execute(_PROGRESS, uuid.UUID(run_id), days)

    async def succeed(
        self,
        run_id: str,
        result: Mapping[str, object],
        thetas: Sequence[ThetaRow],
        outcomes: Sequence[OutcomeRow],
    ) -> None:
        """Store the θ rows and outcomes and mark the run succeeded, in one transaction."""
        rid = uuid.UUID(run_id)
        async with self._db.transaction() as conn:
            await conn.executemany(
                _THETA,
                [
                    (rid, t.symbol, t.hour, t.theta, t.oos_profit_factor, t.dead, t.fallback, t.train_trades,
                     t.oos_trades, t.train_profit_factor, t.psi, t.train_days)
                    for t in thetas
                ],
            )  # fmt: skip
            await conn.executemany(
                _OUTCOME, [(rid, o.symbol, o.hour, o.side, o.wins, o.losses) for o in outcomes]
            )
            await conn.execute(_SUCCEED, rid, dict(result))

    async def fail(self, run_id: str, error: str) -> None:
        """Mark the run failed with the error's sentence."""
        await self._db.execute(_FAIL, uuid.UUID(run_id), error)

    async def recent_runs(self, limit: int) -> list[dict[str, object]]:
        """Return the newest ``limit`` runs (any status), newest first, without their θ rows."""
        return [dict(row) for row in await self._db.fetch(_RECENT_RUNS, limit)]

    async def last_started_at(self) -> datetime | None:
        """Return when the newest running or succeeded run started (None: never)."""
        value: datetime | None = await self._db.fetchval(_LAST_STARTED)
        return value

    async def load_active(self, default_theta: Decimal) -> ActiveCalibration | None:
        """Return the θ maps and p_win statistics of the newest succeeded run (None: no run yet)."""
        run = await self._db.fetchrow(_LATEST)
        if run is None:
            return None
        by_hour: dict[str, dict[int, Decimal]] = {}
        dead: dict[str, set[int]] = {}
        for r in await self._db.fetch(_THETAS_OF, run["id"]):
            symbol = r["symbol"] or "*"
            if r["is_dead_hour"]:
                dead.setdefault(symbol, set()).add(r["hour"])
            else:
                by_hour.setdefault(symbol, {})[r["hour"]] = r["theta"]
        version = f"v{run['version']}"
        maps = {
            s: ThetaMap(
                default=default_theta,
                by_hour=by_hour.get(s, {}),
                dead_hours=frozenset(dead.get(s, set())),
                version=version,
            )
            for s in set(by_hour) | set(dead)
        }
        pooled: dict[str, dict[int, list[int]]] = {}
        sided: dict[str, dict[Side, dict[int, HourOutcomes]]] = {}
        for r in await self._db.fetch(_OUTCOMES_OF, run["id"]):
            acc = pooled.setdefault(r["symbol"], {}).setdefault(r["hour"], [0, 0])
            acc[0] += r["wins"]
            acc[1] += r["losses"]
            side = sided.setdefault(r["symbol"], {}).setdefault(Side(r["side"]), {})
            side[r["hour"]] = HourOutcomes(wins=r["wins"], losses=r["losses"])
        stats = {
            s: CalibrationStats(
                by_hour={h: HourOutcomes(wins=w, losses=lo) for h, (w, lo) in hours.items()},
                by_side=sided.get(s, {}),
            )
            for s, hours in pooled.items()
        }
        return ActiveCalibration(
            run_id=str(run["id"]),
            version=run["version"],
            finished_at=run["finished_at"],
            triggered_by=run["triggered_by_name"],
            start_date=run["start_date"],
            end_date=run["end_date"],
            theta_maps=maps,
            stats=stats,
        )
