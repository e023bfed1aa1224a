"""Market-data values the strategy consumes: confirmed candles, top of book, ticker, indicator snapshot.

All are frozen pydantic models with ``extra="forbid"``; prices, sizes and money are ``Decimal``; timestamps
are timezone-aware UTC ``datetime`` values.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from strategy_core.errors import InvalidCandleError

__all__ = [
    "BookTop",
    "ConfirmedCandle",
    "IndicatorSet",
    "Side",
    "Symbol",
    "TickerState",
    "ensure_utc",
]

Symbol = Annotated[str, Field(pattern=r"^[A-Z0-9]{2,30}$")]
FiniteDecimal = Annotated[Decimal, Field(allow_inf_nan=False)]
_FROZEN = ConfigDict(frozen=True, extra="forbid")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NO_OFFSET = timedelta(0)


class Side(StrEnum):
    """Direction of a signal or position."""

    LONG = "long"
    SHORT = "short"

    @property
    def sign(self) -> int:
        """Return +1 for long and −1 for short (the sign of a favourable price move)."""
        return 1 if self is Side.LONG else -1

    @property
    def decimal_sign(self) -> Decimal:
        """Return ``sign`` as a Decimal (the factor of Decimal arithmetic)."""
        return _DECIMAL_SIGNS[self]

    @property
    def opposite(self) -> Side:
        """Return the other side."""
        return Side.SHORT if self is Side.LONG else Side.LONG


_DECIMAL_SIGNS = {Side.LONG: Decimal(1), Side.SHORT: Decimal(-1)}


def ensure_utc(value: datetime, what: str) -> None:
    """Raise ``ValueError`` unless ``value`` is timezone-aware with a zero UTC offset."""
    if value.tzinfo is None or value.utcoffset() != _NO_OFFSET:
        raise ValueError(f"expected {what} as an aware UTC datetime, got {value!r}")


class ConfirmedCandle(BaseModel):
    """A closed candle that passed the D-01 checks; the only kind of candle that drives signals.

    ``start`` is the interval start and ``end`` the *exclusive* interval boundary (``start + interval``;
    Bybit's ``end`` is the last millisecond, so the feed adds 1 ms). Construction checks the sanity rules of
    D-01 and raises ``InvalidCandleError`` naming the rule; use :meth:`create` at the exchange boundary so the
    ``confirm`` flag and "the interval boundary has passed" are checked too.
    """

    model_config = _FROZEN

    symbol: Symbol
    start: datetime
    end: datetime
    open: FiniteDecimal
    high: FiniteDecimal
    low: FiniteDecimal
    close: FiniteDecimal
    volume: FiniteDecimal
    turnover: FiniteDecimal
    confirm: bool = True

    @model_validator(mode="after")
    def _check_d01(self) -> Self:
        # Raised exceptions are not ValueErrors, so pydantic lets them through unwrapped (see errors.py).
        for stamp, what in ((self.start, "start"), (self.end, "end")):
            if stamp.tzinfo is None or stamp.utcoffset() != _NO_OFFSET:
                raise InvalidCandleError("utc_timestamps", f"expected an aware UTC {what}, got {stamp!r}")
        span = self.end - self.start
        if span <= timedelta(0) or span % timedelta(minutes=1):
            raise InvalidCandleError("interval", f"expected end > start by whole minutes, got {span}")
        if (self.start - _EPOCH) % span:
            raise InvalidCandleError("interval", f"expected start aligned to {span}, got {self.start}")
        if not self.confirm:
            raise InvalidCandleError("confirmed", "expected confirm=true, got confirm=false")
        if self.low <= 0:
            raise InvalidCandleError("positive_price", f"expected low > 0, got {self.low}")
        if self.high < self.low:
            raise InvalidCandleError("high_ge_low", f"expected high ≥ low, got {self.high} < {self.low}")
        if not self.low <= self.open <= self.high:
            raise InvalidCandleError(
                "open_in_range", f"expected open in [{self.low}, {self.high}], got {self.open}"
            )
        if not self.low <= self.close <= self.high:
            raise InvalidCandleError(
                "close_in_range", f"expected close in [{self.low}, {self.high}], got {self.close}"
            )
        if self.volume < 0:
            raise InvalidCandleError("volume_non_negative", f"expected volume ≥ 0, got {self.volume}")
        if self.turnover < 0:
            raise InvalidCandleError("turnover_non_negative", f"expected turnover ≥ 0, got {self.turnover}")
        return self

    @classmethod
    def create(
        cls,
        *,
        symbol: str,
        start: datetime,
        end: datetime,
        open: Decimal,
        high: Decimal,
        low: Decimal,
        close: Decimal,
        volume: Decimal,
        turnover: Decimal,
        confirm: bool,
        now: datetime,
    ) -> ConfirmedCandle:
        """Build a candle from exchange data, enforcing every D-01 rule.

        Args:
            confirm: the exchange's ``confirm`` flag; must be true.
            now: the current time; the interval boundary ``end`` must not lie after it.

        Raises:
            InvalidCandleError: naming the broken rule (``confirmed``, ``boundary_passed``, ...).
        """
        if not confirm:
            raise InvalidCandleError("confirmed", "expected confirm=true, got confirm=false")
        candle = cls(
            symbol=symbol,
            start=start,
            end=end,
            open=open,
            high=high,
            low=low,
            close=close,
            volume=volume,
            turnover=turnover,
        )
        if not candle.boundary_passed(now):
            raise InvalidCandleError(
                "boundary_passed", f"expected end {end} ≤ now {now}, the bar is still open"
            )
        return candle

    def boundary_passed(self, now: datetime) -> bool:
        """Return whether the interval boundary ``end`` lies at or before ``now`` (D-01)."""
        return self.end <= now

    @property
    def interval(self) -> timedelta:
        """Return the candle's interval length (``end - start``)."""
        return self.end - self.start


class BookTop(BaseModel):
    """Top of book plus the L10 imbalance computed by the feed from its L50 book (S-01).

    ``depth_usd`` counts both sides: the signal's side is not known when the feed builds the top, and the
    slippage model (E-05) asks how deep the market is, not how deep one side of it is.
    """

    model_config = _FROZEN

    symbol: Symbol
    bid: FiniteDecimal = Field(gt=0)
    bid_qty: FiniteDecimal = Field(gt=0)
    ask: FiniteDecimal = Field(gt=0)
    ask_qty: FiniteDecimal = Field(gt=0)
    imbalance: FiniteDecimal = Field(ge=-1, le=1)
    ts: datetime
    depth_usd: FiniteDecimal | None = Field(default=None, ge=0)
    """Notional depth of the feed's L50 book, Σ price × qty over both sides (E-05); None: not measured."""

    @model_validator(mode="after")
    def _check(self) -> Self:
        ensure_utc(self.ts, "ts")
        if self.bid >= self.ask:
            raise ValueError(f"expected bid < ask, got a crossed or locked book {self.bid} ≥ {self.ask}")
        return self


class TickerState(BaseModel):
    """The ticker fields the strategy needs: mark price and the next funding time."""

    model_config = _FROZEN

    symbol: Symbol
    mark_price: FiniteDecimal = Field(gt=0)
    next_funding_time: datetime
    funding_rate: FiniteDecimal = Decimal(0)
    ts: datetime

    @model_validator(mode="after")
    def _check(self) -> Self:
        ensure_utc(self.next_funding_time, "next_funding_time")
        ensure_utc(self.ts, "ts")
        return self

    def time_to_funding(self, now: datetime) -> timedelta:
        """Return the time left until the next funding instant (negative once it has passed)."""
        return self.next_funding_time - now


class IndicatorSet(BaseModel):
    """Indicators of one symbol after one confirmed 5m bar (S-01), as produced by the IndicatorActor.

    ``bar_start``/``bar_end`` and ``close`` describe the 5m bar the values were computed on. The 15m EMAs are
    computed on the closes of complete 15m candles derived from the 5m stream.
    """

    model_config = _FROZEN

    symbol: Symbol
    bar_start: datetime
    bar_end: datetime
    close: FiniteDecimal
    vwap: FiniteDecimal
    vwap_sigma: FiniteDecimal = Field(ge=0)
    atr: FiniteDecimal = Field(ge=0)
    donchian_high: FiniteDecimal
    donchian_low: FiniteDecimal
    ema_fast_15m: FiniteDecimal
    ema_slow_15m: FiniteDecimal
    bars_5m: int = Field(ge=0)
    bars_15m: int = Field(ge=0)
    atr_above_p80: bool | None = None
    """Whether ``atr`` lies above the 80th percentile of the window's ATR history (E-05); None: unknown."""

    @model_validator(mode="after")
    def _check(self) -> Self:
        ensure_utc(self.bar_start, "bar_start")
        ensure_utc(self.bar_end, "bar_end")
        return self
