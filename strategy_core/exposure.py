"""Open exposure and the anti-churn book: immutable values the risk rules read (R-02, R-03).

``apply_*``/``record``/``clear`` return new values; nothing is mutated, so the RiskActor can swap its state
atomically and tests can compare states before and after a restart.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, localcontext
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from strategy_core.errors import InvalidSymbolError
from strategy_core.models import Side, Symbol
from strategy_core.numeric import DECIMAL_CONTEXT

__all__ = ["QUOTE_ASSETS", "ChurnBook", "Exposure", "OpenPosition", "base_asset"]

QUOTE_ASSETS = ("USDT", "USDC", "PERP", "USD")
"""Quote suffixes stripped from a symbol to find its base asset (the longest match wins)."""

_FROZEN = ConfigDict(frozen=True, extra="forbid")
PosDecimal = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]


def base_asset(symbol: str) -> str:
    """Return the base asset of a linear perpetual symbol: ``BTCUSDT`` → ``BTC`` (R-02).

    Raises:
        InvalidSymbolError: no known quote suffix, or nothing left before it.
    """
    for quote in sorted(QUOTE_ASSETS, key=len, reverse=True):
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)]
    raise InvalidSymbolError(
        f"expected a symbol ending in one of {QUOTE_ASSETS} after a base, got {symbol!r}"
    )


class OpenPosition(BaseModel):
    """One open position as the risk rules see it."""

    model_config = _FROZEN

    position_id: str = Field(min_length=1)
    symbol: Symbol
    side: Side
    qty: PosDecimal
    entry: PosDecimal
    risk_usd: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
    risk_r: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]

    @property
    def base(self) -> str:
        """Return the position's base asset."""
        return base_asset(self.symbol)


class Exposure(BaseModel):
    """The set of open positions, with the totals the limits are checked against."""

    model_config = _FROZEN

    positions: tuple[OpenPosition, ...] = ()

    @property
    def count(self) -> int:
        """Return the number of open positions."""
        return len(self.positions)

    @property
    def total_risk_usd(self) -> Decimal:
        """Return Σ risk_usd over open positions."""
        with localcontext(DECIMAL_CONTEXT):
            return sum((p.risk_usd for p in self.positions), Decimal(0))

    @property
    def total_risk_r(self) -> Decimal:
        """Return Σ risk_r over open positions."""
        with localcontext(DECIMAL_CONTEXT):
            return sum((p.risk_r for p in self.positions), Decimal(0))

    def count_on_side(self, base: str, side: Side) -> int:
        """Return how many open positions on ``base`` are on ``side``."""
        return sum(1 for p in self.positions if p.side is side and p.base == base)

    def get(self, position_id: str) -> OpenPosition | None:
        """Return the open position with this id, if any."""
        return next((p for p in self.positions if p.position_id == position_id), None)

    def apply_open(self, position: OpenPosition) -> Exposure:
        """Return the exposure with ``position`` added (replacing one with the same id)."""
        kept = tuple(p for p in self.positions if p.position_id != position.position_id)
        return Exposure(positions=(*kept, position))

    def apply_close(self, position_id: str) -> Exposure:
        """Return the exposure without ``position_id`` (unchanged when it is not open)."""
        return Exposure(positions=tuple(p for p in self.positions if p.position_id != position_id))


class ChurnBook(BaseModel):
    """Last accepted entry time per (symbol, side), for the R-03 anti-churn block."""

    model_config = _FROZEN

    last_entry: dict[tuple[str, Side], datetime] = Field(default_factory=dict)

    def blocked_until(self, symbol: str, side: Side, block_s: int, now: datetime) -> datetime | None:
        """Return when the block on ``symbol``/``side`` ends, or ``None`` if it is not blocked at ``now``."""
        last = self.last_entry.get((symbol, side))
        if last is None:
            return None
        until = last + timedelta(seconds=block_s)
        return until if now < until else None

    def record(self, symbol: str, side: Side, at: datetime) -> ChurnBook:
        """Return the book with an accepted entry on ``symbol``/``side`` at ``at``."""
        return ChurnBook(last_entry={**self.last_entry, (symbol, side): at})

    def clear(self, symbol: str, side: Side) -> ChurnBook:
        """Return the book without the block on ``symbol``/``side`` (on close, when configured)."""
        return ChurnBook(last_entry={k: v for k, v in self.last_entry.items() if k != (symbol, side)})

    def prune(self, block_s: int, now: datetime) -> ChurnBook:
        """Return the book without entries whose block has expired at ``now``."""
        horizon = timedelta(seconds=block_s)
        return ChurnBook(last_entry={k: v for k, v in self.last_entry.items() if v + horizon > now})
