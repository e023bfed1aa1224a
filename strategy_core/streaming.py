"""Incremental (streaming) forms of the S-01 indicators, fed one value or candle at a time.

Each class keeps only what its formula needs and calls the same kernels as the batch functions in
``indicators.py`` (``ema_seed``/``ema_step``, ``true_range``, ``vwap_band_of``), in the same order, so after
the same inputs a streaming form returns exactly the value of its batch form. ``update`` returns ``None``
until enough inputs have arrived (the warm-up), then the current value.

These objects are mutable by design: they are the private state of one IndicatorActor and never cross a
thread or actor boundary; the actor publishes frozen ``IndicatorSet`` snapshots instead.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from strategy_core.indicators import (
    Donchian,
    VwapBand,
    ema_alpha,
    ema_seed,
    ema_step,
    true_range,
    vwap_band_of,
)
from strategy_core.models import ConfirmedCandle

__all__ = ["StreamingATR", "StreamingDonchian", "StreamingEMA", "StreamingVWAP"]


class StreamingEMA:
    """EMA with α = 2/(period+1), seeded with the mean of the first ``period`` values (``calculate_ema``)."""

    def __init__(self, period: int) -> None:
        self.alpha = ema_alpha(period)
        self.period = period
        self._seed: list[Decimal] = []
        self._value: Decimal | None = None

    @property
    def value(self) -> Decimal | None:
        """Return the current EMA, or ``None`` during the warm-up."""
        return self._value

    def update(self, value: Decimal) -> Decimal | None:
        """Fold one value in and return the current EMA (``None`` until ``period`` values arrived)."""
        if self._value is not None:
            self._value = ema_step(self._value, value, self.alpha)
        else:
            self._seed.append(value)
            if len(self._seed) == self.period:
                self._value = ema_seed(self._seed)
                self._seed = []
        return self._value


class StreamingATR:
    """ATR as ``calculate_atr_ema``: EMA(period) of the true ranges from the second candle on."""

    def __init__(self, period: int = 14) -> None:
        self._ema = StreamingEMA(period)
        self._prev_close: Decimal | None = None

    @property
    def value(self) -> Decimal | None:
        """Return the current ATR, or ``None`` during the warm-up."""
        return self._ema.value

    def update(self, candle: ConfirmedCandle) -> Decimal | None:
        """Fold one candle in and return the current ATR (``None`` until period + 1 candles arrived)."""
        prev_close, self._prev_close = self._prev_close, candle.close
        if prev_close is None:
            return None
        return self._ema.update(true_range(candle, prev_close))


class StreamingVWAP:
    """Rolling VWAP and σ over the last ``window`` candles (as ``calculate_vwap_band``).

    The window is re-summed on each update rather than kept as running sums: running sums would accumulate
    different rounding than the batch form, and 20 multiply-adds per bar cost microseconds.
    """

    def __init__(self, window: int = 20) -> None:
        if window < 1:
            raise ValueError(f"expected a window ≥ 1, got {window}")
        self._candles: deque[ConfirmedCandle] = deque(maxlen=window)
        self._value: VwapBand | None = None

    @property
    def value(self) -> VwapBand | None:
        """Return the current band, or ``None`` during the warm-up."""
        return self._value

    def update(self, candle: ConfirmedCandle) -> VwapBand | None:
        """Fold one candle in and return the band (``None`` until ``window`` candles arrived).

        Raises:
            ZeroVolumeError: the full window traded no volume (the band is unknown: ``value`` is ``None``).
        """
        self._candles.append(candle)
        self._value = None
        if len(self._candles) == self._candles.maxlen:
            self._value = vwap_band_of(list(self._candles))
        return self._value


class StreamingDonchian:
    """Donchian channel over the last ``window`` candles (as ``donchian_channel``)."""

    def __init__(self, window: int = 20) -> None:
        if window < 1:
            raise ValueError(f"expected a window ≥ 1, got {window}")
        self._candles: deque[ConfirmedCandle] = deque(maxlen=window)

    @property
    def value(self) -> Donchian | None:
        """Return the current channel, or ``None`` during the warm-up."""
        if len(self._candles) < (self._candles.maxlen or 0):
            return None
        return Donchian(high=max(c.high for c in self._candles), low=min(c.low for c in self._candles))

    def update(self, candle: ConfirmedCandle) -> Donchian | None:
        """Fold one candle in and return the channel (``None`` until ``window`` candles arrived)."""
        self._candles.append(candle)
        return self.value
