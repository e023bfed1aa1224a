"""The history backfill (P-05, P-06): page an exchange's 5m klines of a date range into ``klines_5m``.

``run_backfill`` reads which bars of the range are stored already, groups the missing ones into windows of at
most ``PAGE_BARS`` bars (Bybit's ``/v5/market/kline`` limit) and fetches the windows oldest first, one REST
page each, through the caller's rate-limited client (E-08: every page draws a ``rest_read`` token). Every page
is committed on its own with insert-once semantics (``ON CONFLICT (symbol, open_time) DO NOTHING``), so an
interrupted run leaves a clean prefix and the next run fetches only what is still missing: resumable, never
a duplicate. Only closed bars are asked for (the range ends at the current bar's start) and stored, and each
passes ``ConfirmedCandle`` (D-01) — an invalid row is logged and left out, never invented. A bar the exchange
does not serve (before a listing, an outage) stays missing and is counted in the report.

Run by ``algogrid backfill``; time is passed in (``now_ms``), nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import structlog

from storage import KlineRepository
from strategy_core import ConfirmedCandle

__all__ = [
    "BAR_MS",
    "PAGE_BARS",
    "BackfillRange",
    "BarPages",
    "SymbolBackfill",
    "missing_windows",
    "run_backfill",
]

log = structlog.get_logger(__name__)

BAR_MS = 300_000
PAGE_BARS = 1000


class BarPages(Protocol):
    """One page of closed bars (``actors.RestBarHistory`` over the engine's kind of REST client)."""

    async def fetch_bars(self, symbol: str, first_ms: int, last_ms: int) -> list[ConfirmedCandle]:
        """Return the valid bars of ``symbol`` starting in ``[first_ms, last_ms]``, oldest first."""
        ...


@dataclass(frozen=True, slots=True)
class BackfillRange:
    """The bars to hold: those starting in ``[start_ms, end_ms)`` (epoch ms on 5-minute boundaries)."""

    start_ms: int
    end_ms: int

    @classmethod
    def of_days(cls, first: datetime, after_last: datetime, now_ms: int) -> BackfillRange:
        """Return the range from ``first`` to ``after_last`` (exclusive), cut at the bar open at ``now_ms``.

        Raises:
            ValueError: the range holds no closed bar.
        """
        start = _floor(int(first.timestamp() * 1000))
        end = min(_floor(int(after_last.timestamp() * 1000)), _floor(now_ms))
        if end <= start:
            raise ValueError(
                f"expected a range with closed bars, got {first:%Y-%m-%d} to {after_last:%Y-%m-%d}"
            )
        return cls(start, end)

    @property
    def bars(self) -> int:
        """Return how many 5-minute bars the range holds."""
        return (self.end_ms - self.start_ms) // BAR_MS


@dataclass(slots=True)
class SymbolBackfill:
    """What one symbol's backfill found and did."""

    symbol: str
    expected: int
    stored_before: int = 0
    pages: int = 0
    fetched: int = 0
    inserted: int = 0

    @property
    def missing(self) -> int:
        """Return how many bars of the range are still not stored (the exchange did not serve them)."""
        return self.expected - self.stored_before - self.inserted


def _floor(ms: int) -> int:
    return ms // BAR_MS * BAR_MS


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def missing_windows(
    span: BackfillRange, stored: set[int], page_bars: int = PAGE_BARS
) -> Iterator[tuple[int, int]]:
    """Yield the windows ``(first_ms, last_ms)`` that cover every bar of ``span`` not in ``stored``.

    Oldest first, at most ``page_bars`` bars each; a window starts and ends on a missing bar.
    """
    first: int | None = None
    last = 0
    for start in range(span.start_ms, span.end_ms, BAR_MS):
        if start in stored:
            continue
        if first is not None and (start - first) // BAR_MS >= page_bars:
            yield first, last
            first = None
        if first is None:
            first = start
        last = start
    if first is not None:
        yield first, last


async def run_backfill(
    pages: BarPages,
    klines: KlineRepository,
    symbols: Sequence[str],
    span: BackfillRange,
    *,
    source: str,
    progress: Callable[[int], None] | None = None,
) -> list[SymbolBackfill]:
    """Fetch and store every bar of ``span`` not stored yet for each of ``symbols``; return what each did.

    ``progress`` is told the bars of the range each page settled (already stored bars at once), so its total
    is ``span.bars * len(symbols)``. ``source`` tags the new rows (``rest``, or ``simulator`` in simulation).

    Raises:
        exchange.ExchangeError: a page failed after the client's retries (the run so far stays stored).
        storage.StorageError: a write failed.
    """
    reports: list[SymbolBackfill] = []
    for symbol in symbols:
        first, end = (
            datetime.fromtimestamp(span.start_ms / 1000, UTC),
            datetime.fromtimestamp(span.end_ms / 1000, UTC),
        )
        stored = {_ms(t) for t in await klines.open_times_between(symbol, first, end)}
        report = SymbolBackfill(symbol, span.bars, stored_before=len(stored))
        reports.append(report)
        if progress is not None and stored:
            progress(len(stored))
        for first_ms, last_ms in missing_windows(span, stored):
            candles = await pages.fetch_bars(symbol, first_ms, last_ms)
            fresh = [c for c in candles if _ms(c.start) not in stored]
            new = sum(await klines.insert_new_many([(c, source) for c in fresh])) if fresh else 0
            report.pages += 1
            report.fetched += len(candles)
            report.inserted += new
            if progress is not None:
                progress(sum(1 for s in range(first_ms, last_ms + 1, BAR_MS) if s not in stored))
        log.info(
            "backfill done",
            symbol=symbol,
            bars=report.expected,
            stored_before=report.stored_before,
            pages=report.pages,
            inserted=report.inserted,
            missing=report.missing,
        )
    return reports
