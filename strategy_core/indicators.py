"""Batch indicators of S-01 with the specification's names and signatures.

Candle sequences are ordered oldest → newest; windowed indicators use the *last* ``window`` candles. All
arithmetic runs in :data:`strategy_core.numeric.DECIMAL_CONTEXT`. The small ``*_step``/kernel functions here
are the only implementation of each formula: the streaming forms in ``streaming.py`` call the same kernels in
the same order, which is why batch and streaming results are identical to the last digit.

Formulas (also in docs/strategy.md):
- typical price  tp = (high + low + close) / 3
- VWAP_n   = Σ tp·v / Σ v over the last n bars;  σ_n = sqrt(Σ v·(tp − VWAP)² / Σ v) (volume-weighted)
- TR_i     = max(high_i − low_i, |high_i − close_{i−1}|, |low_i − close_{i−1}|) for i ≥ 1
- EMA      α = 2 / (period + 1); seeded with the simple mean of the first ``period`` values, then
             ema ← ema + α·(x − ema) for each later value
- ATR      = EMA(period) over TR_1..TR_{n−1}  (needs period + 1 candles)
- Donchian = (max high, min low) over the last n bars, the current bar included
- imbalance = (Σ bid qty − Σ ask qty) / (Σ bid qty + Σ ask qty) over the best ``levels`` of each side
- microprice = (ask·bid_qty + bid·ask_qty) / (bid_qty + ask_qty)
- ATR elevated (E-05) = the newest ATR > the p-th percentile (nearest rank) of the last n ATR values, the
             newest included; unknown (None) until two values exist
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from decimal import Decimal, localcontext
from typing import NamedTuple

from strategy_core.errors import InsufficientDataError, InvalidBookError, ZeroVolumeError
from strategy_core.models import ConfirmedCandle
from strategy_core.numeric import DECIMAL_CONTEXT

__all__ = [
    "BookLevel",
    "Donchian",
    "VwapBand",
    "atr_above_percentile",
    "book_depth_usd",
    "calculate_atr_ema",
    "calculate_ema",
    "calculate_vwap",
    "calculate_vwap_band",
    "donchian_channel",
    "ema_alpha",
    "ema_seed",
    "ema_step",
    "microprice",
    "orderbook_imbalance",
    "true_range",
    "typical_price",
    "vwap_band_of",
]

_THREE = Decimal(3)
_TWO = Decimal(2)


class VwapBand(NamedTuple):
    """Rolling VWAP and the volume-weighted standard deviation σ of typical price around it."""

    vwap: Decimal
    sigma: Decimal

    def upper(self, theta: Decimal) -> Decimal:
        """Return VWAP + θ·σ."""
        return DECIMAL_CONTEXT.add(self.vwap, DECIMAL_CONTEXT.multiply(theta, self.sigma))

    def lower(self, theta: Decimal) -> Decimal:
        """Return VWAP − θ·σ."""
        return DECIMAL_CONTEXT.subtract(self.vwap, DECIMAL_CONTEXT.multiply(theta, self.sigma))


class Donchian(NamedTuple):
    """Donchian channel: highest high and lowest low of the window."""

    high: Decimal
    low: Decimal


class BookLevel(NamedTuple):
    """One price level of an order book side."""

    price: Decimal
    qty: Decimal


def _need(count: int, needed: int, what: str) -> None:
    if needed < 1:
        raise ValueError(f"expected a window/period ≥ 1, got {needed}")
    if count < needed:
        raise InsufficientDataError(f"expected at least {needed} {what}, got {count}")


# The per-bar kernels below (typical price, true range, EMA step) call the context's methods: the very
# operations, in the same order, that ``localcontext(DECIMAL_CONTEXT)`` would run — so the same digits —
# without entering a context per call (they run on every bar of a replay).
_ADD = DECIMAL_CONTEXT.add
_SUBTRACT = DECIMAL_CONTEXT.subtract
_MULTIPLY = DECIMAL_CONTEXT.multiply
_DIVIDE = DECIMAL_CONTEXT.divide
_ABS = DECIMAL_CONTEXT.abs
_POWER = DECIMAL_CONTEXT.power
_ZERO = Decimal(0)


def typical_price(candle: ConfirmedCandle) -> Decimal:
    """Return (high + low + close) / 3."""
    return _DIVIDE(_ADD(_ADD(candle.high, candle.low), candle.close), _THREE)


def vwap_band_of(
    window: Sequence[ConfirmedCandle], typical_prices: Sequence[Decimal] | None = None
) -> VwapBand:
    """Return VWAP and σ of exactly the given candles (the kernel of every VWAP form).

    ``typical_prices``, when given, are ``typical_price`` of each candle computed earlier (a replay keeps
    them): the same values, so the same result.

    Raises:
        ZeroVolumeError: when the candles traded no volume at all.
    """
    tps = list(typical_prices) if typical_prices is not None else [typical_price(c) for c in window]
    volumes = [c.volume for c in window]
    add, multiply, subtract, power = _ADD, _MULTIPLY, _SUBTRACT, _POWER
    # Σ left to right from 0, as sum() in localcontext(DECIMAL_CONTEXT) would: the same digits.
    total_volume = weighted = squares = _ZERO
    for volume in volumes:
        total_volume = add(total_volume, volume)
    if total_volume == 0:
        raise ZeroVolumeError(f"expected volume in the {len(window)}-bar VWAP window, got zero")
    for tp, volume in zip(tps, volumes, strict=True):
        weighted = add(weighted, multiply(tp, volume))
    vwap = _DIVIDE(weighted, total_volume)
    for tp, volume in zip(tps, volumes, strict=True):
        squares = add(squares, multiply(volume, power(subtract(tp, vwap), 2)))
    return VwapBand(vwap=vwap, sigma=DECIMAL_CONTEXT.sqrt(_DIVIDE(squares, total_volume)))


def calculate_vwap(klines: Sequence[ConfirmedCandle], window: int = 20) -> Decimal:
    """Return the rolling VWAP Σ(tp·v)/Σv over the last ``window`` candles (S-01).

    Raises:
        InsufficientDataError: fewer than ``window`` candles (a ``ValueError``).
        ZeroVolumeError: the window traded no volume.
    """
    return calculate_vwap_band(klines, window).vwap


def calculate_vwap_band(klines: Sequence[ConfirmedCandle], window: int = 20) -> VwapBand:
    """Return the rolling VWAP and its volume-weighted σ over the last ``window`` candles."""
    _need(len(klines), window, "candles for the VWAP")
    return vwap_band_of(klines[-window:])


def true_range(candle: ConfirmedCandle, prev_close: Decimal) -> Decimal:
    """Return max(high − low, |high − prev_close|, |low − prev_close|)."""
    high, low = candle.high, candle.low
    return max(_SUBTRACT(high, low), _ABS(_SUBTRACT(high, prev_close)), _ABS(_SUBTRACT(low, prev_close)))


def ema_alpha(period: int) -> Decimal:
    """Return the EMA smoothing factor α = 2 / (period + 1)."""
    if period < 1:
        raise ValueError(f"expected an EMA period ≥ 1, got {period}")
    with localcontext(DECIMAL_CONTEXT):
        return _TWO / Decimal(period + 1)


def ema_seed(first_values: Sequence[Decimal]) -> Decimal:
    """Return the EMA seed: the simple mean of the first ``period`` values."""
    with localcontext(DECIMAL_CONTEXT):
        return sum(first_values, Decimal(0)) / Decimal(len(first_values))


def ema_step(prev: Decimal, value: Decimal, alpha: Decimal) -> Decimal:
    """Return the next EMA value: prev + α·(value − prev)."""
    return _ADD(prev, _MULTIPLY(alpha, _SUBTRACT(value, prev)))


def calculate_ema(values: Sequence[Decimal], period: int) -> Decimal:
    """Return the EMA of ``values`` after the last value (seeded with the SMA of the first ``period``).

    Raises:
        InsufficientDataError: fewer than ``period`` values.
    """
    _need(len(values), period, "values for the EMA")
    alpha = ema_alpha(period)
    ema = ema_seed(values[:period])
    for value in values[period:]:
        ema = ema_step(ema, value, alpha)
    return ema


def calculate_atr_ema(klines: Sequence[ConfirmedCandle], period: int = 14) -> Decimal:
    """Return the ATR: the EMA(``period``) of true ranges TR_1..TR_{n−1} (S-01).

    Raises:
        InsufficientDataError: fewer than ``period + 1`` candles (each TR needs a previous close).
    """
    _need(len(klines), period + 1, "candles for the ATR")
    ranges = [true_range(c, prev.close) for prev, c in itertools.pairwise(klines)]
    return calculate_ema(ranges, period)


def atr_above_percentile(atrs: Sequence[Decimal], percentile: int = 80) -> bool | None:
    """Return whether the newest ATR (``atrs[-1]``) lies above the ``percentile``-th percentile of ``atrs``.

    The percentile is the nearest-rank one (the ⌈p/100·n⌉-th smallest value, no interpolation, so the
    comparison is exact in Decimal). ``atrs`` is the ATR history of the indicator window, oldest first, the
    newest included. Returns ``None`` with fewer than two values: one value has no distribution to lie above.

    Raises:
        ValueError: ``percentile`` is not in 1..100.
    """
    if not 1 <= percentile <= 100:
        raise ValueError(f"expected a percentile in 1..100, got {percentile}")
    if len(atrs) < 2:  # a distribution needs two values
        return None
    rank = math.ceil(percentile * len(atrs) / 100)
    return atrs[-1] > sorted(atrs)[rank - 1]


def donchian_channel(klines: Sequence[ConfirmedCandle], window: int = 20) -> Donchian:
    """Return (highest high, lowest low) over the last ``window`` candles, the newest included."""
    _need(len(klines), window, "candles for the Donchian channel")
    tail = klines[-window:]
    return Donchian(high=max(c.high for c in tail), low=min(c.low for c in tail))


def _side_qty(levels: Iterable[tuple[Decimal, Decimal]], what: str) -> list[BookLevel]:
    side = [BookLevel(Decimal(p), Decimal(q)) for p, q in levels]
    if not side:
        raise InvalidBookError(f"expected a non-empty {what} side, got an empty one")
    for level in side:
        if level.qty <= 0 or level.price <= 0:
            raise InvalidBookError(f"expected positive {what} price and qty, got {level.price} × {level.qty}")
    return side


def orderbook_imbalance(
    bids: Iterable[tuple[Decimal, Decimal]],
    asks: Iterable[tuple[Decimal, Decimal]],
    levels: int = 10,
) -> Decimal:
    """Return (Σbid − Σask)/(Σbid + Σask) of quantities over the best ``levels`` per side, in [−1, 1] (S-01).

    Levels are (price, qty) pairs in any order: the best ``levels`` bids (highest prices) and asks (lowest
    prices) are taken.

    Raises:
        InvalidBookError: an empty side, or a level with zero/negative price or quantity.
    """
    if levels < 1:
        raise ValueError(f"expected levels ≥ 1, got {levels}")
    bid_side = sorted(_side_qty(bids, "bid"), key=lambda lv: lv.price, reverse=True)[:levels]
    ask_side = sorted(_side_qty(asks, "ask"), key=lambda lv: lv.price)[:levels]
    with localcontext(DECIMAL_CONTEXT):
        bid_qty = sum((lv.qty for lv in bid_side), Decimal(0))
        ask_qty = sum((lv.qty for lv in ask_side), Decimal(0))
        return (bid_qty - ask_qty) / (bid_qty + ask_qty)


def book_depth_usd(
    bids: Iterable[tuple[Decimal, Decimal]], asks: Iterable[tuple[Decimal, Decimal]]
) -> Decimal:
    """Return the book's notional depth Σ price × qty over every given level of both sides (E-05), exact."""
    with localcontext(DECIMAL_CONTEXT):
        return sum((p * q for p, q in itertools.chain(bids, asks)), Decimal(0))


def microprice(bid: Decimal, bid_qty: Decimal, ask: Decimal, ask_qty: Decimal) -> Decimal:
    """Return the size-weighted microprice (ask·bid_qty + bid·ask_qty)/(bid_qty + ask_qty) (S-01).

    Raises:
        InvalidBookError: a zero or negative quantity or price, or a crossed book (bid > ask).
    """
    if bid_qty <= 0 or ask_qty <= 0:
        raise InvalidBookError(f"expected positive top-of-book quantities, got bid {bid_qty}, ask {ask_qty}")
    if bid <= 0 or ask <= 0:
        raise InvalidBookError(f"expected positive top-of-book prices, got bid {bid}, ask {ask}")
    if bid > ask:
        raise InvalidBookError(f"expected bid ≤ ask, got a crossed book {bid} > {ask}")
    return _DIVIDE(_ADD(_MULTIPLY(ask, bid_qty), _MULTIPLY(bid, ask_qty)), _ADD(bid_qty, ask_qty))
