"""AVI-5 (Adaptive VWAP-Imbalance) signal rules of S-02 as a pure function.

On each confirmed 5m bar, with θ = θ(hour of the bar's start, UTC) from the θ map:

1. ``trigger``    close > VWAP + θ·σ → long candidate; close < VWAP − θ·σ → short candidate.
2. ``trend``      15m EMA(fast) > EMA(slow) for long, < for short (15m candles derived from 5m); equal
                  EMAs are no trend.
3. ``imbalance``  s·imbalance(top ``book_levels``) ≥ imbalance_min, s = +1 long / −1 short.
4. ``microprice`` s·(microprice − mid) > 0: the size-weighted price leans the signal's way.
5. ``spread``     (ask − bid)/mid × 10⁴ ≤ max_spread_bps.
6. ``funding``    next_funding_time − now ≥ min_time_to_funding_s (15 min).
7. ``bar_fresh``  the bar's boundary has passed (confirmed) and lies at most max_bar_age_s before now.
8. ``book_fresh`` the book top is at most max_book_age_s old.
9. ``size``       levels are consistent and qty ≥ the instrument's min_qty (see ``levels.py``).

A signal is produced only when every condition holds. Otherwise the decision lists every failed condition
(for rule-table tests and the UI). Without a trigger, side-dependent checks use the trend's side, if any.
``warmup`` fails alone when the candles do not yet allow the indicators.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict

from strategy_core.config import AVI5Config, CalibrationStats, InstrumentRules, ThetaMap
from strategy_core.errors import IndicatorError
from strategy_core.indicator_state import compute_indicator_set
from strategy_core.indicators import VwapBand, microprice
from strategy_core.levels import compute_levels, estimate_p_win
from strategy_core.models import BookTop, ConfirmedCandle, IndicatorSet, Side, TickerState
from strategy_core.numeric import DECIMAL_CONTEXT
from strategy_core.signal import Signal, signal_id_for

__all__ = [
    "AVI5_RULES_VERSION",
    "AVI5_STRATEGY",
    "Avi5Condition",
    "Avi5Decision",
    "CandidateBar",
    "Judged",
    "apply_avi5",
    "evaluate_avi5",
    "judge_candidate",
    "strategy_version",
]

AVI5_STRATEGY = "AVI-5"
AVI5_RULES_VERSION = "1.0.0"
_BPS = Decimal(10_000)
_NO_CALIBRATION = CalibrationStats()  # no OOS record: p_win is the prior (frozen, shared)


class Avi5Condition(StrEnum):
    """The named conditions of AVI-5; a failed one appears in ``Avi5Decision.failed``."""

    WARMUP = "warmup"
    TRIGGER = "trigger"
    TREND = "trend"
    IMBALANCE = "imbalance"
    MICROPRICE = "microprice"
    SPREAD = "spread"
    FUNDING = "funding"
    BAR_FRESH = "bar_fresh"
    BOOK_FRESH = "book_fresh"
    SIZE = "size"


class Avi5Decision(BaseModel):
    """Outcome of one AVI-5 evaluation: a signal, or the list of failed conditions and the inputs seen."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str
    bar_start: datetime | None
    side: Side | None
    signal: Signal | None
    failed: tuple[Avi5Condition, ...]
    theta: Decimal | None = None
    indicators: IndicatorSet | None = None
    microprice: Decimal | None = None
    spread_bps: Decimal | None = None

    @property
    def passed(self) -> bool:
        """Return whether a signal was produced."""
        return self.signal is not None


@lru_cache(maxsize=64)
def strategy_version(config: AVI5Config) -> str:
    """Return ``<rules version>+<config fingerprint>``: changes whenever a rule or a parameter changes."""
    return f"{AVI5_RULES_VERSION}+{config.fingerprint()}"


