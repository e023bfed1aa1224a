"""AVI-5 rule table (S-02): a baseline that signals, and each condition flipping the outcome on its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sc_builders import INSTRUMENT, book, ticker, trending

from strategy_core import (
    Avi5Condition,
    AVI5Config,
    BookTop,
    CalibrationStats,
    ConfirmedCandle,
    HourOutcomes,
    IndicatorState,
    InstrumentRules,
    Side,
    ThetaMap,
    TickerState,
    apply_avi5,
    derive_15m,
    evaluate_avi5,
    signal_id_for,
    strategy_version,
)

D = Decimal


@dataclass(frozen=True)
class Scenario:
    candles_5m: list[ConfirmedCandle]
    candles_15m: list[ConfirmedCandle]
    book: BookTop
    ticker: TickerState
    theta_map: ThetaMap
    config: AVI5Config
    now: datetime
    instrument: InstrumentRules
    risk_per_trade_usd: Decimal = Decimal(25)

    def run(self):  # type: ignore[no-untyped-def]
        return evaluate_avi5(
            self.candles_5m,
            self.candles_15m,
            book=self.book,
            ticker=self.ticker,
            theta_map=self.theta_map,
            config=self.config,
            now=self.now,
            instrument=self.instrument,
            risk_per_trade_usd=self.risk_per_trade_usd,
        )


def baseline(side: Side = Side.LONG) -> Scenario:
    """An up-trend whose last close is above VWAP + θσ, with a bid-heavy book (mirrored for short)."""
    step = "0.1" if side is Side.LONG else "-0.1"
    candles = trending(90, step=step, base="100" if side is Side.LONG else "120")
    last = candles[-1]
    now = last.end + timedelta(seconds=5)
    heavy, light = ("5", "1") if side is Side.LONG else ("1", "5")
    return Scenario(
        candles_5m=candles,
        candles_15m=derive_15m(candles),
        book=book(
            bid=str(last.close),
            ask=str(last.close + D("0.01")),
            bid_qty=heavy,
            ask_qty=light,
            imbalance="0.3" if side is Side.LONG else "-0.3",
            ts=now - timedelta(seconds=1),
        ),
        ticker=ticker(next_funding=now + timedelta(hours=2), ts=now),
        theta_map=ThetaMap(),
        config=AVI5Config(),
        now=now,
        instrument=INSTRUMENT,
    )


@pytest.mark.parametrize("side", [Side.LONG, Side.SHORT])
def test_baseline_produces_a_consistent_signal(side: Side) -> None:
    s = baseline(side)
    decision = s.run()
    assert decision.failed == ()
    sig = decision.signal
    assert sig is not None
    assert sig.side is side
    last = s.candles_5m[-1]
    assert sig.entry == (s.book.ask if side is Side.LONG else s.book.bid)
    # ATR of this series is exactly 0.3 (every true range is high − low = 0.3): R = 1.5 × 0.3 = 0.45
    assert abs(sig.entry - sig.sl) == D("0.45")
    assert [abs(tp - sig.entry) for tp in (sig.tp1, sig.tp2, sig.tp3)] == [D("0.45"), D("0.90"), D("1.35")]
    assert sig.qty == D("55.555")  # 25 / 0.45 = 55.5555… rounded down to 0.001
    assert sig.risk_usd == D("55.555") * D("0.45")
    assert sig.risk_usd <= D(25)
    assert sig.risk_r == sig.risk_usd / D(25)
    assert sig.p_win == D("0.5")  # prior mean α₀/(α₀+β₀) without calibration records
    assert sig.bar_start == last.start
    assert sig.created_at == s.now
    assert sig.id == signal_id_for("AVI-5", "BTCUSDT", side, last.start)
    assert sig.strategy_version == strategy_version(s.config)


def _falling_15m(s: Scenario) -> list[ConfirmedCandle]:
    return derive_15m(trending(90, step="-0.1", base="120"))


FLIPS: dict[Avi5Condition, Callable[[Scenario], Scenario]] = {
    Avi5Condition.TRIGGER: lambda s: replace(
        s, theta_map=ThetaMap(by_hour={s.candles_5m[-1].start.hour: D(3)})
    ),
    Avi5Condition.TREND: lambda s: replace(s, candles_15m=_falling_15m(s)),
    Avi5Condition.IMBALANCE: lambda s: replace(s, book=s.book.model_copy(update={"imbalance": D("0.05")})),
    Avi5Condition.MICROPRICE: lambda s: replace(
        s, book=s.book.model_copy(update={"bid_qty": D(1), "ask_qty": D(5)})
    ),
    Avi5Condition.SPREAD: lambda s: replace(s, book=s.book.model_copy(update={"ask": s.book.bid + D("0.2")})),
    Avi5Condition.FUNDING: lambda s: replace(
        s, ticker=s.ticker.model_copy(update={"next_funding_time": s.now + timedelta(minutes=14, seconds=59)})
    ),
    Avi5Condition.BAR_FRESH: lambda s: replace(
        s,
        now=s.now + timedelta(minutes=3),
        book=s.book.model_copy(update={"ts": s.now + timedelta(minutes=3)}),
    ),
    Avi5Condition.BOOK_FRESH: lambda s: replace(
        s, book=s.book.model_copy(update={"ts": s.now - timedelta(seconds=11)})
    ),
    Avi5Condition.SIZE: lambda s: replace(s, instrument=INSTRUMENT.model_copy(update={"min_qty": D(100)})),
    Avi5Condition.WARMUP: lambda s: replace(s, candles_5m=s.candles_5m[-10:]),
}


@pytest.mark.parametrize("condition", list(FLIPS))
def test_each_condition_alone_flips_the_outcome(condition: Avi5Condition) -> None:
    decision = FLIPS[condition](baseline()).run()
    assert decision.signal is None
    assert decision.failed == (condition,)


def test_the_rule_table_covers_every_condition() -> None:
    assert set(FLIPS) == set(Avi5Condition)


def test_short_mirror_flips_on_imbalance_in_the_wrong_direction() -> None:
    s = baseline(Side.SHORT)
    flipped = replace(s, book=s.book.model_copy(update={"imbalance": D("0.3")}))
    assert flipped.run().failed == (Avi5Condition.IMBALANCE,)


def test_a_bar_not_yet_closed_fails_bar_fresh() -> None:
    s = baseline()
    early = s.candles_5m[-1].end - timedelta(seconds=1)
    decision = replace(s, now=early, book=s.book.model_copy(update={"ts": early})).run()
    assert Avi5Condition.BAR_FRESH in decision.failed


def test_without_trigger_and_trend_both_are_reported() -> None:
    s = baseline()
    flat = FLIPS[Avi5Condition.TRIGGER](replace(s, candles_15m=derive_15m(trending(90, step="0"))))
    decision = flat.run()
    assert decision.side is None
    assert decision.failed == (Avi5Condition.TRIGGER, Avi5Condition.TREND)


def test_p_win_follows_the_calibration_records_of_the_hour() -> None:
    s = baseline()
    hour = s.candles_5m[-1].start.hour
    good = CalibrationStats(by_hour={hour: HourOutcomes(wins=30, losses=10), (hour + 1) % 24: HourOutcomes()})
    sig = evaluate_avi5(
        s.candles_5m,
        s.candles_15m,
        book=s.book,
        ticker=s.ticker,
        theta_map=s.theta_map,
        config=s.config,
        now=s.now,
        instrument=s.instrument,
        risk_per_trade_usd=s.risk_per_trade_usd,
        calibration=good,
    ).signal
    assert sig is not None
    # pooled m = (5+30)/(10+40) = 0.7; hour: (20·0.7 + 30)/(20 + 40) = 44/60
    assert sig.p_win == (D(44) / D(60)).quantize(D("0.0001"))


def test_streaming_path_gives_the_same_decision_as_the_batch_path() -> None:
    s = baseline()
    state = IndicatorState("BTCUSDT", s.config)
    snapshot = None
    for c in s.candles_5m:
        snapshot = state.fold(c)
    assert snapshot is not None
    streamed = apply_avi5(
        snapshot,
        book=s.book,
        ticker=s.ticker,
        theta_map=s.theta_map,
        config=s.config,
        now=s.now,
        instrument=s.instrument,
        risk_per_trade_usd=s.risk_per_trade_usd,
    )
    assert streamed == s.run()


def test_strategy_version_changes_with_a_parameter() -> None:
    assert strategy_version(AVI5Config()) != strategy_version(AVI5Config(k_sl_atr=D(2)))
    assert strategy_version(AVI5Config()) == strategy_version(AVI5Config())


def test_mismatched_symbols_are_a_programming_error() -> None:
    s = baseline()
    with pytest.raises(ValueError):
        replace(s, ticker=s.ticker.model_copy(update={"symbol": "ETHUSDT"})).run()
