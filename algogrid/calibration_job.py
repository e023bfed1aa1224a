"""The calibration job (S-05) and the θ-map watcher: storage I/O around strategy_core's pure calibration.

``run_calibration`` reads ``klines_5m`` per symbol, extracts the candidate trades (floats), runs the
walk-forward folds and stores the run with its θ rows and OOS outcomes (a new version). It is run by
``algogrid calibrate`` — its own process, so signal generation is never blocked — and by the engine's
schedule every ``schedule_days`` (``CalibrationSchedule``: a subprocess, when enough history is stored).

``watch_theta_maps`` (in the engine) polls the version in force every ``poll_s`` and tells each SignalActor
``ThetaMapChanged`` for its symbol: a new version is used from the next bar without a restart, and a restarted
actor catches up at the next poll.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import structlog
import trio
from pydantic import BaseModel, ConfigDict, Field

from strategy_core import (
    AVI5Config,
    BarSeries,
    CalibrationConfig,
    SymbolCalibration,
    TradeCosts,
    extract_candidates,
    walk_forward,
)

__all__ = [
    "CalibrationNotDueError",
    "CalibrationSettings",
    "run_calibration",
    "watch_theta_maps",
]

log = structlog.get_logger(__name__)


class CalibrationSettings(BaseModel):
    """The ``calibration:`` settings section: the S-05 model, the schedule and the watcher's poll."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: CalibrationConfig = CalibrationConfig()
    schedule: bool = Field(default=True, description="Recalibrate every model.schedule_days in the engine.")
    poll_s: float = Field(default=60.0, gt=0, description="How often the engine reads the version in force.")


class CalibrationNotDueError(Exception):
    """A run started less than ``schedule_days`` ago and ``--force`` was not given."""


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def bar_series(symbol: str, rows: Sequence[Any]) -> BarSeries:
    """Return stored klines as float columns (calibration reads floats, see ``calibration_features``)."""
    bars = BarSeries(symbol)
    for r in rows:
        bars.append(
            int(r.start.timestamp()), float(r.open), float(r.high), float(r.low), float(r.close),
            float(r.volume), float(r.turnover),
        )  # fmt: skip
    return bars


