"""The L50 book applies snapshot/delta, drops duplicates, detects u/seq gaps and resets on u == 1."""

from __future__ import annotations

from decimal import Decimal as D

from bybit_fakes import shared_fixture
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.bybit.events import BookDelta, BookSnapshot, Level
from exchange.bybit.messages import parse_public
from exchange.bybit.orderbook import ApplyResult, OrderBookL50


def lv(*pairs: tuple[str, str]) -> tuple[Level, ...]:
    return tuple((D(p), D(q)) for p, q in pairs)


def snap(u: int = 10, seq: int = 100) -> BookSnapshot:
    return BookSnapshot(
        "BTCUSDT", lv(("100", "1"), ("99", "2")), lv(("101", "1"), ("102", "3")), u, seq, 1, None
    )


def delta(u: int, bids: tuple[Level, ...] = (), asks: tuple[Level, ...] = (), seq: int = 0) -> BookDelta:
    return BookDelta("BTCUSDT", bids, asks, u, seq, 2, None)


def test_snapshot_then_delta_updates_top_of_book() -> None:
    book = OrderBookL50("BTCUSDT")
    assert book.apply(snap()) is ApplyResult.RESET
    assert book.top_of_book() == ((D("100"), D("1")), (D("101"), D("1")))
    assert book.apply(delta(11, lv(("100.5", "4")), lv(("101", "0")), seq=101)) is ApplyResult.APPLIED
    assert book.best_bid == (D("100.5"), D("4"))
    assert book.best_ask == (D("102"), D("3"))
    assert book.mid() == D("101.25")


def test_deleting_the_best_level_finds_the_next_one() -> None:
    book = OrderBookL50("BTCUSDT")
    book.apply(snap())
    book.apply(delta(11, lv(("100", "0"))))
    assert book.best_bid == (D("99"), D("2"))
    book.apply(delta(12, lv(("99", "0"))))
    assert book.best_bid is None
    assert book.mid() is None


def test_duplicate_or_old_update_is_dropped() -> None:
    book = OrderBookL50("BTCUSDT")
    book.apply(snap())
    book.apply(delta(11, lv(("98", "5"))))
    assert book.apply(delta(11, lv(("98", "7")))) is ApplyResult.DUPLICATE
    assert book.apply(delta(5)) is ApplyResult.DUPLICATE
    assert dict(book.depth()[0])[D("98")] == D("5")


def test_u_gap_marks_the_book_unsynced_until_a_snapshot() -> None:
    book = OrderBookL50("BTCUSDT")
    book.apply(snap())
    assert book.apply(delta(13)) is ApplyResult.GAP
    assert not book.synced
    assert book.apply(delta(14)) is ApplyResult.GAP
    assert book.apply(snap(u=20)) is ApplyResult.RESET
    assert book.synced
    assert book.apply(delta(21)) is ApplyResult.APPLIED


def test_seq_going_backwards_is_a_gap() -> None:
    book = OrderBookL50("BTCUSDT")
    book.apply(snap(seq=100))
    assert book.apply(delta(11, seq=99)) is ApplyResult.GAP


def test_u_equal_one_resets_the_book() -> None:
    book = OrderBookL50("BTCUSDT")
    book.apply(snap(u=500))
    assert book.apply(delta(1, lv(("50", "1")), lv(("51", "1")))) is ApplyResult.RESET
    assert book.top_of_book() == ((D("50"), D("1")), (D("51"), D("1")))
    assert book.apply(delta(2, lv(("50.5", "1")))) is ApplyResult.APPLIED


def test_depth_is_sorted_and_limited() -> None:
    book = OrderBookL50("BTCUSDT", depth_limit=2)
    book.apply(
        BookSnapshot(
            "X", lv(("1", "1"), ("3", "1"), ("2", "1")), lv(("9", "1"), ("7", "1"), ("8", "1")), 1, 0, 0, None
        )
    )
    bids, asks = book.depth()
    assert [p for p, _ in bids] == [D("3"), D("2")]
    assert [p for p, _ in asks] == [D("7"), D("8")]


def test_documented_snapshot_and_delta_apply() -> None:
    book = OrderBookL50("BTCUSDT")
    [s] = parse_public(shared_fixture("ws_public/orderbook_50_BTCUSDT_snapshot_docs_trimmed.json"))
    assert book.apply(s) is ApplyResult.RESET  # type: ignore[arg-type]
    assert book.best_ask == (D("16611.00"), D("0.029"))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 30), st.integers(0, 3)), max_size=60))
def test_incremental_best_prices_equal_a_full_recompute(ops: list[tuple[bool, int, int]]) -> None:
    book = OrderBookL50("X", depth_limit=1000)
    book.apply(BookSnapshot("X", lv(("10", "1")), lv(("20", "1")), 1, 0, 0, None))
    for u, (is_bid, price, size) in enumerate(ops, start=2):
        level = ((D(price), D(size)),)
        book.apply(delta(u, level if is_bid else (), () if is_bid else level))
        bids, asks = book.depth()
        assert book.best_bid == (bids[0] if bids else None)
        assert book.best_ask == (asks[0] if asks else None)
