"""Frozen configuration and calibration inputs of the strategy core, every default visible.

- ``AVI5Config`` — every AVI-5 parameter (S-02), documented field by field and in docs/strategy.md.
- ``ThetaMap`` / ``CalibrationStats`` — per-UTC-hour θ and win/loss counts (S-05 output, read by AVI-5).
- ``InstrumentRules`` — tick size and quantity step of one instrument (exchange reference data, passed in).
- ``RiskLimits``, ``KillThresholds``, ``PositionRules`` — R-02..R-06.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from strategy_core.models import Side

__all__ = [
    "AVI5Config",
    "BreakEvenMode",
    "CalibrationStats",
    "HourOutcomes",
    "InstrumentRules",
    "KillThresholds",
    "PositionRules",
    "RiskLimits",
    "ThetaMap",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
PosDecimal = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
Theta = Annotated[Decimal, Field(ge=0, le=3, allow_inf_nan=False)]


_V = TypeVar("_V")


def _check_hours(value: dict[int, _V]) -> dict[int, _V]:
    bad = sorted(h for h in value if not 0 <= h <= 23)
    if bad:
        raise ValueError(f"expected hours in 0..23, got {bad}")
    return value


class AVI5Config(BaseModel):
    """Every parameter of the AVI-5 rule set (S-02); see docs/strategy.md for the rules themselves."""

    model_config = _FROZEN

    vwap_window: int = Field(default=20, ge=2, description="5m bars in the rolling VWAP and its σ (S-01).")
    atr_period: int = Field(default=14, ge=1, description="EMA period smoothing the 5m true range (S-01).")
    donchian_window: int = Field(
        default=20, ge=1, description="5m bars of the Donchian channel (informative)."
    )
    ema_fast_15m: int = Field(default=8, ge=1, description="Fast EMA period on derived 15m closes (trend).")
    ema_slow_15m: int = Field(default=21, ge=2, description="Slow EMA period on derived 15m closes (trend).")
    book_levels: int = Field(default=10, ge=1, description="Book levels per side in the imbalance (S-01).")
    imbalance_min: Decimal = Field(
        default=Decimal("0.10"), ge=0, le=1, description="|imbalance| needed in the signal's direction."
    )
    max_spread_bps: PosDecimal = Field(
        default=Decimal("5"), description="spread_ok: (ask − bid) / mid × 10⁴ must be ≤ this."
    )
    min_time_to_funding_s: int = Field(
        default=900, ge=0, description="time_to_funding must be ≥ this many seconds (S-02: 15 min)."
    )
    max_bar_age_s: int = Field(
        default=120, ge=0, description="The last 5m bar's boundary may lie at most this far before now."
    )
    max_book_age_s: int = Field(default=10, ge=0, description="The book top may be at most this old.")
    k_sl_atr: PosDecimal = Field(default=Decimal("1.5"), description="SL distance = k_sl_atr × ATR.")
    tp1_r: PosDecimal = Field(default=Decimal("1"), description="TP1 at entry ± tp1_r × R.")
    tp2_r: PosDecimal = Field(default=Decimal("2"), description="TP2 at entry ± tp2_r × R.")
    tp3_r: PosDecimal = Field(default=Decimal("3"), description="TP3 at entry ± tp3_r × R.")
    prior_alpha: PosDecimal = Field(default=Decimal("5"), description="Beta prior α of p_win (pseudo-wins).")
    prior_beta: PosDecimal = Field(default=Decimal("5"), description="Beta prior β of p_win (pseudo-losses).")
    hour_prior_strength: PosDecimal = Field(
        default=Decimal("20"), description="Pseudo-trades shrinking an hour's win rate to the pooled one."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.ema_fast_15m >= self.ema_slow_15m:
            raise ValueError(
                f"expected ema_fast_15m < ema_slow_15m, got {self.ema_fast_15m} ≥ {self.ema_slow_15m}"
            )
        if not self.tp1_r < self.tp2_r < self.tp3_r:
            raise ValueError(f"expected tp1_r < tp2_r < tp3_r, got {self.tp1_r}, {self.tp2_r}, {self.tp3_r}")
        return self

    @property
    def min_bars_5m(self) -> int:
        """Return the 5m warm-up: bars needed before every 5m indicator exists."""
        return max(self.vwap_window, self.atr_period + 1, self.donchian_window)

    @property
    def min_bars_15m(self) -> int:
        """Return the 15m warm-up: complete 15m candles needed by the slow EMA."""
        return self.ema_slow_15m

    def fingerprint(self) -> str:
        """Return a short stable digest of every parameter, embedded in ``strategy_version``."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:10]


class ThetaMap(BaseModel):
    """θ per UTC hour of day (S-05); hours without a calibrated θ use ``default`` (θ_global = 0.35)."""

    model_config = _FROZEN

    default: Theta = Decimal("0.35")
    by_hour: dict[int, Theta] = Field(default_factory=dict)
    dead_hours: frozenset[int] = Field(
        default_factory=frozenset, description="Hours the calibration found dead or illiquid: no signal."
    )
    version: str | None = Field(default=None, description="The calibration run it came from (None: config).")

    _hours = field_validator("by_hour")(_check_hours)

    @field_validator("dead_hours")
    @classmethod
    def _dead(cls, value: frozenset[int]) -> frozenset[int]:
        _check_hours(dict.fromkeys(value))
        return value

    def theta(self, hour: int) -> Decimal:
        """Return θ for a UTC hour (0..23)."""
        return self.by_hour.get(hour, self.default)

    def is_dead(self, hour: int) -> bool:
        """Return whether AVI-5 takes no signal in this UTC hour (S-05 dead hours, liquidity guard)."""
        return hour in self.dead_hours


