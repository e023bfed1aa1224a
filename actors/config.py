"""Configuration of the actors room (STYLE §9): the ``pipeline:`` section, execution policy, dev flags.

* ``PipelineConfig`` — the per-symbol trees' tunables (``Settings.pipeline``): the feed, indicator and signal
  actors' retry bounds and windows, the warm-up sizes, and the restart intensity and backoff of each
  supervisor (``root``, ``symbols``, each ``<SYM>``);
* ``TradingInputs`` — not tunables but what the trees trade with: the strategy (``Settings.strategy``), 1R
  (``Settings.risk.risk_per_trade_usd``, the one source of R-01), the exchange's instrument rules, θ map and
  calibration (S-05);
* ``DevConfig``. (The execution policy, ``ExecutionConfig``, lives in its room: ``actors.position``.)

Every model is frozen with ``extra="forbid"`` and every default visible, so a typo or a bad value fails at
start-up naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from actors.errors import SymbolUnavailableError
from strategy_core import AVI5Config, CalibrationStats, InstrumentRules, ThetaMap
from supervision import Backoff, Intensity

__all__ = [
    "DevConfig",
    "FeedConfig",
    "IndicatorConfig",
    "PipelineConfig",
    "SignalConfig",
    "StreamsConfig",
    "SupervisorConfig",
    "TradingInputs",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class DevConfig(BaseModel):
    """Developer switches; refused in live mode where dangerous."""

    model_config = _FROZEN

    fault_injection: bool = False


class SupervisorConfig(BaseModel):
    """Restart intensity and backoff of one supervisor (DESIGN §4; OTP's default 1 in 5 s is too tight)."""

    model_config = _FROZEN

    max_restarts: int = Field(default=5, ge=0, le=10_000, description="Restarts allowed in the window.")
    within_s: float = Field(default=10.0, gt=0, le=86_400, description="Sliding window of the intensity.")
    backoff_min_s: float = Field(default=0.1, ge=0, le=600, description="Delay of the 2nd restart in a row.")
    backoff_max_s: float = Field(default=5.0, ge=0, le=3600, description="Cap of the doubling delay.")
    backoff_jitter: float = Field(default=0.2, ge=0, le=1, description="Random factor ±jitter on a delay.")

    @model_validator(mode="after")
    def _check_backoff(self) -> SupervisorConfig:
        if self.backoff_max_s < self.backoff_min_s:
            raise ValueError(
                f"expected backoff_max_s >= backoff_min_s, got {self.backoff_max_s} < {self.backoff_min_s}"
            )
        return self

    @property
    def intensity(self) -> Intensity:
        """Return the supervision library's ``Intensity``."""
        return Intensity(max_restarts=self.max_restarts, within_seconds=self.within_s)

    @property
    def backoff(self) -> Backoff:
        """Return the supervision library's ``Backoff``."""
        return Backoff(min_s=self.backoff_min_s, max_s=self.backoff_max_s, jitter=self.backoff_jitter)


class FeedConfig(BaseModel):
    """Tunables of every FeedActor (D-01, D-02, D-04)."""

    model_config = _FROZEN

    interval: Literal["5"] = Field(default="5", description="Kline interval forwarded (5m, S-01).")
    research_every_ms: int = Field(default=10_000, ge=100, description="L50 log cadence (research mode).")
    max_store_attempts: int = Field(default=3, ge=1, le=100, description="Tries to store one candle.")
    close_grace_ms: int = Field(
        default=15_000, ge=0, le=600_000,
        description="Exchange ms after a bar's end before its absence is a hole (D-02).",
    )
    repair_max_attempts: int = Field(
        default=3, ge=1, le=100, description="REST fetches of a hole before its bars are marked missing."
    )
    repair_max_bars: int = Field(
        default=1000, ge=1, le=1000, description="Bars fetched per REST call (Bybit's kline limit is 1000)."
    )


class StreamsConfig(BaseModel):
    """The public streams stored besides candles (P-06): the tape, tickers and funding settlements.

    Rows are buffered in the trio thread and written in batches every ``flush_interval_s`` (off the hot
    path). Their retention windows are ``ops.retention`` (``trades_days``, ``tickers_days``, ``funding_days``:
    D-05, with every other table's).
    """

    model_config = _FROZEN

    record: bool = Field(default=True, description="Store trades, tickers and funding settlements.")
    flush_interval_s: float = Field(default=0.5, gt=0, le=60, description="Seconds between batch writes.")
    max_batch: int = Field(default=5_000, ge=1, le=100_000, description="Rows per INSERT statement.")
    max_pending: int = Field(
        default=200_000, ge=1, description="Rows buffered per stream before new ones are dropped (counted)."
    )
    ticker_every_ms: int = Field(
        default=1_000, ge=0, description="Least exchange ms between stored tickers of a symbol (0: all)."
    )
    retry_s: float = Field(default=1.0, gt=0, le=60, description="Wait before rewriting after an outage.")


class IndicatorConfig(BaseModel):
    """Tunables of every IndicatorActor; ``history_bars`` must cover the AVI-5 warm-up (S-01)."""

    model_config = _FROZEN

    history_bars: int = Field(default=200, ge=1, le=10_000, description="5m candles reloaded on start.")
    max_buffer: int = Field(default=1_000, ge=1, description="Live candles buffered while reloading.")
    max_load_attempts: int = Field(default=5, ge=1, le=100, description="Reload tries before a crash.")
    missing_window_bars: int | None = Field(
        default=None, ge=1, le=10_000,
        description="Bars a missing bar blocks signals for (None: the strategy's longest lookback).",
    )


class SignalConfig(BaseModel):
    """Tunables of every SignalActor (S-04)."""

    model_config = _FROZEN

    max_store_attempts: int = Field(default=3, ge=1, le=100, description="Tries to store one signal.")
    keep_samples: int = Field(default=10_000, ge=2, description="Latency samples kept per series.")


def _symbol_supervisor() -> SupervisorConfig:
    return SupervisorConfig(max_restarts=20, within_s=60.0, backoff_min_s=0.05, backoff_max_s=2.0)


def _symbols_supervisor() -> SupervisorConfig:
    return SupervisorConfig(max_restarts=50, within_s=60.0, backoff_min_s=0.05, backoff_max_s=2.0)


class PipelineConfig(BaseModel):
    """The ``pipeline:`` settings section: the per-symbol trees and the supervisors above them."""

    model_config = _FROZEN

    backfill_bars: int = Field(
        default=200, ge=0, le=1_000, description="5m bars fetched per symbol at start."
    )
    feed: FeedConfig = FeedConfig()
    indicator: IndicatorConfig = IndicatorConfig()
    signal: SignalConfig = SignalConfig()
    streams: StreamsConfig = StreamsConfig()
    root_supervisor: SupervisorConfig = SupervisorConfig()
    symbols_supervisor: SupervisorConfig = Field(default_factory=_symbols_supervisor)
    symbol_supervisor: SupervisorConfig = Field(default_factory=_symbol_supervisor)


DEFAULT_INSTRUMENT = InstrumentRules(
    tick_size=Decimal("0.01"), qty_step=Decimal("0.001"), min_qty=Decimal("0.001")
)


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingInputs:
    """What every symbol's tree trades with (composed from ``Settings`` and the exchange at start-up).

    ``risk_per_trade_usd`` is 1R (R-01): the SignalActor sizes with it and the RiskActor counts in it; both
    read ``Settings.risk.risk_per_trade_usd``.

    Instrument rules: ``instruments`` holds what the exchange's instruments-info gave at start-up;
    ``unavailable`` names each symbol without real rules and why (filled by the engine). Signals keep working
    on the default grid (``instrument``), but orders take ``order_rules`` only, which never guesses.
    """

    risk_per_trade_usd: Decimal
    strategy: AVI5Config = field(default_factory=AVI5Config)
    research_mode: bool = False
    instruments: Mapping[str, InstrumentRules] = field(default_factory=dict)
    default_instrument: InstrumentRules = DEFAULT_INSTRUMENT
    theta_map: ThetaMap = field(default_factory=ThetaMap)
    calibration: CalibrationStats | None = None
    unavailable: Mapping[str, str] = field(default_factory=dict)
    theta_maps: Mapping[str, ThetaMap] = field(default_factory=dict)  # per symbol, from storage (S-05)
    calibrations: Mapping[str, CalibrationStats] = field(default_factory=dict)

    def theta_map_of(self, symbol: str) -> ThetaMap:
        """Return ``symbol``'s calibrated θ map, else the common one."""
        return self.theta_maps.get(symbol, self.theta_map)

    def calibration_of(self, symbol: str) -> CalibrationStats | None:
        """Return ``symbol``'s p_win statistics, else the common ones."""
        return self.calibrations.get(symbol, self.calibration)

    def instrument(self, symbol: str) -> InstrumentRules:
        """Return ``symbol``'s instrument rules for signals (the default grid when the exchange gave none)."""
        return self.instruments.get(symbol, self.default_instrument)

    def order_rules(self, symbol: str) -> InstrumentRules:
        """Return the exchange's instrument rules of ``symbol``, to round and check an order with (E-02).

        Raises:
            SymbolUnavailableError: the exchange gave no rules for ``symbol`` (the reason from
                ``unavailable``, or "no instrument rules loaded"); no default grid is guessed.
        """
        rules = self.instruments.get(symbol)
        if rules is None or symbol in self.unavailable:
            raise SymbolUnavailableError(
                symbol, self.unavailable.get(symbol, "no instrument rules loaded from the exchange")
            )
        return rules
