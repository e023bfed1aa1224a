"""WS sessions over real sockets to a scripted loopback venue: subscribe batching, book publishing, gap →
REST resync, disconnect → reconnect + resubscribe, half-open → silence detected, bad frames survive,
private auth + execution backfill."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing
from bybit_fakes import FakeRest, FakeWs, ListSink, ok, running_rest, running_ws, shared_fixture

from exchange.bybit.events import (
    BookDelta,
    BookSnapshot,
    ExecutionReport,
    OrderUpdate,
    PublicTrade,
    TickerUpdate,
)
from exchange.bybit.private_session import PrivateSession
from exchange.bybit.public_session import PublicSession
from exchange.bybit.rest import BybitRestClient
from exchange.config import Credentials, ExchangeConfig
from tests.support import eventually_async

CREDS = Credentials(api_key="k", api_secret="s")  # type: ignore[arg-type]


def fast_config(
    rest: str, public: str = "ws://unused", private: str = "ws://unused", **kw: Any
) -> ExchangeConfig:
    values: dict[str, Any] = {
        "rest_url": rest,
        "ws_public_url": public,
        "ws_private_url": private,
        "retry_backoff_min_s": 0.001,
        "retry_backoff_max_s": 0.01,
        "reconnect_backoff_min_s": 0.01,
        "reconnect_backoff_max_s": 0.05,
        "ping_interval_s": 0.1,
        "silence_timeout_s": 0.4,
        "pong_timeout_s": 0.3,
        "connect_timeout_s": 2.0,
        "rest_fallback_interval_s": 0.05,
        "resync_min_interval_s": 0.0,
        "backfill_margin_ms": 0,
    }
    values.update(kw)
    return ExchangeConfig(**values)


def book_msg(
    symbol: str, kind: str, u: int, bids: list[list[str]], asks: list[list[str]], seq: int = 0
) -> dict[str, Any]:
    return {
        "topic": f"orderbook.50.{symbol}",
        "type": kind,
        "ts": 1000 + u,
        "data": {"s": symbol, "b": bids, "a": asks, "u": u, "seq": seq or u},
        "cts": 999,
    }


def rest_book(symbol: str, u: int) -> Any:
    return ok({"s": symbol, "b": [["90", "1"]], "a": [["91", "1"]], "ts": 5, "u": u, "seq": u, "cts": 4})


def ack_pongs(index: int, msg: dict[str, Any]) -> list[Any]:
    if msg.get("op") == "ping":
        return [
            {
                "success": True,
                "ret_msg": "pong",
                "conn_id": "c",
                "req_id": msg.get("req_id", ""),
                "op": "ping",
            }
        ]
    if msg.get("op") in ("subscribe", "unsubscribe"):
        return [
            {"success": True, "ret_msg": "", "conn_id": "c", "req_id": msg.get("req_id", ""), "op": msg["op"]}
        ]
    return []


async def test_public_session_subscribes_in_batches_and_publishes_typed_events() -> None:
    symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    ws, rest, sink = FakeWs(), FakeRest(), ListSink()
    ws.on_message = ack_pongs
    async with running_ws(ws), running_rest(rest), trio.open_nursery() as nursery:
        client = BybitRestClient(fast_config(rest.url))
        session = PublicSession(fast_config(rest.url, ws.url), symbols, sink, client)
        await nursery.start(session.run)
        await session.wait_ready()
        await eventually_async(lambda: len(ws.subscribed_args()) == 12)
        batches = [m["args"] for m in ws.received[0] if m.get("op") == "subscribe"]
        assert all(len(b) <= 10 for b in batches)
        assert len(batches) == 2
        assert set(ws.subscribed_args()) == {
            f"{t}{s}" for s in symbols for t in ("kline.5.", "orderbook.50.", "publicTrade.", "tickers.")
        }
        await ws.push(book_msg("BTCUSDT", "snapshot", 10, [["100", "1"]], [["101", "1"]]))
        await ws.push(book_msg("BTCUSDT", "delta", 11, [["100.5", "2"]], []))
        await ws.push(book_msg("BTCUSDT", "delta", 11, [["100.5", "9"]], []))  # duplicate
        trade = shared_fixture("ws_public/publicTrade_BTCUSDT.json")
        await ws.push(trade)
        await ws.push(trade)  # duplicate trade id
        await ws.push(shared_fixture("ws_public/tickers_BTCUSDT_linear_snapshot_docs_2023.json"))
        await ws.push(
            {
                "topic": "tickers.BTCUSDT",
                "type": "delta",
                "ts": 1673272861687,
                "data": {"symbol": "BTCUSDT", "markPrice": "17300.00"},
            }
        )
        await ws.push("not json at all")
        await ws.push({"topic": "orderbook.50.BTCUSDT", "type": "delta", "ts": 1, "data": {"s": "BTCUSDT"}})
        await ws.push(book_msg("BTCUSDT", "delta", 12, [], [["100.9", "1"]]))
        await eventually_async(lambda: session.books["BTCUSDT"].u == 12)
        book = session.books["BTCUSDT"]
        assert str(book.best_bid[0]) == "100.5"
        assert str(book.best_ask[0]) == "100.9"
        assert [type(e) for e in sink.events if isinstance(e, (BookSnapshot, BookDelta))] == [
            BookSnapshot,
            BookDelta,
            BookDelta,
        ]
        assert len(sink.of(PublicTrade)) == 1
        tickers = sink.of(TickerUpdate)
        assert str(tickers[-1].mark) == "17300.00"
        assert str(tickers[-1].funding_rate) == "-0.000212"
        assert session.stats.duplicates == 2
        assert session.stats.parse_errors == 2
        nursery.cancel_scope.cancel()


async def test_book_gap_triggers_one_rest_resync() -> None:
    ws, rest, sink = FakeWs(), FakeRest(), ListSink()
    ws.on_message = ack_pongs
    rest.route("GET", "/v5/market/orderbook", lambda r: rest_book(r.query["symbol"], 20))
    async with running_ws(ws), running_rest(rest), trio.open_nursery() as nursery:
        session = PublicSession(
            fast_config(rest.url, ws.url), ["BTCUSDT"], sink, BybitRestClient(fast_config(rest.url))
        )
        await nursery.start(session.run)
        await session.wait_ready()
        await ws.push(book_msg("BTCUSDT", "snapshot", 10, [["100", "1"]], [["101", "1"]]))
        await ws.push(book_msg("BTCUSDT", "delta", 13, [["100", "2"]], []))  # 11 and 12 missing
        await ws.push(book_msg("BTCUSDT", "delta", 14, [["100", "3"]], []))
        await eventually_async(lambda: session.stats.resyncs == 1)
        assert session.books["BTCUSDT"].u == 20
        assert str(session.books["BTCUSDT"].best_bid[0]) == "90"
        assert len(rest.hits("/v5/market/orderbook")) == 1
        assert rest.hits("/v5/market/orderbook")[0].query == {
            "category": "linear",
            "symbol": "BTCUSDT",
            "limit": "50",
        }
        await eventually_async(lambda: any(m.get("op") == "unsubscribe" for m in ws.received[0]))
        await ws.push(book_msg("BTCUSDT", "delta", 21, [["90.5", "1"]], []))
        await eventually_async(lambda: session.books["BTCUSDT"].u == 21)
        nursery.cancel_scope.cancel()


async def test_dropped_connection_reconnects_and_resubscribes() -> None:
    ws, rest, sink = FakeWs(), FakeRest(), ListSink()
    ws.on_message = ack_pongs
    async with running_ws(ws), running_rest(rest), trio.open_nursery() as nursery:
        session = PublicSession(
            fast_config(rest.url, ws.url), ["BTCUSDT"], sink, BybitRestClient(fast_config(rest.url))
        )
        await nursery.start(session.run)
        await session.wait_ready()
        await ws.push(book_msg("BTCUSDT", "snapshot", 10, [["100", "1"]], [["101", "1"]]))
        await eventually_async(lambda: session.books["BTCUSDT"].synced)
        await ws.cut()
        await eventually_async(lambda: len(ws.connections) == 2 and len(ws.subscribed_args(1)) == 4)
        assert session.stats.reconnects == 1
        assert not session.books["BTCUSDT"].synced  # waits for the fresh snapshot
        await ws.push(book_msg("BTCUSDT", "delta", 50, [], []), connection=1)  # before snapshot: no resync
        await ws.push(book_msg("BTCUSDT", "snapshot", 60, [["100", "1"]], [["101", "1"]]), connection=1)
        await eventually_async(lambda: session.books["BTCUSDT"].u == 60)
        assert session.stats.resyncs == 0
        assert not rest.requests
        nursery.cancel_scope.cancel()


async def test_wait_subscribed_returns_once_every_book_is_synced_and_again_after_a_reconnect() -> None:
    ws, rest, sink = FakeWs(), FakeRest(), ListSink()
    ws.on_message = ack_pongs
    async with running_ws(ws), running_rest(rest), trio.open_nursery() as nursery:
        session = PublicSession(
            fast_config(rest.url, ws.url),
            ["BTCUSDT", "ETHUSDT"],
            sink,
            BybitRestClient(fast_config(rest.url)),
        )
        subscribed = trio.Event()

        async def waiter() -> None:
            await session.wait_subscribed()
            subscribed.set()

        await nursery.start(session.run)
        nursery.start_soon(waiter)
        await session.wait_ready()
        await ws.push(book_msg("BTCUSDT", "snapshot", 10, [["100", "1"]], [["101", "1"]]))
        await eventually_async(lambda: session.books["BTCUSDT"].synced)
        await trio.testing.wait_all_tasks_blocked()
        assert not subscribed.is_set()  # ETHUSDT's book is not synced yet
        assert not session.subscribed
        await ws.push(book_msg("ETHUSDT", "snapshot", 5, [["10", "1"]], [["11", "1"]]))
        with trio.fail_after(5):
            await subscribed.wait()
        assert session.subscribed
        assert all(book.synced for book in session.books.values())

        await ws.cut()
        await eventually_async(lambda: len(ws.connections) == 2 and len(ws.subscribed_args(1)) == 8)
        assert not session.subscribed  # a reconnect starts the wait over
        await ws.push(book_msg("BTCUSDT", "snapshot", 60, [["100", "1"]], [["101", "1"]]), connection=1)
        await ws.push(book_msg("ETHUSDT", "snapshot", 61, [["10", "1"]], [["11", "1"]]), connection=1)
        with trio.fail_after(5):
            await session.wait_subscribed()
        nursery.cancel_scope.cancel()


async def test_half_open_socket_is_detected_and_rest_fallback_polls() -> None:
    ws, rest, sink = FakeWs(), FakeRest(), ListSink()
    ws.on_message = ack_pongs
    rest.route("GET", "/v5/market/orderbook", lambda r: rest_book(r.query["symbol"], 77))
    async with running_ws(ws), running_rest(rest), trio.open_nursery() as nursery:
        session = PublicSession(
            fast_config(rest.url, ws.url), ["BTCUSDT"], sink, BybitRestClient(fast_config(rest.url))
        )
        await nursery.start(session.run)
        await session.wait_ready()
        ws.mute = True  # keep the socket open, send nothing (not even pongs)
        await eventually_async(
            lambda: session.stats.silences >= 1 and session.stats.rest_fallbacks >= 1, timeout=5
        )
        assert session.books["BTCUSDT"].u == 77
        assert any(isinstance(e, BookSnapshot) and e.u == 77 for e in sink.events)
        ws.mute = False
        await eventually_async(lambda: session.stats.connected and len(ws.connections) >= 2, timeout=5)
        nursery.cancel_scope.cancel()


async def test_private_session_authenticates_subscribes_and_backfills_after_reconnect() -> None:
    ws, rest, sink = FakeWs(), FakeRest(secret="s"), ListSink()
    execution = shared_fixture("ws_private/execution_push.json")
    missed = dict(execution["data"][0], execId="missed-1", execTime="1746270400999")

    def venue(index: int, msg: dict[str, Any]) -> list[Any]:
        if msg.get("op") == "auth":
            from exchange.bybit.signing import ws_auth_signature

            key, expires, sig = msg["args"]
            good = key == "k" and sig == ws_auth_signature("s", expires)
            return [
                {"success": good, "ret_msg": "" if good else "Params Error", "op": "auth", "conn_id": "c"}
            ]
        if msg.get("op") == "ping":
            return [{"req_id": msg["req_id"], "op": "pong", "args": ["1"], "conn_id": "c"}]
        return []

    ws.on_message = venue
    rest.route(
        "GET",
        "/v5/execution/list",
        lambda r: ok({"list": [execution["data"][0], missed], "nextPageCursor": ""}),
    )
    async with running_ws(ws), running_rest(rest), trio.open_nursery() as nursery:
        cfg = fast_config(rest.url, private=ws.url)
        # on_resumed: (exchange ms, executions published by then); after the catch-up, not on the 1st connect
        resumed: list[tuple[int, int]] = []
        session = PrivateSession(
            cfg,
            CREDS,
            sink,
            BybitRestClient(cfg, CREDS),
            on_resumed=lambda at_ms: resumed.append((at_ms, len(sink.of(ExecutionReport)))),
        )
        await nursery.start(session.run)
        await session.wait_ready()
        assert ws.received[0][0]["op"] == "auth"
        await eventually_async(lambda: ws.subscribed_args(0) == ["order", "execution", "position", "wallet"])
        await ws.push(execution)
        await ws.push(shared_fixture("ws_private/order_push.json"))
        await eventually_async(lambda: len(sink.of(OrderUpdate)) == 1)
        assert resumed == []  # the first connection is not a resume
        await ws.cut()
        await eventually_async(lambda: session.stats.backfilled == 1)
        assert [e.exec_id for e in sink.of(ExecutionReport)] == [
            "0ab1bdf7-4219-438b-b30a-32ec863018f7",
            "missed-1",
        ]
        query = rest.hits("/v5/execution/list")[0].query
        assert int(query["startTime"]) <= 1746270400353
        assert session.stats.duplicates == 1
        await eventually_async(lambda: len(resumed) == 1)
        assert resumed[0][1] == 2  # the missed execution was published before the resume
        assert resumed[0][0] > 0
        assert session.resumes == 1
        nursery.cancel_scope.cancel()


async def test_private_session_with_wrong_secret_never_becomes_ready() -> None:
    ws, rest, sink = FakeWs(), FakeRest(), ListSink()
    ws.on_message = lambda i, m: (
        [{"success": False, "ret_msg": "Params Error", "op": "auth", "conn_id": "c"}]
        if m.get("op") == "auth"
        else []
    )
    async with running_ws(ws), running_rest(rest), trio.open_nursery() as nursery:
        cfg = fast_config(rest.url, private=ws.url)
        session = PrivateSession(cfg, CREDS, sink, BybitRestClient(cfg, CREDS))
        await nursery.start(session.run)
        await eventually_async(lambda: len(ws.connections) >= 2)
        assert not session.stats.connected
        assert all(not ws.subscribed_args(i) for i in range(len(ws.connections)))
        nursery.cancel_scope.cancel()
