"""Walk-forward calibration of θ*(h) per UTC hour and of p_win per hour and side (S-05).

For one symbol and one fold (train window, then ``oos_days`` out of sample right after it):

1. **Drift** — PSI of the bars' log returns, the train window's last ``short_train_days`` against the part
   before them (bins: deciles of the older part). PSI > ``psi_threshold`` (0.2) shrinks the train window to
   those last ``short_train_days`` (90) days.
2. **Dead hours and liquidity guard** — an hour whose median bar turnover in the train window is below
   ``liquidity_min_fraction`` of the median of every hour (or below ``min_hour_turnover_usd``), or that has
   fewer than ``min_train_trades`` candidates at the smallest θ, is *dead*: AVI-5 takes no signal in it.
3. **Grid search** — for each live hour, θ*(h) = the θ of ``theta_grid`` (0.15 … 0.50) with the best train
   profit factor among those with ≥ ``min_train_trades`` trades (ties: the larger θ).
4. **Out-of-sample gate** — θ*(h) is kept only when its trades in the OOS window have PF ≥
   ``min_oos_profit_factor`` (1.3) over ≥ ``min_oos_trades``; otherwise the hour falls back to θ_global
   (0.35).

The OOS outcomes with the θ finally used, per hour and side, are the p_win statistics (``CalibrationStats``,
a Beta prior shrinks them in ``estimate_p_win``). **No look-ahead**: the train part of a fold reads only
candidates whose trades *closed* before the train end, and the drift and liquidity only bars before it, so
changing any bar after the train end leaves ``train_theta`` unchanged (tested).

A walk-forward over [start, end) runs folds whose OOS windows tile back from ``end`` in ``oos_days`` steps;
the deployed θ map is the last fold's.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from strategy_core.calibration_features import Candidates, profit_factor
from strategy_core.config import CalibrationStats, HourOutcomes, ThetaMap
from strategy_core.models import Side

__all__ = [
    "CalibrationConfig",
    "FoldResult",
    "HourCalibration",
    "SymbolCalibration",
    "calibrate_fold",
    "population_stability_index",
    "walk_forward",
]

_DAY_S = 86_400
Fraction = Annotated[float, Field(ge=0, le=1)]


def _grid() -> tuple[Decimal, ...]:
    return tuple(Decimal("0.15") + Decimal("0.05") * i for i in range(8))


class CalibrationConfig(BaseModel):
    """Every parameter of the S-05 calibration, every default visible."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    theta_grid: tuple[Decimal, ...] = Field(default_factory=_grid, min_length=1)
    theta_global: Decimal = Field(default=Decimal("0.35"), ge=Decimal("0.15"), le=Decimal("0.50"))
    train_days: int = Field(default=180, ge=2)
    short_train_days: int = Field(default=90, ge=1, description="Train window after a PSI drift.")
    oos_days: int = Field(default=30, ge=1)
    min_oos_profit_factor: float = Field(default=1.3, gt=0)
    min_train_trades: int = Field(default=8, ge=1, description="Train trades for θ to be eligible.")
    min_oos_trades: int = Field(default=3, ge=1, description="OOS trades for the PF gate to pass.")
    psi_threshold: float = Field(default=0.2, gt=0)
    psi_bins: int = Field(default=10, ge=2)
    liquidity_min_fraction: Fraction = Field(
        default=0.2, description="Hour's median turnover vs every hour's median below this: dead."
    )
    min_hour_turnover_usd: float = Field(default=0.0, ge=0, description="Absolute liquidity floor per bar.")
    schedule_days: int = Field(default=30, ge=1, description="Scheduled recalibration period.")

    @property
    def window_days(self) -> int:
        """Return the days one fold needs: train plus out of sample."""
        return self.train_days + self.oos_days


@dataclass(frozen=True, slots=True)
class HourCalibration:
    """θ of one hour in one fold, with how it was chosen."""

    hour: int
    theta: Decimal
    train_theta: Decimal | None  # the grid search's choice (None: dead hour or no eligible θ)
    train_trades: int
    train_profit_factor: float | None
    oos_trades: int
    oos_profit_factor: float | None
    dead: bool
    fallback: bool


