"""The book fast path (``apply_raw_delta`` / ``PublicSession._on_book_delta``) gives exactly what the generic
path gives (parse_public → BookDelta → apply) on random snapshot/delta sequences with duplicates, gaps,
``u == 1`` resets and seq going back; a malformed level marks the book unsynced and asks for a resync."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import orjson
from bybit_fakes import ListSink
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.bybit.events import BookDelta, BookSnapshot
from exchange.bybit.messages import parse_public
from exchange.bybit.orderbook import ApplyResult, OrderBookL50
from exchange.bybit.public_session import PublicSession
from exchange.bybit.rest import BybitRestClient
from exchange.config import ExchangeConfig

SYMBOL = "BTCUSDT"
TOPIC = f"orderbook.50.{SYMBOL}"

# prices on a 0.5 grid written in several spellings ("100", "100.0", "100.50") so Decimal keys must merge
_price = st.builds(
    lambda ticks, spelling: [f"{ticks / 2:.1f}", f"{ticks / 2:.2f}", str(ticks / 2)][spelling],
    st.integers(min_value=160, max_value=240),
    st.integers(min_value=0, max_value=2),
)
_size = st.one_of(st.just("0"), st.just("0.000"), st.decimals("0.001", "50", places=3).map(str))
_levels = st.lists(st.tuples(_price, _size).map(list), max_size=6)
# u step: mostly +1, sometimes a duplicate (0 or negative), a gap (+2/+5) or a reset to 1
_step: st.SearchStrategy[int | str] = st.sampled_from([1, 1, 1, 1, 1, 1, 0, -3, 2, 5, "reset", "snapshot"])


def _message(kind: str, u: int, seq: int, bids: list[Any], asks: list[Any]) -> dict[str, Any]:
    return {
        "topic": TOPIC,
        "type": kind,
        "ts": 1_700_000_000_000 + u,
        "data": {"s": SYMBOL, "b": bids, "a": asks, "u": u, "seq": seq},
        "cts": 1_699_999_999_999,
    }


@st.composite
def book_feeds(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Return a snapshot followed by up to 30 pushes."""
    u, seq = draw(st.integers(2, 1000)), 5000
    out = [_message("snapshot", u, seq, draw(_levels), draw(_levels))]
    for _ in range(draw(st.integers(1, 30))):
        step = draw(_step)
        seq += draw(st.sampled_from([1, 1, 7, 0, -2]))
        kind = "delta"
        if step == "reset":
            u = 1
        elif step == "snapshot":
            kind, u = "snapshot", u + 1
        elif isinstance(step, int):
            u = max(1, u + step)
        out.append(_message(kind, u, seq, draw(_levels), draw(_levels)))
    return out


def _state(book: OrderBookL50) -> tuple[Any, ...]:
    return (book.depth(200), book.u, book.seq, book.ts, book.synced, book.best_bid, book.best_ask)


@settings(max_examples=100, deadline=None)
@given(book_feeds(), st.integers(min_value=3, max_value=50))
def test_raw_delta_fast_path_leaves_the_same_book_as_the_parsed_path(
    feed: list[dict[str, Any]], depth_limit: int
) -> None:
    slow, fast = OrderBookL50(SYMBOL, depth_limit), OrderBookL50(SYMBOL, depth_limit)
    for msg in feed:
        (event,) = parse_public(msg)
        assert isinstance(event, BookSnapshot | BookDelta)
        expected = slow.apply(event)
        data = msg["data"]
        if msg["type"] == "delta" and fast.synced and data["u"] != 1:
            got, bids, asks = fast.apply_raw_delta(
                data["b"], data["a"], data["u"], data["seq"], msg["ts"], collect=True
            )
            if got is ApplyResult.APPLIED:
                assert (bids, asks) == (event.bids, event.asks)
        else:
            got = fast.apply(event)
        assert got is expected
        assert _state(fast) == _state(slow)


class _GenericOnly(PublicSession):
    """The reference: every book delta takes the generic parse → event → apply path."""

    def _on_book_delta(self, msg: dict[str, Any], topic: str) -> None:
        self._on_public(msg)


def _sessions(publish: bool) -> tuple[PublicSession, ListSink, PublicSession, ListSink]:
    cfg = ExchangeConfig(rest_url="http://127.0.0.1:9")
    rest = BybitRestClient(cfg)
    fast_sink, slow_sink = ListSink(), ListSink()
    fast = PublicSession(cfg, [SYMBOL], fast_sink, rest, publish_book_deltas=publish)
    slow = _GenericOnly(cfg, [SYMBOL], slow_sink, rest)
    return fast, fast_sink, slow, slow_sink


@settings(max_examples=60, deadline=None)
@given(book_feeds())
def test_session_fast_path_publishes_the_same_events_and_counts(feed: list[dict[str, Any]]) -> None:
    fast, fast_sink, slow, slow_sink = _sessions(publish=True)
    for msg in feed:
        raw = orjson.dumps(msg)
        fast._on_message(raw)
        slow._on_message(raw)
    assert fast_sink.events == slow_sink.events
    assert _state(fast.books[SYMBOL]) == _state(slow.books[SYMBOL])
    assert (fast.stats.duplicates, fast.stats.gaps, fast.stats.parse_errors) == (
        slow.stats.duplicates,
        slow.stats.gaps,
        slow.stats.parse_errors,
    )
    assert fast._resync_pending == slow._resync_pending


@settings(max_examples=30, deadline=None)
@given(book_feeds())
def test_without_delta_events_the_book_is_the_same_and_only_resets_are_published(
    feed: list[dict[str, Any]],
) -> None:
    fast, fast_sink, slow, slow_sink = _sessions(publish=False)
    for msg in feed:
        raw = orjson.dumps(msg)
        fast._on_message(raw)
        slow._on_message(raw)
    assert _state(fast.books[SYMBOL]) == _state(slow.books[SYMBOL])
    # steady-state deltas are not published; snapshots, resets and deltas of the generic path still are
    assert all(e in slow_sink.events for e in fast_sink.events)
    assert len(fast_sink.of(BookDelta)) <= len(slow_sink.of(BookDelta))


def test_a_malformed_level_in_a_fast_delta_unsyncs_the_book_and_asks_for_a_resync() -> None:
    fast, sink, _, _ = _sessions(publish=True)
    fast._on_message(orjson.dumps(_message("snapshot", 10, 1, [["100", "1"]], [["101", "1"]])))
    fast._on_message(orjson.dumps(_message("delta", 11, 2, [["99", "2"], ["oops", "1"]], [])))
    book = fast.books[SYMBOL]
    assert fast.stats.parse_errors == 1
    assert not book.synced
    assert SYMBOL in fast._resync_pending
    assert [type(e).__name__ for e in sink.events] == ["BookSnapshot"]
    fast._on_message(orjson.dumps(_message("delta", 12, 3, [["98", "2"]], [])))
    assert fast.stats.gaps == 1  # an unsynced book waits for a snapshot; no event leaks through
    assert len(sink.events) == 1


def test_a_fast_delta_event_carries_the_parsed_levels() -> None:
    fast, sink, _, _ = _sessions(publish=True)
    fast._on_message(orjson.dumps(_message("snapshot", 10, 1, [["100", "1"]], [["101", "1"]])))
    delta = _message("delta", 11, 2, [["100.0", "0"], ["99.5", "3.25"]], [["101.5", "1"]])
    fast._on_message(orjson.dumps(delta))
    assert sink.events[-1] == parse_public(delta)[0]
    assert fast.books[SYMBOL].top_of_book() == ((D("99.5"), D("3.25")), (D("101"), D("1")))
