"""The feed's book handling: snapshot on start, gap → one REST resync, top of book and imbalance (D-02)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from actors_kit import ONE_R, Mailbox, PumpQueue, pump

import actors
from actors import FeedBehaviour, FeedConfig, SnapshotFetched, TradingInputs
from exchange.bybit import BookDelta, BookSnapshot
from supervision import ManualClock

D = Decimal
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class _Snapshots:
    """A snapshot source serving a fixed book (the REST side of this test)."""

    def __init__(self) -> None:
        self.calls = 0

    async def fetch_snapshot(self, symbol: str) -> BookSnapshot:
        self.calls += 1
        return BookSnapshot(symbol, ((D(100), D(3)),), ((D(101), D(1)),), 10, 10, 1_000, None)


def _feed() -> tuple[FeedBehaviour, PumpQueue, Mailbox, _Snapshots]:
    work, box, source = PumpQueue(), Mailbox(), _Snapshots()
    feed = FeedBehaviour(
        "BTCUSDT",
        FeedConfig(),
        TradingInputs(risk_per_trade_usd=ONE_R),
        downstream=Mailbox(),
        work=work,
        store=None,  # type: ignore[arg-type]
        snapshots=source,
        self_ref=box,
        clock=ManualClock(NOW),
    )
    box.target = feed
    return feed, work, box, source


async def test_start_fetches_a_snapshot_and_builds_the_top_of_book() -> None:
    feed, work, box, source = _feed()
    assert feed.book_top(NOW) is None
    feed.start()
    await pump(work, box)
    assert source.calls == 1
    top = feed.book_top(NOW)
    assert top is not None
    assert (top.bid, top.ask) == (D(100), D(101))
    assert top.imbalance == D("0.5")


async def test_a_sequence_gap_requests_exactly_one_resync() -> None:
    feed, work, box, source = _feed()
    feed.start()
    await pump(work, box)
    # u jumps from 10 to 12: a gap. Two more deltas arrive before the resync completes.
    for u in (12, 13, 14):
        feed.handle(BookDelta("BTCUSDT", ((D(100), D(5)),), (), u, u, 2_000, None))
    assert feed.stats.book_gaps == 3
    assert feed.stats.snapshots_requested == 2  # one on start, one for the gap (no duplicate in flight)
    await pump(work, box)
    assert source.calls == 2
    assert feed.book.synced
    next_delta = BookDelta("BTCUSDT", ((D(100), D(7)),), (), 11, 11, 3_000, None)
    feed.handle(next_delta)
    assert feed.book.best_bid == (D(100), D(7))


def test_front_door_exports_resolve() -> None:
    missing = [name for name in actors.__all__ if not hasattr(actors, name)]
    assert missing == []
    assert SnapshotFetched.__module__ == "actors.messages"


async def test_the_top_carries_the_notional_depth_of_the_whole_l50_book() -> None:
    feed, work, _box, _source = _feed()
    feed.start()
    await pump(work, _box)
    assert feed.book_top(NOW).depth_usd == D(100) * D(3) + D(101) * D(1)  # type: ignore[union-attr]
    bids = tuple((D(100) - D(i) / 10, D("0.5") + i) for i in range(1, 60))  # deeper than 50 levels
    asks = tuple((D(101) + D(i) / 10, D("1.25") * i) for i in range(1, 60))
    feed.handle(BookDelta("BTCUSDT", bids, asks, 11, 11, 2_000, None))
    top = feed.book_top(NOW)
    assert top is not None
    book_bids, book_asks = feed.book.depth()
    assert len(book_bids) == len(book_asks) == 50  # the feed keeps L50, beyond is cut
    expected = sum((p * q for p, q in (*book_bids, *book_asks)), D(0))
    assert top.depth_usd == expected
    assert top.depth_usd != sum((p * q for p, q in ((D(100), D(3)), (D(101), D(1)), *bids, *asks)), D(0))
