"""Instrument specifications of the simulated venue: the 15 USDT perpetuals of P-08.

Tick sizes, quantity steps and minimums follow Bybit's published linear instruments (rounded to what the
exchange showed when this table was written); the synthetic market uses ``start_price`` and
``bar_volatility`` to look plausible, never to predict anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["DEFAULT_SYMBOLS", "INSTRUMENTS", "SymbolSpec"]


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """Describe one linear perpetual: its trading rules and the seed of its synthetic market."""

    symbol: str
    base_coin: str
    tick_size: Decimal
    qty_step: Decimal
    min_qty: Decimal
    max_qty: Decimal
    max_mkt_qty: Decimal
    start_price: Decimal
    bar_volatility: float  # standard deviation of one 5-minute log return in the "ranging" regime
    level_notional: Decimal = Decimal("20000")  # typical USDT resting at one book level
    min_notional: Decimal = Decimal("5")
    max_leverage: Decimal = Decimal("50")

    @property
    def price_scale(self) -> int:
        """Return the number of decimals of a price (Bybit's ``priceScale``)."""
        return -int(self.tick_size.as_tuple().exponent)

    def price_of(self, ticks: int) -> Decimal:
        """Return the price of an integer number of ticks, with the tick's exponent."""
        return (self.tick_size * ticks).quantize(self.tick_size)

    def qty_of(self, steps: int) -> Decimal:
        """Return the quantity of an integer number of qty steps, with the step's exponent."""
        return (self.qty_step * steps).quantize(self.qty_step)


def _spec(  # noqa: PLR0917 - one row of the instrument table
    symbol: str,
    tick: str,
    step: str,
    max_qty: str,
    max_mkt: str,
    price: str,
    vol: float,
    level_notional: str = "8000",
) -> SymbolSpec:
    return SymbolSpec(
        symbol=symbol,
        base_coin=symbol.removesuffix("USDT"),
        tick_size=Decimal(tick),
        qty_step=Decimal(step),
        min_qty=Decimal(step),
        max_qty=Decimal(max_qty),
        max_mkt_qty=Decimal(max_mkt),
        start_price=Decimal(price),
        bar_volatility=vol,
        level_notional=Decimal(level_notional),
    )


INSTRUMENTS: dict[str, SymbolSpec] = {
    s.symbol: s
    for s in (
        _spec("BTCUSDT", "0.10", "0.001", "1190.000", "500.000", "65000.00", 0.0020, "30000"),
        _spec("ETHUSDT", "0.01", "0.01", "7240.00", "3620.00", "3200.00", 0.0026, "20000"),
        _spec("SOLUSDT", "0.010", "0.1", "79770.0", "39880.0", "150.000", 0.0035),
        _spec("XRPUSDT", "0.0001", "1", "4608000", "2304000", "0.5200", 0.0030),
        _spec("BNBUSDT", "0.010", "0.01", "2800.00", "1400.00", "580.000", 0.0024),
        _spec("DOGEUSDT", "0.00001", "1", "92868000", "46434000", "0.15000", 0.0040),
        _spec("TONUSDT", "0.0001", "0.1", "500000.0", "250000.0", "6.5000", 0.0038),
        _spec("LINKUSDT", "0.001", "0.1", "200000.0", "100000.0", "14.000", 0.0034),
        _spec("LTCUSDT", "0.01", "0.1", "35000.0", "17500.0", "80.00", 0.0030),
        _spec("TRXUSDT", "0.00001", "1", "8000000", "4000000", "0.12000", 0.0022),
        _spec("ADAUSDT", "0.0001", "1", "4000000", "2000000", "0.4500", 0.0033),
        _spec("AVAXUSDT", "0.001", "0.1", "60000.0", "30000.0", "30.000", 0.0038),
        _spec("OPUSDT", "0.0001", "0.1", "500000.0", "250000.0", "2.0000", 0.0042),
        _spec("ARBUSDT", "0.0001", "0.1", "800000.0", "400000.0", "0.9000", 0.0042),
        _spec("MATICUSDT", "0.0001", "1", "2000000", "1000000", "0.6000", 0.0036),
    )
}

DEFAULT_SYMBOLS: tuple[str, ...] = tuple(INSTRUMENTS)
