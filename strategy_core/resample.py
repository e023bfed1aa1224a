"""Derive 15m candles from confirmed 5m candles (P-04).

A 15m candle covers [b, b + 15 min) where b is a multiple of 15 minutes since the Unix epoch (UTC). It is
built only from a *complete* triple of 5m candles starting at b, b + 5 min and b + 10 min: open of the first,
close of the last, max high, min low, summed volume and turnover. A bucket with a missing 5m bar yields no
15m candle, so a data gap can never fabricate a bar.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext

from strategy_core.models import ConfirmedCandle
from strategy_core.numeric import DECIMAL_CONTEXT

__all__ = ["FIFTEEN_MINUTES", "FIVE_MINUTES", "Resampler15m", "bucket_start_15m", "derive_15m"]

FIVE_MINUTES = timedelta(minutes=5)
FIFTEEN_MINUTES = timedelta(minutes=15)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def bucket_start_15m(start: datetime) -> datetime:
    """Return the start of the 15-minute bucket holding ``start``."""
    return start - (start - _EPOCH) % FIFTEEN_MINUTES


def _merge(triple: Sequence[ConfirmedCandle]) -> ConfirmedCandle:
    first, last = triple[0], triple[-1]
    with localcontext(DECIMAL_CONTEXT):
        volume = sum((c.volume for c in triple), Decimal(0))
        turnover = sum((c.turnover for c in triple), Decimal(0))
    return ConfirmedCandle(
        symbol=first.symbol,
        start=first.start,
        end=first.start + FIFTEEN_MINUTES,
        open=first.open,
        high=max(c.high for c in triple),
        low=min(c.low for c in triple),
        close=last.close,
        volume=volume,
        turnover=turnover,
    )


def _check_5m(candle: ConfirmedCandle) -> None:
    if candle.interval != FIVE_MINUTES:
        raise ValueError(f"expected a 5m candle, got a {candle.interval} candle starting {candle.start}")


class Resampler15m:
    """Fold 5m candles in time order; emit a 15m candle when a complete triple closes its bucket."""

    def __init__(self) -> None:
        self._pending: list[ConfirmedCandle] = []

    def update(self, candle: ConfirmedCandle) -> ConfirmedCandle | None:
        """Fold one 5m candle and return the completed 15m candle, if this candle completed one.

        Raises:
            ValueError: the candle is not a 5m candle.
        """
        _check_5m(candle)
        bucket = bucket_start_15m(candle.start)
        if self._pending and bucket_start_15m(self._pending[0].start) != bucket:
            self._pending = []
        expected_start = bucket + FIVE_MINUTES * len(self._pending)
        if candle.start != expected_start:
            # A gap inside the bucket: this bucket can no longer be complete.
            self._pending = []
            return None
        self._pending.append(candle)
        if len(self._pending) < 3:
            return None
        merged = _merge(self._pending)
        self._pending = []
        return merged


def derive_15m(candles_5m: Sequence[ConfirmedCandle]) -> list[ConfirmedCandle]:
    """Return the complete 15m candles of a time-ordered 5m series (the batch form of ``Resampler15m``).

    Raises:
        ValueError: a candle is not a 5m candle.
    """
    resampler = Resampler15m()
    out: list[ConfirmedCandle] = []
    for candle in candles_5m:
        merged = resampler.update(candle)
        if merged is not None:
            out.append(merged)
    return out
