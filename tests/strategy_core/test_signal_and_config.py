"""S-03 signal level consistency, config validation, and the pinned front door of strategy_core."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError
from sc_builders import T0

import strategy_core
from strategy_core import (
    AVI5Config,
    InvalidSignalError,
    Side,
    Signal,
    SignalStatus,
    ThetaMap,
    round_down_to_step,
    round_nearest_to_step,
    round_up_to_step,
)

D = Decimal
LEVELS = {"sl": D(95), "entry": D(100), "tp1": D(105), "tp2": D(110), "tp3": D(115)}
BASE = {
    "id": uuid.uuid4(),
    "symbol": "BTCUSDT",
    "side": Side.LONG,
    "qty": D(1),
    "risk_usd": D(5),
    "risk_r": D("0.2"),
    "p_win": D("0.55"),
    "strategy": "AVI-5",
    "strategy_version": "1.0.0+x",
    "created_at": T0,
    "bar_start": T0,
    **LEVELS,
}


def test_consistent_long_and_short_signals_are_accepted() -> None:
    assert Signal(**BASE).risk_per_unit == D(5)  # type: ignore[arg-type]
    mirrored = {"sl": D(105), "entry": D(100), "tp1": D(95), "tp2": D(90), "tp3": D(85)}
    assert Signal(**{**BASE, "side": Side.SHORT, **mirrored}).side is Side.SHORT  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "change",
    [
        {"sl": D(100)},
        {"tp1": D(100)},
        {"tp2": D(104)},
        {"tp3": D(110)},
        {"side": Side.SHORT},
    ],
)
def test_inconsistent_levels_raise_invalid_signal_error(change: dict[str, object]) -> None:
    with pytest.raises(InvalidSignalError) as info:
        Signal(**{**BASE, **change})  # type: ignore[arg-type]
    assert info.value.rule == "level_order"


def test_queued_until_goes_with_the_queued_status() -> None:
    queued = Signal(**{**BASE, "status": SignalStatus.QUEUED, "queued_until": T0 + timedelta(seconds=900)})  # type: ignore[arg-type]
    assert queued.queued_until is not None
    with pytest.raises(InvalidSignalError):
        Signal(**{**BASE, "status": SignalStatus.QUEUED})  # type: ignore[arg-type]


def test_p_win_must_be_a_probability() -> None:
    with pytest.raises(ValidationError):
        Signal(**{**BASE, "p_win": D("1.01")})  # type: ignore[arg-type]


def test_config_rejects_inconsistent_parameters_naming_them() -> None:
    with pytest.raises(ValidationError, match="ema_fast_15m"):
        AVI5Config(ema_fast_15m=21, ema_slow_15m=21)
    with pytest.raises(ValidationError, match="tp1_r"):
        AVI5Config(tp1_r=D(2), tp2_r=D(2))
    with pytest.raises(ValidationError):
        AVI5Config(unknown=1)  # type: ignore[call-arg]
    assert AVI5Config().min_bars_5m == 20
    assert AVI5Config().min_bars_15m == 21


def test_theta_map_defaults_to_the_global_theta() -> None:
    m = ThetaMap(by_hour={3: D("0.2")})
    assert (m.theta(3), m.theta(4)) == (D("0.2"), D("0.35"))
    with pytest.raises(ValidationError):
        ThetaMap(by_hour={24: D("0.2")})


def test_step_rounding_goes_the_stated_way() -> None:
    assert round_down_to_step(D("1.2349"), D("0.01")) == D("1.23")
    assert round_up_to_step(D("1.2301"), D("0.01")) == D("1.24")
    assert round_nearest_to_step(D("1.235"), D("0.01")) == D("1.24")
    assert round_down_to_step(D("-1.231"), D("0.01")) == D("-1.24")
    with pytest.raises(ValueError):
        round_down_to_step(D(1), D(0))


def test_front_door_exports_exactly_its_public_names() -> None:
    exported = set(strategy_core.__all__)
    assert len(exported) == len(strategy_core.__all__)
    for name in exported:
        assert getattr(strategy_core, name) is not None
    public = {n for n in dir(strategy_core) if not n.startswith("_")}
    modules = {
        "avi5",
        "calibration",
        "calibration_features",
        "config",
        "errors",
        "execution",
        "exposure",
        "fill_model",
        "forward",
        "indicator_state",
        "indicators",
        "levels",
        "models",
        "numeric",
        "performance",
        "position_rules",
        "replay",
        "resample",
        "risk_rules",
        "signal",
        "streaming",
        "annotations",
    }
    assert public - modules == exported
