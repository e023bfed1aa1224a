"""Per-bar features and candidate trade outcomes for the walk-forward calibration (S-05), in floats.

Calibration is a statistical search over a θ grid on hundreds of thousands of bars (15 symbols × 210 days ≈
900k 5m bars), so it reads the AVI-5 indicators in binary floating point with running sums (O(1) per bar)
instead of the Decimal kernels of the live path; the formulas are those of ``indicators.py`` (VWAP band over
``vwap_window`` bars, ATR as an EMA of true ranges, trend from EMA(fast) vs EMA(slow) of complete 15m
candles). θ only moves the trigger, so the features are computed once and every θ of the grid is a filter:

- z = (close − VWAP)/σ, s = the 15m trend's sign; a bar is a *candidate* for the side s when s·z exceeds the
  smallest θ of the grid (the trigger of θ is s·z > θ; the trend filter is the side itself);
- the candidate's trade is simulated on the following bars as the fill model does (entry at the close moved
  by the slippage, SL at k_sl_atr·ATR, TP1..TP3 at tpᵢ_r·R split 40/30/30, stop first on a bar touching
  both, fees on every fill, time exit after ``max_hold_bars``); its result is in R and ``win`` is "TP1 before
  SL". Funding and the book conditions (imbalance, microprice, spread) are not modelled here: no history.

**No look-ahead**: a candidate's features use bars up to its own; its outcome uses bars up to its exit, and
``exit_ts`` (the exit bar's end) lets a window take only the trades closed inside it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from strategy_core.config import AVI5Config

__all__ = ["BarSeries", "Candidates", "TradeCosts", "extract_candidates"]

_BAR_S = 300
_BUCKET_S = 900


@dataclass(slots=True)
class BarSeries:
    """One symbol's 5m bars as parallel columns, oldest first (``ts``: bar start, epoch seconds)."""

    symbol: str
    ts: list[int] = field(default_factory=list)
    open: list[float] = field(default_factory=list)
    high: list[float] = field(default_factory=list)
    low: list[float] = field(default_factory=list)
    close: list[float] = field(default_factory=list)
    volume: list[float] = field(default_factory=list)
    turnover: list[float] = field(default_factory=list)

    def append(  # noqa: PLR0917 - one bar's columns, in the CSV's order
        self, ts: int, o: float, h: float, lo: float, c: float, v: float, turnover: float
    ) -> None:
        """Append one bar (callers keep the order)."""
        self.ts.append(ts)
        self.open.append(o)
        self.high.append(h)
        self.low.append(lo)
        self.close.append(c)
        self.volume.append(v)
        self.turnover.append(turnover)

    def __len__(self) -> int:
        return len(self.ts)


@dataclass(frozen=True, slots=True)
class TradeCosts:
    """The fill model's costs as the calibration applies them (percent of price)."""

    slippage_pct: float = 0.05
    fee_pct: float = 0.055
    tp_split: tuple[float, float, float] = (0.4, 0.3, 0.3)
    max_hold_bars: int = 288


@dataclass(slots=True)
class Candidates:
    """Candidate trades of one symbol (parallel columns) plus per-bar columns for the drift and liquidity."""

    symbol: str
    ts: list[int] = field(default_factory=list)
    hour: list[int] = field(default_factory=list)
    side: list[int] = field(default_factory=list)
    strength: list[float] = field(default_factory=list)  # s·z: the trigger fires for θ < strength
    r: list[float] = field(default_factory=list)
    win: list[bool] = field(default_factory=list)
    exit_ts: list[int] = field(default_factory=list)
    bar_ts: list[int] = field(default_factory=list)  # every warm bar
    bar_return: list[float] = field(default_factory=list)  # log return of each warm bar
    bar_turnover: list[float] = field(default_factory=list)


class _Ema:
    __slots__ = ("alpha", "period", "seed", "value")

    def __init__(self, period: int) -> None:
        self.alpha = 2.0 / (period + 1)
        self.period = period
        self.seed: list[float] = []
        self.value: float | None = None

    def update(self, x: float) -> float | None:
        if self.value is not None:
            self.value += self.alpha * (x - self.value)
        else:
            self.seed.append(x)
            if len(self.seed) == self.period:
                self.value = sum(self.seed) / self.period
        return self.value


def _simulate(  # noqa: PLR0917 - the bar columns and the trade's levels
    bars: BarSeries, i: int, side: int, atr: float, config: AVI5Config, costs: TradeCosts
) -> tuple[float, bool, int] | None:
    """Return (result in R, TP1 first, exit bar end) of a trade entered at bar ``i``'s close, or None."""
    close = bars.close[i]
    risk = float(config.k_sl_atr) * atr
    if risk <= 0:
        return None
    slip = costs.slippage_pct / 100
    fee = costs.fee_pct / 100
    entry_fill = close * (1 + side * slip)
    sl = close - side * risk
    tps = (close + side * float(config.tp1_r) * risk, close + side * float(config.tp2_r) * risk,
           close + side * float(config.tp3_r) * risk)  # fmt: skip
    open_qty, pnl, costs_paid, filled, first = 1.0, 0.0, entry_fill * fee, 0, False
    highs, lows, n = bars.high, bars.low, len(bars.ts)
    last = min(n - 1, i + costs.max_hold_bars)
    j = i
    for j in range(i + 1, last + 1):
        hi, lo = highs[j], lows[j]
        if (lo <= sl) if side > 0 else (hi >= sl):
            px = sl * (1 - side * slip)
            pnl += side * (px - entry_fill) * open_qty
            costs_paid += px * fee * open_qty
            return (pnl - costs_paid) / risk, first, bars.ts[j] + _BAR_S
        while filled < 3 and ((hi >= tps[filled]) if side > 0 else (lo <= tps[filled])):
            size = open_qty if filled == 2 else costs.tp_split[filled]
            pnl += side * (tps[filled] - entry_fill) * size
            costs_paid += tps[filled] * fee * size
            open_qty -= size
            filled += 1
            first = True
        if filled == 3:
            return (pnl - costs_paid) / risk, first, bars.ts[j] + _BAR_S
    if j - i < costs.max_hold_bars:
        return None  # the data ends before the trade does: no outcome (never guessed)
    px = bars.close[j] * (1 - side * slip)
    pnl += side * (px - entry_fill) * open_qty
    costs_paid += px * fee * open_qty
    return (pnl - costs_paid) / risk, first, bars.ts[j] + _BAR_S