def evaluate_avi5(
    candles_5m: Sequence[ConfirmedCandle],
    candles_15m: Sequence[ConfirmedCandle],
    *,
    book: BookTop,
    ticker: TickerState,
    theta_map: ThetaMap,
    config: AVI5Config,
    now: datetime,
    instrument: InstrumentRules,
    risk_per_trade_usd: Decimal,
    calibration: CalibrationStats | None = None,
) -> Avi5Decision:
    """Evaluate AVI-5 after the last confirmed 5m candle (S-02).

    Args:
        candles_5m: confirmed 5m candles of one symbol, oldest first.
        candles_15m: the complete 15m candles derived from them (``derive_15m``).
        book: top of book with its L10 imbalance; ticker: mark price and next funding time.
        theta_map: θ per UTC hour; config: every rule parameter; now: the current time (never read here).
        instrument: tick size / quantity step; calibration: win/loss counts per hour for ``p_win``.
        risk_per_trade_usd: 1R in USD, the size unit (R-01; the risk room's setting).

    Returns:
        A decision holding a ``Signal`` or the failed conditions (``warmup`` when indicators are unavailable).
    """
    if not candles_5m:
        return Avi5Decision(
            symbol=book.symbol, bar_start=None, side=None, signal=None, failed=(Avi5Condition.WARMUP,)
        )
    try:
        indicators = compute_indicator_set(candles_5m, candles_15m, config)
    except IndicatorError:
        return Avi5Decision(
            symbol=book.symbol,
            bar_start=candles_5m[-1].start,
            side=None,
            signal=None,
            failed=(Avi5Condition.WARMUP,),
        )
    return apply_avi5(
        indicators,
        book=book,
        ticker=ticker,
        theta_map=theta_map,
        config=config,
        now=now,
        instrument=instrument,
        risk_per_trade_usd=risk_per_trade_usd,
        calibration=calibration,
    )


def _trend_side(ind: IndicatorSet) -> Side | None:
    if ind.ema_fast_15m > ind.ema_slow_15m:
        return Side.LONG
    if ind.ema_fast_15m < ind.ema_slow_15m:
        return Side.SHORT
    return None


def _direction(
    indicators: IndicatorSet, theta: Decimal, dead: bool = False
) -> tuple[Side | None, list[Avi5Condition]]:
    """Return the candidate side (trigger first, else trend) and the failed trigger/trend conditions.

    In a dead hour (S-05) nothing triggers.
    """
    failed: list[Avi5Condition] = []
    band = VwapBand(indicators.vwap, indicators.vwap_sigma)
    trend = _trend_side(indicators)
    side: Side | None = None
    if dead:
        failed.append(Avi5Condition.TRIGGER)
    elif indicators.close > band.upper(theta):
        side = Side.LONG
    elif indicators.close < band.lower(theta):
        side = Side.SHORT
    else:
        failed.append(Avi5Condition.TRIGGER)
    if trend is None or (side is not None and trend is not side):
        failed.append(Avi5Condition.TREND)
    return side or trend, failed


def _timing_failures(
    bar_end: datetime, book: BookTop, ticker: TickerState, config: AVI5Config, now: datetime
) -> list[Avi5Condition]:
    failed: list[Avi5Condition] = []
    if ticker.time_to_funding(now) < timedelta(seconds=config.min_time_to_funding_s):
        failed.append(Avi5Condition.FUNDING)
    if not bar_end <= now <= bar_end + timedelta(seconds=config.max_bar_age_s):
        failed.append(Avi5Condition.BAR_FRESH)
    if not book.ts <= now <= book.ts + timedelta(seconds=config.max_book_age_s):
        failed.append(Avi5Condition.BOOK_FRESH)
    return failed


def apply_avi5(
    indicators: IndicatorSet,
    *,
    book: BookTop,
    ticker: TickerState,
    theta_map: ThetaMap,
    config: AVI5Config,
    now: datetime,
    instrument: InstrumentRules,
    risk_per_trade_usd: Decimal,
    calibration: CalibrationStats | None = None,
) -> Avi5Decision:
    """Apply the AVI-5 rules to a ready ``IndicatorSet`` (the streaming path of the SignalActor).

    ``risk_per_trade_usd`` is 1R in USD: the signal's size unit (R-01).

    Raises:
        ValueError: the indicators, book and ticker are for different symbols.
    """
    if not indicators.symbol == book.symbol == ticker.symbol:
        raise ValueError(
            f"expected one symbol, got indicators {indicators.symbol}, book {book.symbol}, "
            f"ticker {ticker.symbol}"
        )
    hour = indicators.bar_start.hour
    theta = theta_map.theta(hour)
    side, failed = _direction(indicators, theta, theta_map.is_dead(hour))
    judged = judge_candidate(
        side,
        failed,
        CandidateBar(indicators.symbol, indicators.bar_start, indicators.bar_end, indicators.atr,
                     indicators.atr_above_p80),
        book=book,
        ticker=ticker,
        config=config,
        now=now,
        instrument=instrument,
        risk_per_trade_usd=risk_per_trade_usd,
        calibration=calibration,
    )  # fmt: skip
    return Avi5Decision(
        symbol=indicators.symbol,
        bar_start=indicators.bar_start,
        side=side,
        signal=judged.signal,
        failed=tuple(failed),
        theta=theta,
        indicators=indicators,
        microprice=judged.microprice,
        spread_bps=judged.spread_bps,
    )