class HourOutcomes(BaseModel):
    """Closed-trade outcomes of signals generated in one UTC hour bucket."""

    model_config = _FROZEN

    wins: int = Field(default=0, ge=0)
    losses: int = Field(default=0, ge=0)


_NO_OUTCOMES = HourOutcomes()  # frozen: one shared "no record" instead of a new one per lookup


class CalibrationStats(BaseModel):
    """Wins and losses per UTC hour of signal generation, input of the p_win estimate."""

    model_config = _FROZEN

    by_hour: dict[int, HourOutcomes] = Field(default_factory=dict)
    by_side: dict[Side, dict[int, HourOutcomes]] = Field(
        default_factory=dict, description="Outcomes per side and hour (the calibration's OOS trades)."
    )

    _hours = field_validator("by_hour")(_check_hours)

    def hour(self, hour: int) -> HourOutcomes:
        """Return the outcomes of one hour bucket (zeros when unknown)."""
        return self.by_hour.get(hour, _NO_OUTCOMES)

    def side_hour(self, side: Side, hour: int) -> HourOutcomes | None:
        """Return the outcomes of one side and hour (None when this side has no record at all)."""
        per_side = self.by_side.get(side)
        return None if per_side is None else per_side.get(hour, _NO_OUTCOMES)

    @property
    def total_wins(self) -> int:
        """Return wins pooled over every hour."""
        return sum(o.wins for o in self.by_hour.values())

    @property
    def total_losses(self) -> int:
        """Return losses pooled over every hour."""
        return sum(o.losses for o in self.by_hour.values())


class InstrumentRules(BaseModel):
    """Exchange grid of one instrument: price tick, quantity step and minimum order quantity."""

    model_config = _FROZEN

    tick_size: PosDecimal
    qty_step: PosDecimal
    min_qty: PosDecimal


class RiskLimits(BaseModel):
    """Portfolio limits of R-02/R-03 enforced by ``check_risk``."""

    model_config = _FROZEN

    max_concurrent_positions: int = Field(default=6, ge=1, description="Open positions at most (R-02).")
    max_total_risk_r: PosDecimal = Field(default=Decimal("10"), description="Σ risk_r of open positions.")
    max_total_risk_usd: PosDecimal = Field(
        default=Decimal("250"), description="Σ risk_usd of open positions."
    )
    max_positions_per_base: int = Field(
        default=2, ge=1, description="Open positions per base asset *on one side* (R-02)."
    )
    churn_block_s: int = Field(default=900, ge=0, description="Same symbol+side re-entry block (R-03).")
    clear_churn_on_close: bool = Field(default=True, description="Closing a position lifts its churn block.")


class KillThresholds(BaseModel):
    """Kill conditions and performance alerts of R-04, evaluated by the MonitorActor."""

    model_config = _FROZEN

    daily_drawdown_limit_r: PosDecimal = Field(
        default=Decimal("3"), description="Halt beyond this daily DD in R."
    )
    max_dd_pct: PosDecimal = Field(default=Decimal("25"), description="MaxDD % threshold of the 3-day rule.")
    max_dd_days: int = Field(default=3, ge=1, description="Consecutive days above max_dd_pct that halt.")
    min_net_expectancy_r: Decimal = Field(default=Decimal("-0.1"), description="Alert below this expectancy.")
    warn_win_rate: Decimal = Field(default=Decimal("0.55"), ge=0, le=1, description="Warn below this WR.")
    warn_profit_factor: PosDecimal = Field(default=Decimal("1.5"), description="Warn below this PF.")
    min_trades_for_stats: int = Field(default=20, ge=1, description="Trades needed before WR/PF/E alert.")


class BreakEvenMode(StrEnum):
    """R-05: ``full`` moves the SL to entry; ``visual`` only emits the event."""

    FULL = "full"
    VISUAL = "visual"


class PositionRules(BaseModel):
    """Break-even (R-05) and funding-exit (R-06) parameters."""

    model_config = _FROZEN

    be_mode: BreakEvenMode = BreakEvenMode.VISUAL
    be_trigger_r: PosDecimal = Field(
        default=Decimal("1.0"), description="BE when mark is this many R in profit."
    )
    funding_exit_window_s: int = Field(
        default=600, ge=0, description="R-06: alert when time_to_funding < this."
    )
    funding_exit_max_upnl_r: Decimal = Field(default=Decimal("0.3"), description="…and UPnL below this in R.")
    auto_funding_exit: bool = Field(default=False, description="Also request a reduce-only close (R-06).")
    r_unit_usd: PosDecimal = Field(
        default=Decimal("25"), description="1R in USD, to express UPnL in R (R-01)."
    )
