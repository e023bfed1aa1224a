"""``ReplaySeries``: the offline twin of ``IndicatorState`` + ``apply_avi5`` for replays (backtest, S-06).

A replay knows every candle up front and needs the *signal* of the bars it may act on (those with no trade
open), not every indicator of every bar. So:

1. One Decimal pass folds the whole series exactly as ``IndicatorState`` does — the ATR's EMA of true ranges
   and its history, the 15m bucketing of ``Resampler15m`` (without building the merged candle: its close,
   the last 5m close, is all the EMAs read) and the 15m EMAs — and keeps them per bar.
2. ``signal_at(i)`` sorts a warm bar with a trend outside a dead hour by where its close lies from
   VWAP ± θ·σ computed in floats, with a margin that bounds the float error: certainly inside (no trigger),
   certainly outside against the trend (no signal), certainly outside on the trend's side (*certain*), or
   too close to call. A certain bar's trigger and trend hold, so its book, timing and size conditions are
   judged by ``judge_candidate`` — the code ``apply_avi5`` runs after them — without the exact band, which
   no later condition reads. A bar too close to call gets the exact Decimal band, the live path's
   ``IndicatorSet`` and ``apply_avi5`` (``decide(i)``, the full decision).

Hence the signal of every bar equals the live path's (tested bar by bar against ``IndicatorState.fold`` +
``apply_avi5``, and the margin against the exact band on adversarial windows) at a fraction of its cost. A
candle that does not start after the previous folded one is not folded (as the live state skips it) and never
signals.

**The float margin.** tp = (high + low + close)/3 in floats errs by a few ε (ε = 2⁻⁵²) of itself; Σv,
Σtp·v and Σtp²·v are ``math.fsum`` of products each rounded once or twice, so each errs by well under
``_SLACK`` (64·ε) of its own magnitude. σ² = Σtp²·v/Σv − VWAP² then errs by at most ``_SLACK``·Σtp²·v/Σv,
hence σ by at most the square root of that, whatever the cancellation; VWAP and the close err by ``_SLACK``
of themselves. A bar is called only when the distance from VWAP clears θ·σ by those bounds, by 0.1 % of θ·σ
and by 1e-9 of the price on top.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from strategy_core.avi5 import Avi5Decision, CandidateBar, apply_avi5, judge_candidate
from strategy_core.config import AVI5Config, CalibrationStats, InstrumentRules, ThetaMap
from strategy_core.errors import ZeroVolumeError
from strategy_core.indicator_state import ATR_PERCENTILE, _indicator_set
from strategy_core.indicators import Donchian, atr_above_percentile, ema_seed, vwap_band_of
from strategy_core.models import BookTop, ConfirmedCandle, Side, TickerState
from strategy_core.numeric import DECIMAL_CONTEXT
from strategy_core.resample import FIVE_MINUTES, bucket_start_15m
from strategy_core.signal import Signal
from strategy_core.streaming import StreamingEMA

__all__ = ["MarketContext", "ReplaySeries"]

_SLACK = 64 * 2.0**-52  # bounds the relative error of a float window sum (fsum of rounded products)
_NOT_CANDIDATE, _CERTAIN, _CLOSE_CALL = 0, 1, 2


class MarketContext(Protocol):
    """The book top and ticker AVI-5 sees after a replayed bar (recorded, or an explicit approximation)."""

    def at(
        self, symbol: str, close: Decimal, bar_end: datetime, *, above_vwap: bool
    ) -> tuple[BookTop, TickerState]:
        """Return them at ``bar_end`` after a bar closing at ``close``; ``above_vwap``: close ≥ VWAP."""
        ...


class _Buckets15m:
    """``Resampler15m.update``'s completion rule without the merged candle: True when a 5m candle completes
    a 15m bucket (a complete triple b, b + 5 min, b + 10 min)."""

    def __init__(self) -> None:
        self._bucket: datetime | None = None
        self._pending = 0
        self._expected: datetime | None = None  # where the pending triple continues

    def completes(self, candle: ConfirmedCandle) -> bool:
        """Fold ``candle`` (starts strictly increasing); return whether it completes a bucket.

        Raises:
            ValueError: the candle is not a 5m candle.
        """
        start = candle.start
        if candle.end - start != FIVE_MINUTES:
            raise ValueError(f"expected a 5m candle, got a {candle.end - start} candle starting {start}")
        if self._pending and start == self._expected:
            self._pending += 1
        else:
            bucket = bucket_start_15m(start)
            if self._pending and bucket == self._bucket:
                self._pending = 0  # a gap inside the bucket: it can no longer be complete
                return False
            if start != bucket:
                self._pending = 0  # the bucket's first bar is missing
                return False
            self._bucket, self._pending = bucket, 1
        if self._pending == 3:
            self._pending = 0
            return True
        self._expected = start + FIVE_MINUTES
        return False


class ReplaySeries:
    """One symbol's candles folded once; AVI-5's signal on demand for the bars that may signal."""

    def __init__(
        self,
        candles: Sequence[ConfirmedCandle],
        config: AVI5Config,
        *,
        theta_map: ThetaMap,
        instrument: InstrumentRules,
        risk_per_trade_usd: Decimal,
        calibration: CalibrationStats | None = None,
    ) -> None:
        """Fold ``candles`` (one symbol, oldest first).

        Raises:
            ValueError: a candle belongs to another symbol or is not a 5m candle.
        """
        self.candles = candles
        self.symbol = candles[0].symbol if candles else ""
        self.config = config
        self.theta_map = theta_map
        self.instrument = instrument
        self.risk_per_trade_usd = risk_per_trade_usd
        self.calibration = calibration
        self.exact = 0  # bars judged with the exact band (for the bench)
        self.judged = 0  # bars whose book, timing and size conditions were judged (exact or certain)
        self._thetas = [float(theta_map.theta(h)) for h in range(24)]
        self._live_hours = [not theta_map.is_dead(h) for h in range(24)]
        self._warm = max(config.vwap_window, config.donchian_window)
        # per candle: its folded index p, or -1 when it was not folded; per folded bar p the rest
        self._position: list[int] = []
        self._folded: list[int] = []  # per folded bar: its candle's index
        # ATR values from folded bar atr_period on (the EMA of true ranges is seeded by that many): see _atr
        self._atr_values: list[Decimal] = []
        self._emas: list[tuple[Decimal | None, Decimal | None, int]] = []  # fast, slow, 15m bars so far
        self._fold_exact()
        self._float_tps = [0.0] * len(self._folded)  # converted on demand, see _window_floats
        self._float_volumes = [0.0] * len(self._folded)
        self._floats_done = (0, 0)  # the run of folded bars converted so far

    @property
    def candidates(self) -> list[bool]:
        """Return, per candle, whether AVI-5 may signal on it."""
        return [self.may_signal(i) for i in range(len(self.candles))]

    def may_signal(self, i: int) -> bool:
        """Return whether AVI-5 may signal on candle ``i`` (False: it certainly does not)."""
        return self._classify(i) != _NOT_CANDIDATE

    def _fold_exact(self) -> None:
        """Fold every candle once in Decimal: the live fold's arithmetic, in its order (``true_range`` and
        ``StreamingEMA`` spelled out with the same context operations)."""
        config = self.config
        add, sub, mul, absolute = (
            DECIMAL_CONTEXT.add, DECIMAL_CONTEXT.subtract, DECIMAL_CONTEXT.multiply, DECIMAL_CONTEXT.abs,
        )  # fmt: skip
        buckets = _Buckets15m()
        fast, slow = StreamingEMA(config.ema_fast_15m), StreamingEMA(config.ema_slow_15m)
        ema: tuple[Decimal | None, Decimal | None, int] = (None, None, 0)
        # StreamingATR: the EMA of true ranges from the second candle on, seeded with the mean of the first
        alpha, period = StreamingEMA(config.atr_period).alpha, config.atr_period
        seed: list[Decimal] = []
        atr: Decimal | None = None
        prev_close: Decimal | None = None
        last_start: datetime | None = None
        position, folded, atr_values, emas = self._position, self._folded, self._atr_values, self._emas
        symbol = self.symbol
        for i, candle in enumerate(self.candles):
            if candle.symbol != symbol:
                raise ValueError(f"expected a {symbol} candle, got {candle.symbol}")
            start = candle.start
            if last_start is not None and start <= last_start:
                position.append(-1)  # a duplicate or out-of-order bar: the live state skips it
                continue
            last_start = start
            position.append(len(folded))
            folded.append(i)
            high, low, close = candle.high, candle.low, candle.close
            if buckets.completes(candle):
                ema = (fast.update(close), slow.update(close), ema[2] + 1)
            if prev_close is not None:
                true_range = max(
                    sub(high, low), absolute(sub(high, prev_close)), absolute(sub(low, prev_close))
                )
                if atr is not None:
                    atr = add(atr, mul(alpha, sub(true_range, atr)))  # ema_step
                else:
                    seed.append(true_range)
                    if len(seed) == period:
                        atr = ema_seed(seed)
                if atr is not None:
                    atr_values.append(atr)
            prev_close = close
            emas.append(ema)

    def _window(self, p: int, size: int) -> list[ConfirmedCandle]:
        """Return the ``size`` folded candles ending at folded bar ``p``, oldest first."""
        candles = self.candles
        return [candles[j] for j in self._folded[p + 1 - size : p + 1]]

    def _window_floats(self, p: int) -> tuple[list[float], list[float]]:
        """Return the typical prices and volumes as floats of the VWAP window ending at folded bar ``p``
        (each bar converted once, on demand: a replay asks for windows moving forward)."""
        tps, volumes = self._float_tps, self._float_volumes
        first, end = p + 1 - self.config.vwap_window, p + 1
        done_from, done_to = self._floats_done
        if first < done_from or first > done_to:  # not adjacent to the converted run: start a new one
            done_from = done_to = first
        if end > done_to:
            candles, folded = self.candles, self._folded
            for q in range(done_to, end):
                candle = candles[folded[q]]
                tps[q] = (float(candle.high) + float(candle.low) + float(candle.close)) / 3.0
                volumes[q] = float(candle.volume)
            done_to = end
        self._floats_done = (done_from, done_to)
        return tps[first:end], volumes[first:end]

    def _classify(self, i: int) -> int:
        """Return how candle ``i`` stands: _NOT_CANDIDATE, _CERTAIN or _CLOSE_CALL (module docstring)."""
        p = self._position[i]
        if p < 0 or p + 1 < self._warm or self._atr(p) is None:
            return _NOT_CANDIDATE
        fast, slow, _ = self._emas[p]
        if fast is None or slow is None or fast == slow:
            return _NOT_CANDIDATE  # no trend: AVI-5 cannot signal
        candle = self.candles[i]
        hour = candle.start.hour
        if not self._live_hours[hour]:
            return _NOT_CANDIDATE
        tps, volumes = self._window_floats(p)
        return _call(float(candle.close), self._thetas[hour], 1 if fast > slow else -1, tps, volumes)

    def _exact_decision(self, i: int, context: MarketContext) -> Avi5Decision | None:
        """Return the live path's decision on folded candle ``i`` (None: its window traded no volume)."""
        p = self._position[i]
        config = self.config
        window = self._window(p, config.vwap_window)
        try:
            band = vwap_band_of(window)
        except ZeroVolumeError:
            return None
        self.exact += 1
        self.judged += 1
        channel = Donchian(
            high=max(c.high for c in self._window(p, config.donchian_window)),
            low=min(c.low for c in self._window(p, config.donchian_window)),
        )
        atr = self._atr(p)
        fast, slow, bars_15m = self._emas[p]
        if atr is None or fast is None or slow is None:
            raise AssertionError("a candidate bar is warm")
        candle = self.candles[i]
        indicators = _indicator_set(
            candle,
            band=band,
            atr=atr,
            channel=channel,
            ema_fast=fast,
            ema_slow=slow,
            bars_5m=p + 1,
            bars_15m=bars_15m,
            atr_above_p80=self._atr_above_p80(p),
        )
        book, ticker = context.at(
            candle.symbol, candle.close, candle.end, above_vwap=candle.close >= band.vwap
        )
        return apply_avi5(
            indicators,
            book=book,
            ticker=ticker,
            theta_map=self.theta_map,
            config=config,
            now=indicators.bar_end,
            instrument=self.instrument,
            risk_per_trade_usd=self.risk_per_trade_usd,
            calibration=self.calibration,
        )

    def _atr(self, p: int) -> Decimal | None:
        """Return the ATR after folded bar ``p`` (None during its warm-up: true ranges start at bar 1)."""
        k = p - self.config.atr_period
        return self._atr_values[k] if k >= 0 else None

    def _atr_above_p80(self, p: int) -> bool | None:
        seen = max(0, p + 1 - self.config.atr_period)  # ATR values up to p (the history's end)
        return atr_above_percentile(
            self._atr_values[max(0, seen - self.config.vwap_window) : seen], ATR_PERCENTILE
        )

    def decide(self, i: int, context: MarketContext) -> Avi5Decision | None:
        """Return AVI-5's full decision on candle ``i`` (the exact band, as the live path), or None when it
        certainly cannot signal (not a candidate, or its VWAP window traded no volume)."""
        if self._classify(i) == _NOT_CANDIDATE:
            return None
        return self._exact_decision(i, context)

    def signal_at(self, i: int, context: MarketContext) -> Signal | None:
        """Return AVI-5's signal on candle ``i`` — the live path's — or None; the exact band only for a bar
        too close to call."""
        kind = self._classify(i)
        if kind == _NOT_CANDIDATE:
            return None
        if kind == _CLOSE_CALL:
            decision = self._exact_decision(i, context)
            return None if decision is None else decision.signal
        p = self._position[i]
        fast, slow, _ = self._emas[p]
        atr = self._atr(p)
        if atr is None or fast is None or slow is None:
            raise AssertionError("a candidate bar is warm")
        side = Side.LONG if fast > slow else Side.SHORT  # certain: the trigger lies on the trend's side
        candle = self.candles[i]
        self.judged += 1
        book, ticker = context.at(candle.symbol, candle.close, candle.end, above_vwap=side is Side.LONG)
        bar = CandidateBar(candle.symbol, candle.start, candle.end, atr, self._atr_above_p80(p))
        return judge_candidate(
            side,
            [],
            bar,
            book=book,
            ticker=ticker,
            config=self.config,
            now=candle.end,
            instrument=self.instrument,
            risk_per_trade_usd=self.risk_per_trade_usd,
            calibration=self.calibration,
        ).signal


