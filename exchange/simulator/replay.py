"""Load a CSV of 5-minute bars to replay instead of the synthetic price process."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from exchange.simulator.errors import SimulatorConfigError

__all__ = ["BAR_MS", "CsvBar", "load_kline_csv"]

BAR_MS = 300_000


@dataclass(frozen=True, slots=True)
class CsvBar:
    """One replayed bar, as read from the file."""

    start_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    turnover: Decimal | None


def load_kline_csv(path: Path) -> list[CsvBar]:
    """Read ``start,open,high,low,close,volume[,turnover]`` rows (a header row is allowed), oldest first.

    Raises:
        SimulatorConfigError: the file is missing, empty, malformed, or its starts are not on 5-minute steps.
    """
    try:
        with path.open(newline="") as handle:
            rows = [r for r in csv.reader(handle) if r and not r[0].startswith("#")]
    except OSError as exc:
        raise SimulatorConfigError(f"expected a readable kline CSV at {path}, got {exc}") from exc
    if rows and not rows[0][0].strip().lstrip("-").isdigit():
        rows = rows[1:]
    bars: list[CsvBar] = []
    for number, row in enumerate(rows, start=1):
        try:
            bar = CsvBar(
                start_ms=int(row[0]),
                open=Decimal(row[1]),
                high=Decimal(row[2]),
                low=Decimal(row[3]),
                close=Decimal(row[4]),
                volume=Decimal(row[5]),
                turnover=Decimal(row[6]) if len(row) > 6 and row[6] else None,
            )
        except (IndexError, ValueError, InvalidOperation) as exc:
            raise SimulatorConfigError(f"expected 6 or 7 numeric columns in {path} row {number}") from exc
        if bar.start_ms % BAR_MS:
            raise SimulatorConfigError(f"expected 5-minute aligned starts in {path}, got {bar.start_ms}")
        if not bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high:
            raise SimulatorConfigError(f"expected low <= open, close <= high in {path} row {number}")
        bars.append(bar)
    if not bars:
        raise SimulatorConfigError(f"expected at least one bar in {path}, got none")
    bars.sort(key=lambda b: b.start_ms)
    return bars
