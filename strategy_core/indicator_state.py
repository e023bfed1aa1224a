"""One symbol's full indicator state: folds confirmed 5m candles into ``IndicatorSet`` snapshots.

``IndicatorState`` is the streaming pipeline the IndicatorActor owns (VWAP band, ATR and Donchian on 5m; 15m
candles derived on the fly; fast/slow EMA on 15m closes). ``compute_indicator_set`` is its batch twin: for
the same 5m series (and the 15m candles derived from it) both return equal ``IndicatorSet`` values, field by
field.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from decimal import Decimal

from strategy_core.config import AVI5Config
from strategy_core.errors import InsufficientDataError, ZeroVolumeError
from strategy_core.indicators import (
    Donchian,
    VwapBand,
    atr_above_percentile,
    calculate_atr_ema,
    calculate_ema,
    calculate_vwap_band,
    donchian_channel,
)
from strategy_core.models import ConfirmedCandle, IndicatorSet
from strategy_core.resample import Resampler15m
from strategy_core.streaming import StreamingATR, StreamingDonchian, StreamingEMA, StreamingVWAP

__all__ = ["ATR_PERCENTILE", "IndicatorState", "compute_indicator_set"]

ATR_PERCENTILE = 80
"""E-05: ATR "above its 80th percentile", over the last ``vwap_window`` ATR values (the indicator window)."""


def _atr_history(candles_5m: Sequence[ConfirmedCandle], config: AVI5Config) -> list[Decimal]:
    """Return the last ``vwap_window`` ATR values of the series (the streaming fold, so both twins agree)."""
    atr = StreamingATR(config.atr_period)
    history: deque[Decimal] = deque(maxlen=config.vwap_window)
    for candle in candles_5m:
        value = atr.update(candle)
        if value is not None:
            history.append(value)
    return list(history)


def compute_indicator_set(
    candles_5m: Sequence[ConfirmedCandle],
    candles_15m: Sequence[ConfirmedCandle],
    config: AVI5Config,
) -> IndicatorSet:
    """Compute the ``IndicatorSet`` after the last 5m candle (batch form).

    Args:
        candles_5m: confirmed 5m candles of one symbol, oldest first.
        candles_15m: the complete 15m candles derived from them (``derive_15m``), oldest first.
        config: windows and periods.

    Raises:
        InsufficientDataError: the warm-up (``config.min_bars_5m`` / ``config.min_bars_15m``) is not met.
        ZeroVolumeError: the VWAP window traded no volume.
    """
    if not candles_5m:
        raise InsufficientDataError("expected at least one 5m candle, got none")
    band = calculate_vwap_band(candles_5m, config.vwap_window)
    atr = calculate_atr_ema(candles_5m, config.atr_period)
    channel = donchian_channel(candles_5m, config.donchian_window)
    closes_15m = [c.close for c in candles_15m]
    return _indicator_set(
        candles_5m[-1],
        band=band,
        atr=atr,
        channel=channel,
        ema_fast=calculate_ema(closes_15m, config.ema_fast_15m),
        ema_slow=calculate_ema(closes_15m, config.ema_slow_15m),
        bars_5m=len(candles_5m),
        bars_15m=len(candles_15m),
        atr_above_p80=atr_above_percentile(_atr_history(candles_5m, config), ATR_PERCENTILE),
    )


def _indicator_set(
    last: ConfirmedCandle,
    *,
    band: VwapBand,
    atr: Decimal,
    channel: Donchian,
    ema_fast: Decimal,
    ema_slow: Decimal,
    bars_5m: int,
    bars_15m: int,
    atr_above_p80: bool | None,
) -> IndicatorSet:
    """Return the snapshot after ``last``: the one field mapping of the batch and the streaming twin."""
    return IndicatorSet(
        symbol=last.symbol,
        bar_start=last.start,
        bar_end=last.end,
        close=last.close,
        vwap=band.vwap,
        vwap_sigma=band.sigma,
        atr=atr,
        donchian_high=channel.high,
        donchian_low=channel.low,
        ema_fast_15m=ema_fast,
        ema_slow_15m=ema_slow,
        bars_5m=bars_5m,
        bars_15m=bars_15m,
        atr_above_p80=atr_above_p80,
    )


class IndicatorState:
    """Streaming indicator state of one symbol (the IndicatorActor's private, mutable state)."""

    def __init__(self, symbol: str, config: AVI5Config) -> None:
        self.symbol = symbol
        self.config = config
        self._vwap = StreamingVWAP(config.vwap_window)
        self._atr = StreamingATR(config.atr_period)
        self._atr_history: deque[Decimal] = deque(maxlen=config.vwap_window)
        self._donchian = StreamingDonchian(config.donchian_window)
        self._resampler = Resampler15m()
        self._ema_fast = StreamingEMA(config.ema_fast_15m)
        self._ema_slow = StreamingEMA(config.ema_slow_15m)
        self._last: ConfirmedCandle | None = None
        self.bars_5m = 0
        self.bars_15m = 0
        self.skipped = 0

    @property
    def last_candle(self) -> ConfirmedCandle | None:
        """Return the newest 5m candle folded in."""
        return self._last

    def fold(self, candle: ConfirmedCandle) -> IndicatorSet | None:
        """Fold one confirmed 5m candle; return the snapshot, or ``None`` while warming up.

        A candle that does not start after the newest one already folded (a duplicate or a late, out-of-order
        bar) is skipped and counted in ``skipped``; the state is unchanged. A VWAP window without any volume
        yields ``None`` for this bar (the batch form raises ``ZeroVolumeError`` there).

        Raises:
            ValueError: the candle belongs to another symbol or is not a 5m candle.
        """
        if candle.symbol != self.symbol:
            raise ValueError(f"expected a {self.symbol} candle, got {candle.symbol}")
        if self._last is not None and candle.start <= self._last.start:
            self.skipped += 1
            return None
        merged = self._resampler.update(candle)
        self._last = candle
        self.bars_5m += 1
        if merged is not None:
            self.bars_15m += 1
            self._ema_fast.update(merged.close)
            self._ema_slow.update(merged.close)
        atr = self._atr.update(candle)
        if atr is not None:
            self._atr_history.append(atr)
        channel = self._donchian.update(candle)
        try:
            band = self._vwap.update(candle)
        except ZeroVolumeError:
            band = None
        fast, slow = self._ema_fast.value, self._ema_slow.value
        if band is None or atr is None or channel is None or fast is None or slow is None:
            return None
        return _indicator_set(
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
