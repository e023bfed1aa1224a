"""The simulator's one frozen configuration model (STYLE §9)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from exchange.simulator.instruments import DEFAULT_SYMBOLS, INSTRUMENTS

__all__ = ["MAX_HISTORY_BARS", "SimulatorConfig"]

MAX_HISTORY_BARS = 366 * 288
"""The most history a venue generates at start: a year and a day of 5-minute bars."""


class SimulatorConfig(BaseModel):
    """Configure one simulated Bybit v5 venue.

    Attributes:
        seed: seed of every random draw; the same seed replays the same market.
        symbols: the linear perpetuals listed (default: the 15 of P-08).
        speed: exchange seconds per real second; 5-minute bars close every ``300 / speed`` seconds.
        book_interval_ms: real milliseconds between market steps (book deltas, trades, tickers, klines).
        host: interface to bind; port 0 picks a free port.
        kline_csv: per symbol, a CSV of 5-minute bars (``start,open,high,low,close,volume[,turnover]``) to
            replay instead of the synthetic process.
        start_time_ms: exchange time at start (default: wall-clock now).
        history_bars: closed 5-minute bars generated before the start, served by ``/v5/market/kline`` (up to
            a year and a day: ``algogrid backfill`` generates its whole range as history).
        default_balance: USDT wallet balance of accounts added without one.
        taker_fee_rate / maker_fee_rate: fee rates charged on fills (Bybit's VIP-0 linear rates).
        leverage: leverage used for margin on every symbol.
        funding_interval_hours: funding settlement period (8 h on Bybit).
        order_rate_limit_per_s / read_rate_limit_per_s: per-API-key request limits, with
            ``X-Bapi-Limit*`` headers and ``retCode`` 10006 when exceeded.
        ws_queue_size: messages buffered per WebSocket client before it is disconnected as too slow.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 1
    symbols: tuple[str, ...] = DEFAULT_SYMBOLS
    speed: float = Field(default=60.0, gt=0)
    book_interval_ms: int = Field(default=200, ge=1)
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    kline_csv: dict[str, Path] = Field(default_factory=dict)
    start_time_ms: int | None = None
    history_bars: int = Field(default=200, ge=0, le=MAX_HISTORY_BARS)
    default_balance: Decimal = Decimal("10000")
    taker_fee_rate: Decimal = Decimal("0.00055")
    maker_fee_rate: Decimal = Decimal("0.0002")
    leverage: Decimal = Field(default=Decimal("10"), gt=0)
    funding_interval_hours: int = Field(default=8, ge=1)
    order_rate_limit_per_s: int = Field(default=10, ge=1)
    read_rate_limit_per_s: int = Field(default=50, ge=1)
    ws_queue_size: int = Field(default=5000, ge=10)

    @field_validator("symbols")
    @classmethod
    def _known_symbols(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [s for s in value if s not in INSTRUMENTS]
        if unknown:
            raise ValueError(f"expected symbols from {sorted(INSTRUMENTS)}, got unknown {unknown}")
        if not value:
            raise ValueError("expected at least one symbol, got none")
        return value

    @field_validator("kline_csv")
    @classmethod
    def _csv_symbols(cls, value: dict[str, Path]) -> dict[str, Path]:
        unknown = [s for s in value if s not in INSTRUMENTS]
        if unknown:
            raise ValueError(f"expected kline_csv keys among the instruments, got {unknown}")
        return value