async def run_calibration(
    storage: Any,
    symbols: Sequence[str],
    *,
    start: date,
    end: date,
    force: bool,
    by: str,
    strategy: AVI5Config,
    config: CalibrationConfig,
    slippage_base_pct: Decimal,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Calibrate ``symbols`` on [start, end] (days, UTC, end inclusive) and store the run; return its summary.

    Raises:
        CalibrationNotDueError: a run started less than ``schedule_days`` ago and ``force`` is false.
        ValueError: the range is shorter than one fold (train + OOS days).
    """
    now = datetime.now(UTC)
    last = await storage.calibration.last_started_at()
    if not force and last is not None and now - last < timedelta(days=config.schedule_days):
        raise CalibrationNotDueError(f"the last run started {last.isoformat()}; use --force to run again")
    days = (end - start).days + 1
    if days < config.window_days:
        raise ValueError(f"expected at least {config.window_days} days of history, got {days}")
    params = {"symbols": list(symbols), **config.model_dump(mode="json")}
    run_id = await storage.calibration.start_run(start, end, force, days * len(symbols), params, by)
    begin, finish = _day_start(start), _day_start(end) + timedelta(days=1)
    costs = TradeCosts(slippage_pct=float(slippage_base_pct))
    results: list[SymbolCalibration] = []
    done = 0
    try:
        for symbol in symbols:
            rows = await storage.klines.between(symbol, begin, finish)
            candidates = extract_candidates(
                bar_series(symbol, rows), strategy, costs, float(min(config.theta_grid))
            )
            calibrated = walk_forward(candidates, int(begin.timestamp()), int(finish.timestamp()), config)
            results.append(calibrated)
            done += days
            await storage.calibration.progress(run_id, done)
            if progress is not None:
                progress(days)
        summary = _summary(results, config)
        await storage.calibration.succeed(run_id, summary, *_rows(results, config))
    except Exception as exc:  # boundary: the run is marked failed with the reason, then the error goes on
        await storage.calibration.fail(run_id, f"{type(exc).__name__}: {exc}")
        raise
    log.info("calibration stored", run_id=run_id, symbols=len(symbols), by=by)
    return {"run_id": run_id, **summary}


def _summary(results: Sequence[SymbolCalibration], config: CalibrationConfig) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for r in results:
        last = r.folds[-1] if r.folds else None
        out[r.symbol] = {
            "folds": len(r.folds),
            "psi": None if last is None else last.psi,
            "shrunk": None if last is None else last.shrunk,
            "calibrated_hours": []
            if last is None
            else [h.hour for h in last.hours if not (h.dead or h.fallback)],
            "dead_hours": [] if last is None else [h.hour for h in last.hours if h.dead],
            "theta": {str(h): str(t) for h, t in r.theta_map(config).by_hour.items()},
        }
    return {"symbols": out}


def _rows(results: Sequence[SymbolCalibration], config: CalibrationConfig) -> tuple[list[Any], list[Any]]:
    from storage import OutcomeRow, ThetaRow

    thetas: list[ThetaRow] = []
    outcomes: list[OutcomeRow] = []
    for r in results:
        if not r.folds:
            continue
        last = r.folds[-1]
        train_days = (last.train_end - last.train_start) // 86_400
        for h in last.hours:
            theta = max(min(h.theta, Decimal("0.50")), Decimal("0.15"))
            row = ThetaRow(
                symbol=r.symbol, hour=h.hour, theta=theta, dead=h.dead, fallback=h.fallback,
                oos_profit_factor=h.oos_profit_factor, train_profit_factor=h.train_profit_factor,
                train_trades=h.train_trades, oos_trades=h.oos_trades, psi=last.psi, train_days=train_days,
            )  # fmt: skip
            thetas.append(row)
        stats = r.stats()
        for side, hours in stats.by_side.items():
            for hour, o in hours.items():
                outcomes.append(OutcomeRow(r.symbol, hour, side.value, o.wins, o.losses))
    return thetas, outcomes


async def watch_theta_maps(
    storage: Any,
    tell: Callable[[str, object], None],
    symbols: Sequence[str],
    settings: CalibrationSettings,
    default_theta: Decimal,
) -> None:
    """Every ``poll_s``: read the version in force and tell each symbol's SignalActor (until cancelled).

    ``tell(symbol, message)`` reaches ``root/symbols/<SYM>/signal``; a dead or restarting actor is skipped
    (it gets the map at the next poll). With ``schedule``, a due recalibration is started as a subprocess.
    """
    from actors import ThetaMapChanged
    from strategy_core import ThetaMap

    while True:
        try:
            active = await storage.calibration.load_active(default_theta)
        except Exception as exc:  # boundary: storage blips; the actors keep the map they hold
            log.warning("theta map read failed", error=repr(exc))
            active = None
        if active is not None:
            version = f"v{active.version}"
            for symbol in symbols:
                theta_map = active.theta_maps.get(symbol, ThetaMap(default=default_theta, version=version))
                message = ThetaMapChanged(
                    version=version, theta_map=theta_map, calibration=active.stats.get(symbol)
                )
                try:
                    tell(symbol, message)
                except Exception as exc:  # boundary: that actor is restarting; the next poll retells
                    log.debug("theta map not delivered", symbol=symbol, error=repr(exc))
        if settings.schedule:
            await _maybe_schedule(storage, settings.model)
        await trio.sleep(settings.poll_s)


async def _maybe_schedule(storage: Any, config: CalibrationConfig) -> None:
    """Start ``algogrid calibrate`` in its own process when the last run is older than ``schedule_days``."""
    last = await storage.calibration.last_started_at()
    now = datetime.now(UTC)
    if last is not None and now - last < timedelta(days=config.schedule_days):
        return
    latest = await storage.klines.latest_open(["BTCUSDT"])
    first, _ = await storage.klines.bounds("BTCUSDT")
    if latest is None or first is None or (latest - first).days < config.window_days:
        return  # not enough history stored for one fold: nothing to calibrate yet
    log.info("scheduled calibration starting", last=None if last is None else last.isoformat())
    command = [sys.executable, "-m", "algogrid.cli", "calibrate", "--by", "scheduler"]
    await trio.run_process(command, check=False)