class _FloatIndicators:
    """The AVI-5 indicators in floats: VWAP band by running sums, ATR, 15m trend EMAs (see module doc)."""

    def __init__(self, config: AVI5Config) -> None:
        self.window = config.vwap_window
        self.vols: deque[float] = deque()
        self.tps: deque[float] = deque()
        self.sum_v = self.sum_pv = self.sum_p2v = 0.0
        self.atr = _Ema(config.atr_period)
        self.fast, self.slow = _Ema(config.ema_fast_15m), _Ema(config.ema_slow_15m)
        self.bucket = 0  # bars of the pending aligned 15m triple
        self.bucket_start = -1
        self.prev_close: float | None = None

    def _resample(self, ts: int, close: float) -> None:
        start = ts - ts % _BUCKET_S
        if self.bucket and self.bucket_start != start:
            self.bucket = 0
        if ts == start + _BAR_S * self.bucket:
            self.bucket_start = start
            self.bucket += 1
            if self.bucket == 3:
                self.fast.update(close)
                self.slow.update(close)
                self.bucket = 0
        else:
            self.bucket = 0

    def _band(self, tp: float, v: float) -> None:
        self.vols.append(v)
        self.tps.append(tp)
        self.sum_v += v
        self.sum_pv += tp * v
        self.sum_p2v += tp * tp * v
        if len(self.vols) > self.window:
            ov, op = self.vols.popleft(), self.tps.popleft()
            self.sum_v -= ov
            self.sum_pv -= op * ov
            self.sum_p2v -= op * op * ov

    def update(self, ts: int, h: float, lo: float, c: float, v: float) -> tuple[float, float] | None:
        """Fold one bar; return (log return, ATR) once every indicator is warm, else None."""
        self._resample(ts, c)
        prev = self.prev_close
        atr = self.atr.update(max(h - lo, abs(h - prev), abs(lo - prev))) if prev is not None else None
        ret = math.log(c / prev) if prev is not None else 0.0
        self.prev_close = c
        self._band((h + lo + c) / 3, v)
        warm = len(self.vols) == self.window and self.fast.value is not None and self.slow.value is not None
        if not warm or atr is None or self.sum_v <= 0:
            return None
        return ret, atr

    def trigger(self, close: float) -> tuple[int, float] | None:
        """Return (trend side, s·z) of the last bar, or None without a trend or a band."""
        fast, slow = self.fast.value, self.slow.value
        if fast is None or slow is None or fast == slow:
            return None
        vwap = self.sum_pv / self.sum_v
        sigma = math.sqrt(max(self.sum_p2v / self.sum_v - vwap * vwap, 0.0))
        if sigma <= vwap * 1e-12:
            return None
        side = 1 if fast > slow else -1
        return side, side * (close - vwap) / sigma


def extract_candidates(
    bars: BarSeries, config: AVI5Config, costs: TradeCosts, min_strength: float
) -> Candidates:
    """Return the candidate trades of ``bars`` whose trigger strength s·z exceeds ``min_strength``."""
    out = Candidates(bars.symbol)
    state = _FloatIndicators(config)
    for i, ts in enumerate(bars.ts):
        c = bars.close[i]
        warm = state.update(ts, bars.high[i], bars.low[i], c, bars.volume[i])
        if warm is None:
            continue
        ret, atr = warm
        out.bar_ts.append(ts)
        out.bar_return.append(ret)
        out.bar_turnover.append(bars.turnover[i])
        trigger = state.trigger(c)
        if trigger is None or trigger[1] <= min_strength:
            continue
        side, strength = trigger
        outcome = _simulate(bars, i, side, atr, config, costs)
        if outcome is None:
            continue
        r, win, exit_ts = outcome
        out.ts.append(ts)
        out.hour.append((ts // 3600) % 24)
        out.side.append(side)
        out.strength.append(strength)
        out.r.append(r)
        out.win.append(win)
        out.exit_ts.append(exit_ts)
    return out


def profit_factor(results: Sequence[float]) -> float:
    """Return Σ wins / |Σ losses| (``inf`` with wins and no loss, 0 without wins)."""
    gains = sum(r for r in results if r > 0)
    losses = -sum(r for r in results if r < 0)
    if losses == 0:
        return math.inf if gains > 0 else 0.0
    return gains / losses
