"""Benchmark of the backtest and the calibration (S-05, S-06): ``.venv/bin/python bench/backtest.py``.

- ``bars_per_s``: one symbol-year (105,120 bars) of a seeded 5m random walk with trending stretches replayed
  through strategy_core (``ReplaySeries``: the live path's signal on every bar it may act on) and the fill
  model (``run_backtest``), the median of five runs; the candles are built before the clock starts (loading
  is not replay). The walk trends hard: about 6,000 trades a year, each judged and simulated, so the figure
  is a dense-signal one.
- ``calibration_s``: feature extraction + walk-forward fold for a 210-day window × 15 symbols of seeded float
  bars (``extract_candidates`` + ``walk_forward``), the work of ``algogrid calibrate`` after its reads.

Targets (issue 16): ≥ 50,000 bars/s; ≤ 60 s. The last line is one JSON object. ``bars_per_s`` is wall
time; ``bars_per_cpu_s`` divides by the replay's own CPU time, which tells the code's speed when other work
shares the cores (the wall figure then drops with the load).
"""

from __future__ import annotations

import json
import math
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backtest import BacktestConfig, run_backtest
from strategy_core import (
    AVI5Config,
    BarSeries,
    CalibrationConfig,
    ConfirmedCandle,
    TradeCosts,
    extract_candidates,
    walk_forward,
)

SEED = 20240101
RUNS = 5
YEAR_BARS = 365 * 288
DAYS = 210
SYMBOLS = 15
T0 = datetime(2024, 1, 1, tzinfo=UTC)
FIVE = timedelta(minutes=5)


def candles(n: int, rng: random.Random) -> list[ConfirmedCandle]:
    """Return ``n`` 5m candles of a random walk whose drift flips every 200 bars (prices in cents)."""
    out: list[ConfirmedCandle] = []
    price = 10_000
    for i in range(n):
        drift = 20 if (i // 200) % 2 == 0 else -20
        o = price
        c = max(1_000, o + drift + rng.randint(-90, 90))
        h, lo = max(o, c) + rng.randint(0, 30), min(o, c) - rng.randint(0, 30)
        start = T0 + FIVE * i
        v = Decimal(rng.randint(5, 50))
        out.append(
            ConfirmedCandle(
                symbol="BTCUSDT", start=start, end=start + FIVE, open=Decimal(o) / 100,
                high=Decimal(h) / 100, low=Decimal(lo) / 100, close=Decimal(c) / 100, volume=v,
                turnover=v * c / 100,
            )
        )  # fmt: skip
        price = c
    return out


def float_bars(symbol: str, days: int, rng: random.Random) -> BarSeries:
    """Return a float random walk of ``days`` of 5m bars."""
    bars = BarSeries(symbol)
    price = 100.0
    t0 = int(T0.timestamp())
    for i in range(days * 288):
        c = price * math.exp(rng.gauss(0.0, 0.002))
        h, lo = max(price, c) * 1.0005, min(price, c) * 0.9995
        v = 100.0 + rng.random() * 20
        bars.append(t0 + 300 * i, price, h, lo, c, v, v * c)
        price = c
    return bars


def main() -> None:
    rng = random.Random(SEED)
    series = candles(YEAR_BARS, rng)
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(RUNS):  # the same replay RUNS times: its median speed, not one noisy sample
        started, cpu_started = time.perf_counter(), time.process_time()
        result = run_backtest(series, BacktestConfig())
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu_started)  # what the replay itself used, whatever else runs
    replay_s, replay_cpu_s = statistics.median(walls), statistics.median(cpus)
    bars_per_s = YEAR_BARS / replay_s
    print(f"replay: {YEAR_BARS} bars, median of {RUNS} runs {replay_s:.2f} s "
          f"(runs {', '.join(f'{w:.2f}' for w in walls)}), {len(result.trades)} trades, "
          f"{result.judged_bars} bars judged, {result.exact_bars} with the exact band")  # fmt: skip

    symbols = [float_bars(f"SYM{i}USDT", DAYS, random.Random(SEED + i)) for i in range(SYMBOLS)]
    config, avi5, costs = CalibrationConfig(), AVI5Config(), TradeCosts()
    start, end = int(T0.timestamp()), int(T0.timestamp()) + DAYS * 86_400
    started = time.perf_counter()
    folds = 0
    for bars in symbols:
        candidates = extract_candidates(bars, avi5, costs, float(min(config.theta_grid)))
        folds += len(walk_forward(candidates, start, end, config).folds)
    calibration_s = time.perf_counter() - started
    print(f"calibration: {SYMBOLS} symbols × {DAYS} days in {calibration_s:.2f} s ({folds} folds)")
    print(json.dumps({
        "bars_per_s": round(bars_per_s), "bars_per_cpu_s": round(YEAR_BARS / replay_cpu_s),
        "bars_per_s_runs": [round(YEAR_BARS / w) for w in walls], "replay_bars": YEAR_BARS,
        "trades": len(result.trades), "judged_bars": result.judged_bars, "exact_bars": result.exact_bars,
        "calibration_s": round(calibration_s, 2), "calibration_symbols": SYMBOLS, "calibration_days": DAYS,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