def _call(close: float, theta: float, trend: int, tps: list[float], volumes: list[float]) -> int:
    """Return how AVI-5's trigger stands on a warm bar with a trend: _NOT_CANDIDATE when it certainly fails
    (inside the band, or outside against the trend), _CERTAIN when it certainly holds on the trend's side,
    _CLOSE_CALL otherwise (the exact band decides). ``tps``, ``volumes``: the window's, as floats."""
    total = math.fsum(volumes)
    if total <= 0:
        return _CLOSE_CALL  # the exact path decides (a zero-volume window has no band)
    weighted = list(map(operator.mul, tps, volumes))
    vwap = math.fsum(weighted) / total
    second = math.fsum(map(operator.mul, tps, weighted)) / total
    sigma = math.sqrt(max(second - vwap * vwap, 0.0))
    sigma_error = math.sqrt(_SLACK * second)  # |√a − √b| ≤ √|a − b|, whatever the cancellation
    distance = close - vwap
    slack = _SLACK * (abs(vwap) + abs(close)) + 1e-9 * abs(close)
    if abs(distance) < 0.999 * theta * max(sigma - sigma_error, 0.0) - slack:
        return _NOT_CANDIDATE  # inside VWAP ± θσ: no trigger
    if abs(distance) <= 1.001 * theta * (sigma + sigma_error) + slack:
        return _CLOSE_CALL
    return _CERTAIN if (1 if distance > 0 else -1) == trend else _NOT_CANDIDATE  # against the trend: none
