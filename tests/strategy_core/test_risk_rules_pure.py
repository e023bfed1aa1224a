"""R-02/R-03/R-04 pre-trade rules: each limit, the states, anti-churn, a property over random sequences."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sc_builders import T0

from strategy_core import (
    ChurnBook,
    DenyReason,
    Exposure,
    InvalidSymbolError,
    OpenPosition,
    RiskCandidate,
    RiskDecision,
    RiskLimits,
    Side,
    TradingState,
    base_asset,
    check_risk,
)

D = Decimal
LIMITS = RiskLimits()


def pos(pid: str, symbol: str = "BTCUSDT", side: Side = Side.LONG, risk: str = "25") -> OpenPosition:
    return OpenPosition(
        position_id=pid,
        symbol=symbol,
        side=side,
        qty=D(1),
        entry=D(100),
        risk_usd=D(risk),
        risk_r=D(risk) / 25,
    )


def new(symbol: str = "SOLUSDT", side: Side = Side.LONG, risk: str = "25") -> RiskCandidate:
    return RiskCandidate(symbol=symbol, side=side, risk_usd=D(risk), risk_r=D(risk) / 25)


def decide(
    exposure: Exposure,
    candidate: RiskCandidate,
    *,
    limits: RiskLimits = LIMITS,
    state: TradingState = TradingState.ACTIVE,
    kill: bool = False,
    churn: ChurnBook | None = None,
    at: timedelta = timedelta(0),
) -> RiskDecision:
    return check_risk(
        exposure,
        candidate,
        limits=limits,
        state=state,
        kill_switch=kill,
        churn=churn or ChurnBook(),
        now=T0 + at,
    )


def test_base_asset_is_parsed_from_the_symbol() -> None:
    assert [base_asset(s) for s in ("BTCUSDT", "1000PEPEUSDT", "ETHUSDC", "BTCPERP")] == [
        "BTC",
        "1000PEPE",
        "ETH",
        "BTC",
    ]
    with pytest.raises(InvalidSymbolError):
        base_asset("USDT")


def test_an_empty_book_allows_a_normal_candidate() -> None:
    assert decide(Exposure(), new()) == RiskDecision(allowed=True)


def test_max_concurrent_positions() -> None:
    ex = Exposure(positions=tuple(pos(str(i), f"A{i}USDT", risk="1") for i in range(6)))
    assert decide(ex, new(risk="1")).reason is DenyReason.MAX_CONCURRENT_POSITIONS
    assert decide(ex.apply_close("0"), new(risk="1")).allowed


def test_max_total_risk_usd_and_r() -> None:
    ex = Exposure(positions=(pos("a", "AUSDT", risk="200"),))
    assert decide(ex, new(risk="50")).allowed  # exactly 250 is within the limit
    assert decide(ex, new(risk="50.01")).reason is DenyReason.MAX_TOTAL_RISK_R
    usd_only = RiskLimits(max_total_risk_r=D(100))
    assert decide(ex, new(risk="50.01"), limits=usd_only).reason is DenyReason.MAX_TOTAL_RISK_USD


def test_per_base_limit_counts_the_same_side_only() -> None:
    ex = Exposure(positions=(pos("a", "BTCUSDT"), pos("b", "BTCUSDC")))
    assert decide(ex, new("BTCUSDT", Side.LONG, "1")).reason is DenyReason.MAX_POSITIONS_PER_BASE
    assert decide(ex, new("BTCUSDT", Side.SHORT, "1")).allowed  # hedge allowed
    assert decide(ex.apply_close("a"), new("BTCUSDT", Side.LONG, "1")).allowed


def test_anti_churn_queues_a_same_side_repeat_within_900_s() -> None:
    churn = ChurnBook().record("SOLUSDT", Side.LONG, T0)
    queued = decide(Exposure(), new(), churn=churn, at=timedelta(seconds=899))
    assert not queued.allowed
    assert queued.reason is DenyReason.ANTI_CHURN
    assert queued.queued
    assert queued.queued_until == T0 + timedelta(seconds=900)
    assert decide(Exposure(), new(), churn=churn, at=timedelta(seconds=900)).allowed
    assert decide(Exposure(), new(side=Side.SHORT), churn=churn, at=timedelta(seconds=1)).allowed
    assert decide(Exposure(), new(), churn=churn.clear("SOLUSDT", Side.LONG), at=timedelta(seconds=1)).allowed
    assert churn.prune(900, T0 + timedelta(seconds=900)).last_entry == {}


def test_halted_approves_nothing_and_reducing_only_reductions() -> None:
    ex = Exposure(positions=(pos("a"),))
    reduce = RiskCandidate(symbol="BTCUSDT", side=Side.LONG, reduces_position_id="a")
    assert decide(ex, reduce, state=TradingState.HALTED).reason is DenyReason.HALTED
    assert decide(ex, new(), state=TradingState.HALTED).reason is DenyReason.HALTED
    assert decide(ex, new(), state=TradingState.REDUCING).reason is DenyReason.REDUCING
    assert decide(ex, reduce, state=TradingState.REDUCING).allowed


def test_kill_switch_blocks_new_risk_but_lets_positions_exit() -> None:
    ex = Exposure(positions=(pos("a"),))
    assert decide(ex, new(), kill=True).reason is DenyReason.KILL_SWITCH
    reduce = RiskCandidate(symbol="BTCUSDT", side=Side.LONG, reduces_position_id="a")
    assert decide(ex, reduce, kill=True).allowed


def test_a_reduction_must_name_an_open_position_of_that_symbol_and_side() -> None:
    ex = Exposure(positions=(pos("a"),))
    for cand in (
        RiskCandidate(symbol="BTCUSDT", side=Side.LONG, reduces_position_id="zzz"),
        RiskCandidate(symbol="ETHUSDT", side=Side.LONG, reduces_position_id="a"),
        RiskCandidate(symbol="BTCUSDT", side=Side.SHORT, reduces_position_id="a"),
    ):
        assert decide(ex, cand).reason is DenyReason.UNKNOWN_POSITION


def test_exposure_is_immutable_and_apply_returns_new_values() -> None:
    ex = Exposure()
    opened = ex.apply_open(pos("a"))
    assert ex.count == 0
    assert opened.count == 1
    assert opened.apply_open(pos("a", risk="10")).total_risk_usd == D(10)  # same id replaces
    assert opened.apply_close("a") == Exposure()
    assert opened.apply_close("missing") == opened


SYMBOLS = ["BTCUSDT", "BTCUSDC", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "ADAUSDT", "LINKUSDT"]
events = st.lists(
    st.one_of(
        st.tuples(
            st.just("signal"),
            st.sampled_from(SYMBOLS),
            st.sampled_from(list(Side)),
            st.decimals(min_value=D(1), max_value=D(120), places=2),
        ),
        st.tuples(st.just("close"), st.integers(0, 30)),
        st.tuples(st.just("advance"), st.integers(1, 1200)),
        st.tuples(st.just("state"), st.sampled_from(list(TradingState))),
        st.tuples(st.just("kill"), st.booleans()),
    ),
    max_size=60,
)


@settings(max_examples=150)
@given(events=events, clear_on_close=st.booleans())
def test_approved_sets_never_break_a_limit(events: list[tuple[object, ...]], clear_on_close: bool) -> None:
    """Property: whatever the sequence, applying only approved opens keeps every R-02/R-03 limit."""
    limits = RiskLimits(
        max_concurrent_positions=4, max_total_risk_usd=D(200), clear_churn_on_close=clear_on_close
    )
    exposure, churn, now = Exposure(), ChurnBook(), T0
    state, kill, counter = TradingState.ACTIVE, False, 0
    last_entry: dict[tuple[str, Side], object] = {}
    for event in events:
        kind = event[0]
        if kind == "signal":
            _, symbol, side, risk = event
            assert isinstance(symbol, str)
            assert isinstance(side, Side)
            assert isinstance(risk, Decimal)
            cand = RiskCandidate(symbol=symbol, side=side, risk_usd=risk, risk_r=risk / 25)
            decision = check_risk(
                exposure, cand, limits=limits, state=state, kill_switch=kill, churn=churn, now=now
            )
            if decision.allowed:
                assert state is TradingState.ACTIVE
                assert not kill
                prev = last_entry.get((symbol, side))
                assert prev is None or now - prev >= timedelta(seconds=900)  # type: ignore[operator]
                counter += 1
                exposure = exposure.apply_open(
                    OpenPosition(
                        position_id=str(counter),
                        symbol=symbol,
                        side=side,
                        qty=D(1),
                        entry=D(1),
                        risk_usd=risk,
                        risk_r=risk / 25,
                    )
                )
                churn = churn.record(symbol, side, now)
                last_entry[(symbol, side)] = now
        elif kind == "close" and exposure.positions:
            victim = exposure.positions[int(event[1]) % exposure.count]  # type: ignore[call-overload]
            exposure = exposure.apply_close(victim.position_id)
            if limits.clear_churn_on_close:
                churn = churn.clear(victim.symbol, victim.side)
                last_entry.pop((victim.symbol, victim.side), None)
        elif kind == "advance":
            now += timedelta(seconds=int(event[1]))  # type: ignore[call-overload]
        elif kind == "state":
            state = event[1]  # type: ignore[assignment]
        elif kind == "kill":
            kill = bool(event[1])
        assert exposure.count <= limits.max_concurrent_positions
        assert exposure.total_risk_usd <= limits.max_total_risk_usd
        assert exposure.total_risk_r <= limits.max_total_risk_r
        for p in exposure.positions:
            assert exposure.count_on_side(p.base, p.side) <= limits.max_positions_per_base