@dataclass(frozen=True, slots=True)
class FoldResult:
    """One fold of one symbol: windows, drift, per-hour θ and the OOS outcomes per hour and side."""

    symbol: str
    train_start: int
    train_end: int
    oos_end: int
    psi: float | None
    shrunk: bool
    hours: tuple[HourCalibration, ...]
    oos_outcomes: dict[tuple[Side, int], HourOutcomes]

    def theta_map(self, default: Decimal) -> ThetaMap:
        """Return the θ map of this fold (dead hours take no signal)."""
        return ThetaMap(
            default=default,
            by_hour={h.hour: h.theta for h in self.hours if not h.dead},
            dead_hours=frozenset(h.hour for h in self.hours if h.dead),
        )


@dataclass(slots=True)
class SymbolCalibration:
    """Every fold of one symbol and what is deployed: the last fold's θ map and the pooled OOS stats."""

    symbol: str
    folds: list[FoldResult] = field(default_factory=list)

    def theta_map(self, config: CalibrationConfig) -> ThetaMap:
        """Return the deployed θ map (θ_global everywhere without any fold)."""
        if not self.folds:
            return ThetaMap(default=config.theta_global)
        return self.folds[-1].theta_map(config.theta_global)

    def stats(self) -> CalibrationStats:
        """Return the OOS wins and losses per hour (pooled over sides) and per hour and side."""
        by_hour: dict[int, list[int]] = {}
        by_side: dict[Side, dict[int, HourOutcomes]] = {}
        for fold in self.folds:
            for (side, hour), o in fold.oos_outcomes.items():
                acc = by_hour.setdefault(hour, [0, 0])
                acc[0] += o.wins
                acc[1] += o.losses
                prev = by_side.setdefault(side, {}).get(hour, HourOutcomes())
                by_side[side][hour] = HourOutcomes(wins=prev.wins + o.wins, losses=prev.losses + o.losses)
        return CalibrationStats(
            by_hour={h: HourOutcomes(wins=w, losses=lo) for h, (w, lo) in by_hour.items()},
            by_side=by_side,
        )


