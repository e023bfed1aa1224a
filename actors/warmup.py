"""Start-up warm-up: back-fill the last N 5m candles of every symbol over REST (P-05, P-10).

Runs in the trio thread before the symbol trees start, so each IndicatorActor's reload finds a full window
and signals are possible right after start. Requests are paced (``min_interval_s`` between calls, on top of
the REST client's own rate limiter) and progress is logged per symbol. The newest row of
``/v5/market/kline`` is the bar still open, so it is never stored; every other row passes
``ConfirmedCandle`` (D-01) or is counted as invalid.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import structlog
import trio

from strategy_core import ConfirmedCandle, InvalidCandleError

__all__ = [
    "BackfillReport",
    "CandleBatchStore",
    "KlineRangeSource",
    "KlineSource",
    "RestBarHistory",
    "backfill",
]

log = structlog.get_logger(__name__)

_BAR = dt.timedelta(minutes=5)


class KlineRow(Protocol):
    """One REST kline row (``exchange.bybit.Candle`` satisfies it)."""

    @property
    def start(self) -> int: ...
    @property
    def open(self) -> object: ...
    @property
    def high(self) -> object: ...
    @property
    def low(self) -> object: ...
    @property
    def close(self) -> object: ...
    @property
    def volume(self) -> object: ...
    @property
    def turnover(self) -> object: ...


class KlineSource(Protocol):
    """The REST call used (``exchange.bybit.BybitRestClient.get_klines``)."""

    async def get_klines(self, symbol: str, interval: str = "5", *, limit: int = 200) -> Sequence[KlineRow]:
        """Return klines oldest first."""
        ...


class KlineRangeSource(Protocol):
    """The REST call with a time range (``exchange.bybit.BybitRestClient.get_klines``)."""

    async def get_klines(
        self, symbol: str, interval: str = "5", *, start: int | None = None, end: int | None = None,
        limit: int = 200,
    ) -> Sequence[KlineRow]:
        """Return klines starting in ``[start, end]``, oldest first."""
        ...


class CandleBatchStore(Protocol):
    """Idempotent batch insert of candles (``storage.MarketRepository.store_candles``)."""

    async def store_candles(self, candles: Sequence[ConfirmedCandle]) -> int:
        """Insert the candles not stored yet; return how many were new."""
        ...


@dataclass(slots=True)
class BackfillReport:
    """What the warm-up did, per symbol."""

    fetched: dict[str, int] = field(default_factory=dict)
    stored: dict[str, int] = field(default_factory=dict)
    invalid: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def _candle(symbol: str, row: KlineRow) -> ConfirmedCandle:
    start = dt.datetime.fromtimestamp(row.start / 1000, tz=dt.UTC)
    return ConfirmedCandle.model_validate(
        {
            "symbol": symbol,
            "start": start,
            "end": start + _BAR,
            "open": row.open,
            "high": row.high,
            "low": row.low,
            "close": row.close,
            "volume": row.volume,
            "turnover": row.turnover,
        }
    )


async def backfill(
    rest: KlineSource,
    store: CandleBatchStore,
    symbols: Sequence[str],
    *,
    bars: int = 200,
    min_interval_s: float = 0.05,
) -> BackfillReport:
    """Fetch and store the last ``bars`` closed 5m candles of each symbol; never raises for one symbol.

    A symbol whose request fails is logged and reported in ``failed``: its indicator then warms up from the
    live stream (and whatever storage already holds).
    """
    report = BackfillReport()
    total = len(symbols)
    for done, symbol in enumerate(symbols, start=1):
        if done > 1:
            await trio.sleep(min_interval_s)
        try:
            rows = list(await rest.get_klines(symbol, "5", limit=bars + 1))
        except Exception as exc:  # boundary: one symbol's failed warm-up must not stop the engine
            report.failed[symbol] = repr(exc)
            log.warning("backfill failed", symbol=symbol, error=repr(exc), done=done, total=total)
            continue
        closed = rows[:-1]
        candles: list[ConfirmedCandle] = []
        for row in closed:
            try:
                candles.append(_candle(symbol, row))
            except InvalidCandleError:
                report.invalid[symbol] = report.invalid.get(symbol, 0) + 1
        report.fetched[symbol] = len(closed)
        report.stored[symbol] = await store.store_candles(candles)
        log.info(
            "backfill progress",
            symbol=symbol,
            done=done,
            total=total,
            fetched=len(closed),
            stored=report.stored[symbol],
            invalid=report.invalid.get(symbol, 0),
        )
    return report


class RestBarHistory:
    """The feeds' ``BarHistory`` (gap repair, D-02) over the engine's rate-limited REST client (E-08).

    Returns the bars starting in ``[first_ms, last_ms]`` that pass ``ConfirmedCandle`` (D-01); an invalid
    row is logged and left out, so its bar is retried and, in the end, marked missing — never invented.
    """

    def __init__(self, rest: KlineRangeSource) -> None:
        self._rest = rest

    async def fetch_bars(self, symbol: str, first_ms: int, last_ms: int) -> list[ConfirmedCandle]:
        """Return the valid closed bars of ``symbol`` starting in ``[first_ms, last_ms]``, oldest first."""
        count = (last_ms - first_ms) // int(_BAR.total_seconds() * 1000) + 1
        rows = await self._rest.get_klines(symbol, "5", start=first_ms, end=last_ms, limit=min(1000, count))
        candles: list[ConfirmedCandle] = []
        for row in rows:
            if not first_ms <= row.start <= last_ms:
                continue
            try:
                candles.append(_candle(symbol, row))
            except InvalidCandleError as exc:
                log.warning("repair bar invalid", symbol=symbol, start=row.start, error=str(exc))
        return candles
