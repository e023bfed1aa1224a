"""``ReplayState``: the offline twin of ``IndicatorState`` + ``apply_avi5`` for replays (backtest, S-06).

A replay needs the AVI-5 *decision* of every bar, not every indicator of every bar. The VWAP band is the
costly part of a fold (20 typical prices re-summed in Decimal), and on most bars the close lies well inside
VWAP ± θ·σ, where AVI-5 can only fail its trigger. So each bar first folds the stateful parts exactly as
``IndicatorState`` does (the same ``StreamingATR``, ``Resampler15m``, ``StreamingEMA`` and ATR history), then
runs a float pre-check of the trigger with a wide margin (0.1 % of θ·σ plus 1e-9 of the price — far above
the float error of a 20-bar band); only a bar that may trigger gets the exact Decimal band, the same
``IndicatorSet`` and ``apply_avi5``. Hence the decision of every bar equals the live path's (tested bar by
bar against ``IndicatorState.fold`` + ``apply_avi5``), at several times its speed. Dead hours skip the bar.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from decimal import Decimal

from strategy_core.avi5 import Avi5Decision, apply_avi5
from strategy_core.config import AVI5Config, CalibrationStats, InstrumentRules, ThetaMap
from strategy_core.errors import ZeroVolumeError
from strategy_core.indicator_state import ATR_PERCENTILE, _indicator_set
from strategy_core.indicators import Donchian, atr_above_percentile, vwap_band_of
from strategy_core.models import BookTop, ConfirmedCandle, IndicatorSet, TickerState
from strategy_core.resample import Resampler15m
from strategy_core.streaming import StreamingATR, StreamingEMA

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
        self._atr = StreamingATR(config.atr_period)
        self._atr_history: deque[Decimal] = deque(maxlen=config.vwap_window)
        self._donchian: deque[ConfirmedCandle] = deque(maxlen=config.donchian_window)
        self._resampler = Resampler15m()
        self._fast = StreamingEMA(config.ema_fast_15m)
        self._slow = StreamingEMA(config.ema_slow_15m)
        self._last: ConfirmedCandle | None = None
        self.bars_5m = 0
        self.bars_15m = 0
        self.exact = 0  # bars that needed the exact band (for the bench)

    def _may_trigger(self, close: float, theta: float) -> bool:
        total = sum(v for _, v in self._floats)
        if total <= 0:
            return True  # the exact path decides (a zero-volume window has no band)
        vwap = sum(tp * v for tp, v in self._floats) / total
        sigma = math.sqrt(sum(v * (tp - vwap) ** 2 for tp, v in self._floats) / total)
        return abs(close - vwap) >= 0.999 * theta * sigma - 1e-9 * abs(close)

    def fold(self, candle: ConfirmedCandle, context: MarketContext) -> Avi5Decision | None:
        """Fold one candle; return the decision when the bar may trigger (else None: no signal possible).

        Raises:
            ValueError: the candle belongs to another symbol or is not a 5m candle.
        """
        if candle.symbol != self.symbol:
            raise ValueError(f"expected a {self.symbol} candle, got {candle.symbol}")
        if self._last is not None and candle.start <= self._last.start:
            return None
        merged = self._resampler.update(candle)
        self._last = candle
        self.bars_5m += 1
        if merged is not None:
            self.bars_15m += 1
            self._fast.update(merged.close)
            self._slow.update(merged.close)
        atr = self._atr.update(candle)
        if atr is not None:
            self._atr_history.append(atr)
        self._donchian.append(candle)
        self._window.append(candle)
        close = float(candle.close)
        self._floats.append((float(candle.high + candle.low + candle.close) / 3, float(candle.volume)))
        fast, slow = self._fast.value, self._slow.value
        warm = len(self._window) == self._window.maxlen and len(self._donchian) == self._donchian.maxlen
        if not warm or atr is None or fast is None or slow is None:
            return None
        hour = candle.start.hour
        if self.theta_map.is_dead(hour) or not self._may_trigger(close, float(self.theta_map.theta(hour))):
            return None
        try:
            band = vwap_band_of(list(self._window))
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