def population_stability_index(reference: Sequence[float], recent: Sequence[float], bins: int) -> float:
    """Return PSI = Σ (aᵢ − eᵢ)·ln(aᵢ/eᵢ) over the reference's quantile bins (shares floored at 1e-4)."""
    if not reference or not recent:
        return 0.0
    ordered = sorted(reference)
    edges = [ordered[min(len(ordered) - 1, (len(ordered) * k) // bins)] for k in range(1, bins)]

    def shares(values: Sequence[float]) -> list[float]:
        counts = [0] * bins
        for v in values:
            lo, hi = 0, len(edges)
            while lo < hi:  # bisect_right over the edges
                mid = (lo + hi) // 2
                if v < edges[mid]:
                    hi = mid
                else:
                    lo = mid + 1
            counts[lo] += 1
        return [max(c / len(values), 1e-4) for c in counts]

    expected, actual = shares(reference), shares(recent)
    return sum((a - e) * math.log(a / e) for a, e in zip(actual, expected, strict=True))


def _median_by_hour(c: Candidates, start: int, end: int) -> tuple[dict[int, float], float]:
    per_hour: dict[int, list[float]] = {}
    every: list[float] = []
    for ts, turnover in zip(c.bar_ts, c.bar_turnover, strict=True):
        if start <= ts < end:
            per_hour.setdefault((ts // 3600) % 24, []).append(turnover)
            every.append(turnover)
    medians = {h: statistics.median(v) for h, v in per_hour.items()}
    return medians, statistics.median(every) if every else 0.0


def _drift(c: Candidates, start: int, end: int, config: CalibrationConfig) -> float | None:
    split = end - config.short_train_days * _DAY_S
    if split <= start:
        return None
    older = [r for ts, r in zip(c.bar_ts, c.bar_return, strict=True) if start <= ts < split]
    recent = [r for ts, r in zip(c.bar_ts, c.bar_return, strict=True) if split <= ts < end]
    if len(older) < config.psi_bins or len(recent) < config.psi_bins:
        return None
    return population_stability_index(older, recent, config.psi_bins)


def _pick_theta(
    trades: Sequence[tuple[float, float]], config: CalibrationConfig
) -> tuple[Decimal | None, int, float | None]:
    """Return (θ, trades, PF) of the best eligible grid θ on (strength, r) pairs, or (None, 0, None)."""
    best: tuple[float, Decimal, int] | None = None
    for theta in config.theta_grid:
        limit = float(theta)
        results = [r for strength, r in trades if strength > limit]
        if len(results) < config.min_train_trades:
            continue
        pf = profit_factor(results)
        if best is None or pf >= best[0]:
            best = (pf, theta, len(results))
    if best is None:
        return None, 0, None
    return best[1], best[2], best[0]


def calibrate_fold(c: Candidates, train_start: int, train_end: int, config: CalibrationConfig) -> FoldResult:
    """Calibrate one fold: train [train_start, train_end), OOS [train_end, train_end + oos_days)."""
    oos_end = train_end + config.oos_days * _DAY_S
    psi = _drift(c, train_start, train_end, config)
    shrunk = psi is not None and psi > config.psi_threshold
    if shrunk:
        train_start = train_end - config.short_train_days * _DAY_S
    medians, overall = _median_by_hour(c, train_start, train_end)
    train: dict[int, list[tuple[float, float]]] = {}
    oos: dict[int, list[tuple[float, float, int, bool]]] = {}
    for ts, hour, side, strength, r, win, exit_ts in zip(
        c.ts, c.hour, c.side, c.strength, c.r, c.win, c.exit_ts, strict=True
    ):
        if train_start <= ts and exit_ts <= train_end:
            train.setdefault(hour, []).append((strength, r))
        elif train_end <= ts and exit_ts <= oos_end:
            oos.setdefault(hour, []).append((strength, r, side, win))
    hours: list[HourCalibration] = []
    outcomes: dict[tuple[Side, int], HourOutcomes] = {}
    for hour in range(24):
        hour_median = medians.get(hour, 0.0)
        illiquid = hour_median < config.liquidity_min_fraction * overall or (
            hour_median < config.min_hour_turnover_usd
        )
        candidates = train.get(hour, [])
        dead = illiquid or len(candidates) < config.min_train_trades
        theta, n_train, pf_train = (None, len(candidates), None) if dead else _pick_theta(candidates, config)
        chosen = theta if theta is not None else config.theta_global
        oos_results = [(r, side, win) for strength, r, side, win in oos.get(hour, []) if strength > chosen]
        pf_oos = profit_factor([r for r, _, _ in oos_results]) if oos_results else None
        passed = (
            theta is not None
            and len(oos_results) >= config.min_oos_trades
            and pf_oos is not None
            and pf_oos >= config.min_oos_profit_factor
        )
        final = theta if passed and theta is not None else config.theta_global
        if not dead:
            for strength, _r, side, win in oos.get(hour, []):
                if strength > final:
                    key = (Side.LONG if side > 0 else Side.SHORT, hour)
                    prev = outcomes.get(key, HourOutcomes())
                    outcomes[key] = HourOutcomes(wins=prev.wins + win, losses=prev.losses + (not win))
        hours.append(
            HourCalibration(
                hour=hour,
                theta=final,
                train_theta=theta,
                train_trades=n_train,
                train_profit_factor=None if pf_train is None or math.isinf(pf_train) else pf_train,
                oos_trades=len(oos_results),
                oos_profit_factor=None if pf_oos is None or math.isinf(pf_oos) else pf_oos,
                dead=dead,
                fallback=not dead and not passed,
            )
        )
    return FoldResult(
        symbol=c.symbol,
        train_start=train_start,
        train_end=train_end,
        oos_end=oos_end,
        psi=psi,
        shrunk=shrunk,
        hours=tuple(hours),
        oos_outcomes=outcomes,
    )


def walk_forward(
    candidates: Candidates,
    start: int,
    end: int,
    config: CalibrationConfig,
    progress: Callable[[int], None] | None = None,
) -> SymbolCalibration:
    """Run every fold whose train window starts at or after ``start`` and whose OOS ends at or before ``end``.

    Folds are listed oldest first; ``progress(days)`` is called with the OOS days each fold covered.
    """
    result = SymbolCalibration(candidates.symbol)
    oos_ends: list[int] = []
    oos_end = end
    while oos_end - config.window_days * _DAY_S >= start:
        oos_ends.append(oos_end)
        oos_end -= config.oos_days * _DAY_S
    for fold_end in reversed(oos_ends):
        train_end = fold_end - config.oos_days * _DAY_S
        result.folds.append(
            calibrate_fold(candidates, train_end - config.train_days * _DAY_S, train_end, config)
        )
        if progress is not None:
            progress(config.oos_days)
    return result
