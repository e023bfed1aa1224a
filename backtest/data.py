"""Kline input of a replay: a CSV file (1m or 5m, 1m resampled to 5m on boundaries) or stored candles.

CSV: a header ``timestamp,open,high,low,close,volume`` (``turnover`` optional); ``timestamp`` is the bar's
start in epoch milliseconds, epoch seconds or ISO 8601 (UTC). The interval is read from the first two rows.
A 5m bucket [b, b + 5 min) is built only from its five complete 1m bars (open of the first, close of the last,
max high, min low, summed volume and turnover), so a gap never fabricates a bar — as ``derive_15m`` does.
Every bar passes the D-01 checks (``ConfirmedCandle``); a bad row raises ``DataError`` naming its line.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from backtest.errors import DataError
from strategy_core import FIVE_MINUTES, ConfirmedCandle, InvalidCandleError

__all__ = ["RawBar", "read_csv", "resample_to_5m"]

_ONE_MINUTE = timedelta(minutes=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

RawBar = tuple[datetime, Decimal, Decimal, Decimal, Decimal, Decimal, Decimal]
"""(start, open, high, low, close, volume, turnover) of one row."""


def _stamp(text: str) -> datetime:
    text = text.strip()
    if text.isdigit():
        value = int(text)
        return datetime.fromtimestamp(value / 1000 if value > 10**11 else value, tz=UTC)
    stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def _rows(path: Path) -> Iterator[tuple[int, RawBar]]:
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"timestamp", "open", "high", "low", "close", "volume"} - set(reader.fieldnames or ())
        if missing:
            raise DataError(f"{path}: expected the columns {sorted(missing)} in the header")
        for line, row in enumerate(reader, start=2):
            try:
                close = Decimal(row["close"])
                volume = Decimal(row["volume"])
                turnover = Decimal(row["turnover"]) if row.get("turnover") else volume * close
                yield (
                    line,
                    (
                        _stamp(row["timestamp"]),
                        Decimal(row["open"]),
                        Decimal(row["high"]),
                        Decimal(row["low"]),
                        close,
                        volume,
                        turnover,
                    ),
                )
            except (InvalidOperation, ValueError, KeyError) as exc:
                raise DataError(f"{path}:{line}: expected numbers and a timestamp, got {row}") from exc


def _candle(symbol: str, bar: RawBar, where: str) -> ConfirmedCandle:
    start, o, h, lo, c, v, t = bar
    try:
        return ConfirmedCandle(
            symbol=symbol, start=start, end=start + FIVE_MINUTES, open=o, high=h, low=lo, close=c,
            volume=v, turnover=t,
        )  # fmt: skip
    except InvalidCandleError as exc:
        raise DataError(f"{where}: {exc}") from exc


def resample_to_5m(bars: Sequence[RawBar]) -> list[RawBar]:
    """Return the complete 5m buckets of time-ordered 1m bars (incomplete buckets are dropped)."""
    out: list[RawBar] = []
    bucket: list[RawBar] = []
    for bar in bars:
        start = bar[0]
        head = start - (start - _EPOCH) % FIVE_MINUTES
        if bucket and bucket[0][0] - (bucket[0][0] - _EPOCH) % FIVE_MINUTES != head:
            bucket = []
        if start != head + _ONE_MINUTE * len(bucket):
            bucket = []
            continue
        bucket.append(bar)
        if len(bucket) == 5:
            out.append(
                (
                    bucket[0][0],
                    bucket[0][1],
                    max(b[2] for b in bucket),
                    min(b[3] for b in bucket),
                    bucket[-1][4],
                    sum((b[5] for b in bucket), Decimal(0)),
                    sum((b[6] for b in bucket), Decimal(0)),
                )
            )
            bucket = []
    return out


def read_csv(
    path: Path, symbol: str, *, start: datetime | None = None, end: datetime | None = None
) -> list[ConfirmedCandle]:
    """Return the confirmed 5m candles of a kline CSV (1m input resampled), within [start, end) if given.

    Raises:
        DataError: a missing column, a bad row, an interval other than 1m/5m, or bars out of order.
    """
    rows = list(_rows(path))
    bars = [bar for _, bar in rows]
    for (_, a), (line, b) in itertools.pairwise(rows):
        if b[0] <= a[0]:
            raise DataError(f"{path}:{line}: expected rows in time order, got {b[0]} after {a[0]}")
    if len(bars) >= 2:
        step = bars[1][0] - bars[0][0]
        if step == _ONE_MINUTE:
            bars = resample_to_5m(bars)
        elif step != FIVE_MINUTES:
            raise DataError(f"{path}: expected 1m or 5m bars, got a {step} step")
    chosen = [b for b in bars if (start is None or b[0] >= start) and (end is None or b[0] < end)]
    return [_candle(symbol, bar, f"{path} bar {bar[0].isoformat()}") for bar in chosen]