class CandidateBar(NamedTuple):
    """The facts of a bar that AVI-5's book, timing and size conditions and its signal read."""

    symbol: str
    bar_start: datetime
    bar_end: datetime
    atr: Decimal
    atr_above_p80: bool | None


class Judged(NamedTuple):
    """What ``judge_candidate`` saw: the signal (None when a condition failed), microprice and spread."""

    signal: Signal | None
    microprice: Decimal
    spread_bps: Decimal


def judge_candidate(
    side: Side | None,
    failed: list[Avi5Condition],
    bar: CandidateBar,
    *,
    book: BookTop,
    ticker: TickerState,
    config: AVI5Config,
    now: datetime,
    instrument: InstrumentRules,
    risk_per_trade_usd: Decimal,
    calibration: CalibrationStats | None = None,
) -> Judged:
    """Check conditions 3–9 for the candidate ``side`` after the trigger and trend (whose failures
    ``failed`` already lists); append each failure to ``failed``; return the signal when none failed.

    ``apply_avi5`` runs it after ``_direction``; a replay that established the trigger's side otherwise
    (``ReplaySeries``) runs it directly, so both judge a candidate by the very same code.
    """
    micro = microprice(book.bid, book.bid_qty, book.ask, book.ask_qty)
    ctx = DECIMAL_CONTEXT  # its methods: the operations localcontext(DECIMAL_CONTEXT) would run, in order
    mid = ctx.divide(ctx.add(book.bid, book.ask), 2)
    spread_bps = ctx.multiply(ctx.divide(ctx.subtract(book.ask, book.bid), mid), _BPS)
    if side is not None:
        sign = side.decimal_sign
        if ctx.multiply(sign, book.imbalance) < config.imbalance_min:
            failed.append(Avi5Condition.IMBALANCE)
        if ctx.multiply(sign, ctx.subtract(micro, mid)) <= 0:
            failed.append(Avi5Condition.MICROPRICE)
    if spread_bps > config.max_spread_bps:
        failed.append(Avi5Condition.SPREAD)
    failed.extend(_timing_failures(bar.bar_end, book, ticker, config, now))
    signal: Signal | None = None
    if side is not None:
        levels = compute_levels(
            side,
            best_bid=book.bid,
            best_ask=book.ask,
            atr=bar.atr,
            config=config,
            instrument=instrument,
            risk_per_trade_usd=risk_per_trade_usd,
        )
        if not levels.consistent or levels.qty < instrument.min_qty:
            failed.append(Avi5Condition.SIZE)
        elif not failed:
            hour = bar.bar_start.hour
            signal = Signal(
                id=signal_id_for(AVI5_STRATEGY, bar.symbol, side, bar.bar_start),
                symbol=bar.symbol,
                side=side,
                entry=levels.entry,
                tp1=levels.tp1,
                tp2=levels.tp2,
                tp3=levels.tp3,
                sl=levels.sl,
                qty=levels.qty,
                risk_usd=levels.risk_usd,
                risk_r=levels.risk_r,
                p_win=estimate_p_win(hour, calibration or _NO_CALIBRATION, config, side),
                strategy=AVI5_STRATEGY,
                strategy_version=strategy_version(config),
                created_at=now,
                bar_start=bar.bar_start,
                atr_above_p80=bar.atr_above_p80,
                book_depth_usd=book.depth_usd,
            )
    return Judged(signal, micro, spread_bps)
