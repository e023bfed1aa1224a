"""``ReplayState``: the offline twin of ``IndicatorState`` + ``apply_avi5`` for replays (backtest, S-06).

A replay needs the AVI-5 *decision* of every bar, not every indicator of every bar. The VWAP band is the
costly part of a fold (20 typical prices re-summed in Decimal), and on most bars the close lies well inside
VWAP ± θ·σ, where AVI-5 can only fail its trigger; on others the trigger's side is against
the 15m trend, where it can only fail its trend. So each bar first folds the stateful parts exactly as
``IndicatorState`` does (``StreamingATR``'s kernels, ``StreamingEMA`` and ATR history; the 15m bucketing of
``Resampler15m`` without building the merged candle: its close, the last 5m close, is all the EMAs read), then
runs a float pre-check of the trigger and the trend with a wide margin (0.1 % of θ·σ plus 1e-9 of the
price — far above the float error of a 20-bar band); only a bar that may trigger gets the exact Decimal
band, the same ``IndicatorSet`` and ``apply_avi5``. Hence the decision of every bar equals the live
path's (tested bar by bar against ``IndicatorState.fold`` + ``apply_avi5``), at several times its speed.
Dead hours skip the bar.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from strategy_core.avi5 import Avi5Decision, apply_avi5
from strategy_core.config import AVI5Config, CalibrationStats, InstrumentRules, ThetaMap
from strategy_core.errors import ZeroVolumeError
from strategy_core.indicator_state import ATR_PERCENTILE, _indicator_set
from strategy_core.indicators import Donchian, atr_above_percentile, true_range, typical_price, vwap_band_of
from strategy_core.models import BookTop, ConfirmedCandle, IndicatorSet, TickerState
from strategy_core.resample import FIVE_MINUTES, bucket_start_15m
from strategy_core.streaming import StreamingEMA

__all__ = ["MarketContext", "ReplayState"]

MarketContext = Callable[[IndicatorSet], tuple[BookTop, TickerState]]
"""Return the book top and ticker AVI-5 sees after a bar (recorded, or an explicit approximation)."""


class ReplayState:
    """One symbol's replay: fold a confirmed 5m candle, return AVI-5's decision when it may trigger."""

    def __init__(
        self,
        symbol: str,
        config: AVI5Config,
        *,
        theta_map: ThetaMap,
        instrument: InstrumentRules,
        risk_per_trade_usd: Decimal,
        calibration: CalibrationStats | None = None,
    ) -> None:
        self.symbol = symbol
        self.config = config
        self.theta_map = theta_map
        self.instrument = instrument
        self.risk_per_trade_usd = risk_per_trade_usd
        self.calibration = calibration
        self._window: deque[ConfirmedCandle] = deque(maxlen=config.vwap_window)
        self._floats: deque[tuple[float, float]] = deque(maxlen=config.vwap_window)
        self._tps: deque[Decimal] = deque(maxlen=config.vwap_window)
        self._sum_v = self._sum_tv = self._sum_ttv = 0.0  # Σv, Σtp·v, Σtp²·v of the window, in floats
        self._atr = StreamingEMA(config.atr_period)  # StreamingATR's EMA of true ranges, fed here
        self._prev_close: Decimal | None = None
        self._atr_history: deque[Decimal] = deque(maxlen=config.vwap_window)
        self._donchian: deque[ConfirmedCandle] = deque(maxlen=config.donchian_window)
        self._pending_bucket: datetime | None = None  # the 15m bucket of the pending 5m bars
        self._pending = 0
        self._expected: datetime | None = None  # where the pending triple continues
        self._fast = StreamingEMA(config.ema_fast_15m)
        self._slow = StreamingEMA(config.ema_slow_15m)
        self._last: ConfirmedCandle | None = None
        self.bars_5m = 0
        self.bars_15m = 0
        self.exact = 0  # bars that needed the exact band (for the bench)

    def _resum(self) -> None:
        """Re-sum Σv, Σtp·v, Σtp²·v of the window exactly (every 1000 bars, so rounding cannot drift)."""
        floats = self._floats
        self._sum_v = math.fsum(v for _, v in floats)
        self._sum_tv = math.fsum(t * v for t, v in floats)
        self._sum_ttv = math.fsum(t * t * v for t, v in floats)

    def _may_signal(self, close: float, theta: float, trend: int) -> bool:
        """Return False only when AVI-5 certainly fails its trigger or its trend on this bar."""
        total, weighted, squares = self._sum_v, self._sum_tv, self._sum_ttv
        if total <= 0:
            return True  # the exact path decides (a zero-volume window has no band)
        vwap = weighted / total
        sigma = math.sqrt(max(squares / total - vwap * vwap, 0.0))
        distance, band, noise = close - vwap, theta * sigma, 1e-9 * abs(close)
        if abs(distance) < 0.999 * band - noise:
            return False  # inside VWAP ± θσ: no trigger
        certain_side = abs(distance) > 1.001 * band + noise
        return not (certain_side and (1 if distance > 0 else -1) != trend)  # a trigger against the trend

    def _completes_15m(self, candle: ConfirmedCandle) -> bool:
        """Fold ``candle`` into the pending 15m bucket as ``Resampler15m.update`` does; True when it completes
        one (a complete triple b, b + 5 min, b + 10 min) — without building the merged candle.

        ``fold`` passes strictly increasing starts, so a pending triple continues exactly when the candle
        starts at ``self._expected`` (the bucket's next slot): the common case costs one comparison.

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
            if self._pending and bucket == self._pending_bucket:
                self._pending = 0  # a gap inside the bucket: it can no longer be complete
                return False
            if start != bucket:
                self._pending = 0  # the bucket's first bar is missing
                return False
            self._pending_bucket, self._pending = bucket, 1
        if self._pending == 3:
            self._pending = 0
            return True
        self._expected = start + FIVE_MINUTES
        return False

    def fold(
        self, candle: ConfirmedCandle, context: MarketContext, *, evaluate: bool = True
    ) -> Avi5Decision | None:
        """Fold one candle; return the decision when the bar may trigger (else None: no signal possible).

        ``evaluate=False`` folds the state only (a replay that could not take a signal now: it holds a
        trade).

        Raises:
            ValueError: the candle belongs to another symbol or is not a 5m candle.
        """
        if candle.symbol != self.symbol:
            raise ValueError(f"expected a {self.symbol} candle, got {candle.symbol}")
        last = self._last
        if last is not None and candle.start <= last.start:
            return None
        atr = self._advance(candle)
        if not evaluate or atr is None or len(self._window) != self._window.maxlen:
            return None
        if len(self._donchian) != self._donchian.maxlen:
            return None
        return self._decide(candle, atr, context)

    def _advance(self, candle: ConfirmedCandle) -> Decimal | None:
        """Fold the stateful parts (15m EMAs, ATR and its history, windows, float sums); return the ATR."""
        if self._completes_15m(candle):
            # the 15m candle's close is its last 5m close: the EMAs need nothing else of the merged bar
            self.bars_15m += 1
            self._fast.update(candle.close)
            self._slow.update(candle.close)
        self._last = candle
        self.bars_5m += 1
        # StreamingATR.update inline: the EMA of the true ranges from the second candle on
        prev_close, self._prev_close = self._prev_close, candle.close
        atr = None if prev_close is None else self._atr.update(true_range(candle, prev_close))
        if atr is not None:
            self._atr_history.append(atr)
        self._donchian.append(candle)
        self._window.append(candle)
        tp = typical_price(candle)
        self._tps.append(tp)
        # Σv, Σtp·v, Σtp²·v of the float window, kept incrementally for the pre-check
        t, v = float(tp), float(candle.volume)
        floats = self._floats
        if len(floats) == floats.maxlen:
            old_t, old_v = floats[0]
            self._sum_v -= old_v
            self._sum_tv -= old_t * old_v
            self._sum_ttv -= old_t * old_t * old_v
        floats.append((t, v))
        self._sum_v += v
        self._sum_tv += t * v
        self._sum_ttv += t * t * v
        if self.bars_5m % 1000 == 0:
            self._resum()
        return atr

    def _decide(self, candle: ConfirmedCandle, atr: Decimal, context: MarketContext) -> Avi5Decision | None:
        """Return AVI-5's decision on a warm bar, or None when the float pre-check rules a signal out."""
        fast, slow = self._fast.value, self._slow.value
        if fast is None or slow is None:
            return None
        close = float(candle.close)
        hour = candle.start.hour
        trend = 0 if fast == slow else (1 if fast > slow else -1)
        if trend == 0 or self.theta_map.is_dead(hour):
            return None  # no trend (or a dead hour): AVI-5 cannot signal
        if not self._may_signal(close, float(self.theta_map.theta(hour)), trend):
            return None
        try:
            band = vwap_band_of(list(self._window), list(self._tps))
        except ZeroVolumeError:
            return None
        self.exact += 1
        channel = Donchian(high=max(c.high for c in self._donchian), low=min(c.low for c in self._donchian))
        indicators = _indicator_set(
            candle,
            band=band,
            atr=atr,
            channel=channel,
            ema_fast=fast,
            ema_slow=slow,
            bars_5m=self.bars_5m,
            bars_15m=self.bars_15m,
            atr_above_p80=atr_above_percentile(self._atr_history, ATR_PERCENTILE),
        )
        book, ticker = context(indicators)
        return apply_avi5(
            indicators,
            book=book,
            ticker=ticker,
            theta_map=self.theta_map,
            config=self.config,
            now=indicators.bar_end,
            instrument=self.instrument,
            risk_per_trade_usd=self.risk_per_trade_usd,
            calibration=self.calibration,
        )
