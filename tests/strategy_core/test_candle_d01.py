"""D-01: a ConfirmedCandle cannot exist unless it is confirmed, closed and sane."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sc_builders import FIVE, T0

from strategy_core import ConfirmedCandle, InvalidCandleError

D = Decimal
GOOD = {
    "symbol": "BTCUSDT",
    "start": T0,
    "end": T0 + FIVE,
    "open": D("100"),
    "high": D("110"),
    "low": D("90"),
    "close": D("105"),
    "volume": D("2.5"),
    "turnover": D("250"),
}


def test_a_sane_candle_is_accepted() -> None:
    c = ConfirmedCandle(**GOOD)
    assert c.interval == FIVE
    assert c.confirm is True


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"close": D("111")}, "close_in_range"),
        ({"close": D("89")}, "close_in_range"),
        ({"open": D("89.99")}, "open_in_range"),
        ({"open": D("110.01")}, "open_in_range"),
        ({"high": D("80"), "open": D("85"), "close": D("85")}, "high_ge_low"),
        ({"volume": D("-0.001")}, "volume_non_negative"),
        ({"turnover": D("-1")}, "turnover_non_negative"),
        ({"low": D("0"), "open": D("1"), "close": D("1")}, "positive_price"),
        ({"confirm": False}, "confirmed"),
        ({"end": T0}, "interval"),
        ({"end": T0 + timedelta(minutes=5, seconds=1)}, "interval"),
        ({"start": T0 + timedelta(minutes=1), "end": T0 + timedelta(minutes=6)}, "interval"),
        ({"start": datetime(2024, 1, 1), "end": datetime(2024, 1, 1, 0, 5)}, "utc_timestamps"),
        (
            {
                "start": datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=2))),
                "end": datetime(2024, 1, 1, 0, 5, tzinfo=timezone(timedelta(hours=2))),
            },
            "utc_timestamps",
        ),
    ],
)
def test_constructor_raises_invalid_candle_error_naming_the_rule(
    change: dict[str, object], rule: str
) -> None:
    with pytest.raises(InvalidCandleError) as info:
        ConfirmedCandle(**{**GOOD, **change})  # type: ignore[arg-type]
    assert info.value.rule == rule
    assert rule in str(info.value)


def test_every_construction_path_raises_invalid_candle_error_unwrapped() -> None:
    bad = {**GOOD, "close": D("200")}
    with pytest.raises(InvalidCandleError):
        ConfirmedCandle.model_validate(bad)
    payload = ConfirmedCandle(**GOOD).model_dump_json().replace('"105"', '"200"')
    with pytest.raises(InvalidCandleError):
        ConfirmedCandle.model_validate_json(payload)


def test_create_requires_the_confirm_flag_and_a_passed_boundary() -> None:
    args = dict(GOOD.items())
    ok = ConfirmedCandle.create(**args, confirm=True, now=T0 + FIVE)  # type: ignore[arg-type]
    assert ok.boundary_passed(T0 + FIVE)
    with pytest.raises(InvalidCandleError) as info:
        ConfirmedCandle.create(**args, confirm=False, now=T0 + FIVE)  # type: ignore[arg-type]
    assert info.value.rule == "confirmed"
    with pytest.raises(InvalidCandleError) as info:
        ConfirmedCandle.create(**args, confirm=True, now=T0 + FIVE - timedelta(milliseconds=1))  # type: ignore[arg-type]
    assert info.value.rule == "boundary_passed"


def test_candle_is_frozen() -> None:
    c = ConfirmedCandle(**GOOD)
    with pytest.raises(Exception):
        c.close = D(1)  # type: ignore[misc]


prices = st.decimals(min_value=D("0.01"), max_value=D("1000000"), places=2)


@given(
    o=prices, h=prices, lo=prices, c=prices, v=st.decimals(min_value=D(-1000), max_value=D(1000), places=3)
)
def test_invalid_candles_are_always_rejected(
    o: Decimal, h: Decimal, lo: Decimal, c: Decimal, v: Decimal
) -> None:
    """Property: the constructor accepts exactly the candles satisfying every D-01 sanity rule."""
    valid = lo <= o <= h and lo <= c <= h and v >= 0
    fields = {**GOOD, "open": o, "high": h, "low": lo, "close": c, "volume": v}
    if valid:
        assert ConfirmedCandle(**fields).close == c  # type: ignore[arg-type]
    else:
        with pytest.raises(InvalidCandleError):
            ConfirmedCandle(**fields)  # type: ignore[arg-type]


def test_utc_helper_values_are_aware() -> None:
    assert ConfirmedCandle(**GOOD).start.tzinfo is UTC
