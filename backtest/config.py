"""The backtest room's frozen config: strategy, fill model, 1R, instrument grid and book assumptions."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from strategy_core import AVI5Config, FillModel, InstrumentRules

__all__ = ["BacktestConfig", "BookAssumptions"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class BookAssumptions(BaseModel):
    """The explicit approximation of the book where no recorded L50 snapshot exists (reported as such).

    The top of book is built around the close with ``spread_bps``; the imbalance and the microprice are
    taken to *confirm* the trigger's side (``imbalance`` in its direction, the larger quantity on its side),
    and the depth is ``depth_usd`` — so a replay without recorded books tests trigger, trend, funding and
    sizing, not the book conditions. The report names this mode and these values.
    """

    model_config = _FROZEN

    spread_bps: Decimal = Field(default=Decimal("1"), gt=0)
    imbalance: Decimal = Field(default=Decimal("0.3"), ge=0, le=1)
    depth_usd: Decimal | None = Field(
        default=Decimal("2000000"), ge=0, description="None: unknown depth (E-05 counts it as thin)."
    )


class BacktestConfig(BaseModel):
    """Everything a replay depends on; the report records it, so a run can be repeated exactly."""

    model_config = _FROZEN

    strategy: AVI5Config = AVI5Config()
    fill: FillModel = FillModel()
    risk_per_trade_usd: Decimal = Field(default=Decimal("25"), gt=0, description="1R in USD (R-01).")
    instrument: InstrumentRules = InstrumentRules(
        tick_size=Decimal("0.01"), qty_step=Decimal("0.001"), min_qty=Decimal("0.001")
    )
    book: BookAssumptions = BookAssumptions()
    starting_equity_usd: Decimal = Field(default=Decimal("1000"), gt=0)
