"""Benchmark: ingest of a Bybit ``orderbook.50`` (+ ``publicTrade``) feed — our adapter vs ccxt.pro.

A feed process serves a WebSocket on loopback and, once a client subscribes, writes one L50 snapshot, then
deltas (with a trade push every 5th message) and one closing ticker, as fast as the socket takes them:
frames are pre-encoded, so the feed is never the bottleneck. Four consumers read the same stream, ROUNDS
times each, interleaved (A B C D, B C D A, …) so that load from other processes hits them all alike:

- ``adapter``: ``exchange.PublicSession`` as the engine runs it — its reader task driving wsproto inline
  (``exchange.bybit.ws_transport``: no extra task or channel hop per message), orjson parse, the book fast
  path with u/seq checks into the L50 book, a typed ``BookDelta`` / ``PublicTrade`` published to a sink for
  every update, trade-id dedupe;
- ``adapter_book_only``: the same with ``publish_book_deltas=False`` (book kept, no delta events);
- ``ccxt``: ccxt.pro's Bybit ``watch_order_book`` (markets loaded offline, linear WS URL pointed at the feed);
- ``bare``: a bare trio-websocket + orjson receive loop with no book: the floor a trio-websocket user sees.

Every timer starts once the snapshot is in and stops at the last message it waits for. Prints one JSON object
as the last line: ``msgs_per_s`` (median over rounds, adapter), ``ccxt_msgs_per_s``, ``ratio_vs_ccxt`` (ratio
of the medians) and ``paired_ratio_median``/``_min`` (per interleaved round), ``cpu_share`` (consumer CPU s /
wall s in the adapter rounds: near 1.0 means the consumer, not the feed or other load, is the limit),
``bare_msgs_per_s``, ``book_only_msgs_per_s``, p50/p99 of per-1000-event batch times of the adapter,
``cpu_pct_at_10k`` (D-06: CPU of the adapter's ingest path, in % of one core, while a second feed paces the
same kind of stream at 10,000 msg/s for ``BENCH_PACED_SECONDS``; median over 3 runs; target < 30),
``offline_msgs_per_s`` (decode + parse + book apply alone, no socket), ``wsproto_offline_msgs_per_s``
(wsproto cutting the same frames out of receive-buffer-sized chunks, no socket, no parse) and the 1-minute
load average.

Run: ``.venv/bin/python bench/ws_ingest.py`` (needs the ``bench`` extra: ccxt). ``BENCH_MESSAGES`` (20000),
``BENCH_ROUNDS`` (7), ``BENCH_RECEIVE_BUFFER`` (65536 bytes per socket read, adapter and bare).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import multiprocessing as mp
import os
import random
import socket
import statistics
import struct
import sys
import threading
import time
from decimal import Decimal
from typing import Any

import orjson

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SYMBOL = "BTCUSDT"
N_MESSAGES = int(os.environ.get("BENCH_MESSAGES", "20000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
RECEIVE_BUFFER = int(os.environ.get("BENCH_RECEIVE_BUFFER", "65536"))
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PACED_RATE = int(os.environ.get("BENCH_PACED_RATE", "10000"))
PACED_SECONDS = float(os.environ.get("BENCH_PACED_SECONDS", "3"))
PACED_RUNS = 3
PACED_TICK_S = 0.005


# --------------------------------------------------------------------------- feed
def build_messages(n: int, seed: int = 7) -> tuple[list[bytes], int, int]:
    """Return ``n`` encoded messages (snapshot, deltas, trades, one closing ticker), the last delta's u/ts."""
    rng = random.Random(seed)
    tick = Decimal("0.1")
    mid = 300000  # in ticks: 30000.0
    bids = {mid - i: rng.randint(1, 5000) for i in range(1, 51)}
    asks = {mid + i: rng.randint(1, 5000) for i in range(0, 50)}

    def px(t: int) -> str:
        return str(t * tick)

    def qty(q: int) -> str:
        return f"{q / 1000:.3f}"

    ts, u, seq = 1_700_000_000_000, 1000, 50_000_000
    out = [
        orjson.dumps(
            {
                "topic": f"orderbook.50.{SYMBOL}",
                "type": "snapshot",
                "ts": ts,
                "data": {
                    "s": SYMBOL,
                    "b": [[px(p), qty(q)] for p, q in sorted(bids.items(), reverse=True)],
                    "a": [[px(p), qty(q)] for p, q in sorted(asks.items())],
                    "u": u,
                    "seq": seq,
                },
                "cts": ts - 2,
            }
        )
    ]
    trade_no = 0
    while len(out) < n - 1:
        ts += 1
        if len(out) % 5 == 0 and len(out) < n - 2:
            trades = []
            for _ in range(rng.randint(1, 3)):
                trade_no += 1
                trades.append(
                    {
                        "T": ts,
                        "s": SYMBOL,
                        "S": rng.choice(["Buy", "Sell"]),
                        "v": qty(rng.randint(1, 900)),
                        "p": px(mid + rng.randint(-2, 2)),
                        "L": "PlusTick",
                        "i": f"t-{trade_no}",
                        "BT": False,
                        "seq": seq,
                    }
                )
            out.append(
                orjson.dumps({"topic": f"publicTrade.{SYMBOL}", "type": "snapshot", "ts": ts, "data": trades})
            )
            continue
        u += 1
        seq += rng.randint(1, 50)
        b_changes, a_changes = [], []
        for side, changes, sign in ((bids, b_changes, -1), (asks, a_changes, 1)):
            for _ in range(rng.randint(1, 6)):
                level = mid + sign * rng.randint(1 if sign < 0 else 0, 55)
                if level in side and rng.random() < 0.3:
                    del side[level]
                    changes.append([px(level), "0"])
                else:
                    side[level] = rng.randint(1, 5000)
                    changes.append([px(level), qty(side[level])])
        out.append(
            orjson.dumps(
                {
                    "topic": f"orderbook.50.{SYMBOL}",
                    "type": "delta",
                    "ts": ts,
                    "data": {"s": SYMBOL, "b": b_changes, "a": a_changes, "u": u, "seq": seq},
                    "cts": ts - 2,
                }
            )
        )
    if b'"type":"delta"' not in out[-1]:
        raise RuntimeError("the feed must end with a delta before its closing ticker")
    ticker = {"symbol": SYMBOL, "lastPrice": px(mid), "markPrice": px(mid), "bid1Price": px(mid - 1)}
    out.append(orjson.dumps({"topic": f"tickers.{SYMBOL}", "type": "snapshot", "ts": ts + 1, "data": ticker}))
    return out, u, ts


def encode_frames(messages: list[bytes]) -> bytes:
    """Return unmasked server text frames for ``messages``, concatenated."""
    parts = []
    for m in messages:
        n = len(m)
        if n < 126:
            head = struct.pack("!BB", 0x81, n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x81, 126, n)
        else:
            head = struct.pack("!BBQ", 0x81, 127, n)
        parts.append(head + m)
    return b"".join(parts)


def _handshake(conn: socket.socket) -> bool:
    """Answer the WebSocket upgrade and read the client's subscribe frame; False when the client left."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return False
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    key = next(
        line.split(b":", 1)[1].strip()
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"sec-websocket-key")
    )
    accept = base64.b64encode(hashlib.sha1(key + GUID.encode()).digest())
    conn.sendall(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )
    if not rest:
        conn.recv(4096)
    return True


def _serve_paced(conn: socket.socket, frames: list[bytes]) -> None:
    """Send ``frames`` at ``PACED_RATE`` msg/s in small bursts every ``PACED_TICK_S``."""
    try:
        if not _handshake(conn):
            return
        per_tick = max(1, int(PACED_RATE * PACED_TICK_S))
        start = time.perf_counter()
        for k, i in enumerate(range(0, len(frames), per_tick)):
            conn.sendall(b"".join(frames[i : i + per_tick]))
            delay = start + (k + 1) * PACED_TICK_S - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        while conn.recv(65536):
            pass
    except OSError:
        pass
    finally:
        conn.close()


def paced_feed_process(port_queue: Any) -> None:
    """Serve a paced stream (``PACED_RATE`` msg/s for ``PACED_SECONDS``) to every client that connects."""
    messages, _, _ = build_messages(int(PACED_RATE * PACED_SECONDS))
    frames = [encode_frames([m]) for m in messages]
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    port_queue.put(srv.getsockname()[1])
    while True:
        conn, _ = srv.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=_serve_paced, args=(conn, frames), daemon=True).start()


def _serve_connection(conn: socket.socket, blob: bytes) -> None:
    try:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        key = next(
            line.split(b":", 1)[1].strip()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key")
        )
        accept = base64.b64encode(hashlib.sha1(key + GUID.encode()).digest())
        conn.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        if not rest:
            conn.recv(4096)  # the client's first frame: its subscribe request
        conn.sendall(blob)
        while conn.recv(65536):
            pass
    except OSError:
        pass
    finally:
        conn.close()


def feed_process(port_queue: Any) -> None:
    """Serve the pre-encoded stream to every client that connects."""
    messages, _, _ = build_messages(N_MESSAGES)
    blob = encode_frames(messages)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    port_queue.put(srv.getsockname()[1])
    while True:
        conn, _ = srv.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=_serve_connection, args=(conn, blob), daemon=True).start()


# ----------------------------------------------------------------- consumer (a)
def run_adapter(port: int, last_u: int, *, publish_deltas: bool = True) -> dict[str, Any]:
    """Return wall s, CPU s and per-1000-event batch times for the ``PublicSession`` path.

    The clock starts when the snapshot is published and stops when the closing ticker is, so the figure
    covers the same messages as ccxt's (its first ``watch_order_book`` returns after the snapshot).
    """
    import trio

    from exchange import BookSnapshot, BybitRestClient, ExchangeConfig, PublicSession, TickerUpdate

    class Sink:
        def __init__(self) -> None:
            self.done = trio.Event()
            self.count = 0
            self.start = self.start_cpu = 0.0
            self.marks: list[float] = []

        def publish(self, event: Any) -> None:
            self.count += 1
            if not self.count % 1000:
                self.marks.append(time.perf_counter())
            kind = type(event)
            if kind is BookSnapshot:
                self.start, self.start_cpu = time.perf_counter(), time.process_time()
            elif kind is TickerUpdate:
                self.done.set()

    result: dict[str, Any] = {}

    async def main() -> None:
        cfg = ExchangeConfig(
            rest_url="http://127.0.0.1:9",
            ws_public_url=f"ws://127.0.0.1:{port}/v5/public/linear",
            silence_timeout_s=30,
            ping_interval_s=20,
            ws_receive_buffer_bytes=RECEIVE_BUFFER,
        )
        sink = Sink()
        async with BybitRestClient(cfg) as rest, trio.open_nursery() as nursery:
            session = PublicSession(cfg, [SYMBOL], sink, rest, publish_book_deltas=publish_deltas)
            await nursery.start(session.run)
            await sink.done.wait()
            result["wall"] = time.perf_counter() - sink.start
            result["cpu"] = time.process_time() - sink.start_cpu
            result["batches"] = [b - a for a, b in itertools.pairwise(sink.marks)]
            stats = session.stats
            if stats.parse_errors or stats.gaps or session.books[SYMBOL].u != last_u:
                raise RuntimeError(f"expected the adapter to apply the feed cleanly, got {stats}")
            nursery.cancel_scope.cancel()

    trio.run(main)
    return result


def run_bare(port: int) -> dict[str, Any]:
    """Return wall and CPU s of a bare trio-websocket + orjson receive loop (no book): the floor."""
    import trio
    import trio_websocket

    result: dict[str, Any] = {}

    async def main() -> None:
        try:
            async with trio_websocket.open_websocket_url(
                f"ws://127.0.0.1:{port}/v5/public/linear",
                disconnect_timeout=0.05,
                receive_buffer_size=RECEIVE_BUFFER,
            ) as ws:
                await ws.send_message('{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}')
                orjson.loads(await ws.get_message())
                start, start_cpu = time.perf_counter(), time.process_time()
                for _ in range(N_MESSAGES - 1):
                    orjson.loads(await ws.get_message())
                result["wall"] = time.perf_counter() - start
                result["cpu"] = time.process_time() - start_cpu
        except trio_websocket.DisconnectionTimeout:
            pass  # the feed never sends a close frame

    trio.run(main)
    return result


# ----------------------------------------------------------------- consumer (b)
def run_ccxt(port: int, last_ts: int) -> dict[str, Any]:
    """Return wall and CPU s for ccxt.pro's Bybit ``watch_order_book`` to apply the feed past the snapshot."""
    import asyncio

    import ccxt.pro as ccxtpro

    async def main() -> dict[str, Any]:
        ex = ccxtpro.bybit({"newUpdates": False})
        ex.urls["api"]["ws"]["public"]["linear"] = f"ws://127.0.0.1:{port}/v5/public/linear"
        ex.set_markets(
            [
                {
                    "id": SYMBOL,
                    "symbol": "BTC/USDT:USDT",
                    "base": "BTC",
                    "quote": "USDT",
                    "settle": "USDT",
                    "baseId": "BTC",
                    "quoteId": "USDT",
                    "settleId": "USDT",
                    "type": "swap",
                    "spot": False,
                    "margin": False,
                    "swap": True,
                    "future": False,
                    "option": False,
                    "active": True,
                    "contract": True,
                    "linear": True,
                    "inverse": False,
                    "contractSize": 1.0,
                    "expiry": None,
                    "expiryDatetime": None,
                    "strike": None,
                    "optionType": None,
                    "taker": 0.00055,
                    "maker": 0.0002,
                    "precision": {"amount": 0.001, "price": 0.1},
                    "limits": {
                        "amount": {"min": 0.001, "max": 1190.0},
                        "price": {"min": 0.1, "max": 1999999.8},
                        "cost": {"min": 5, "max": None},
                        "leverage": {"min": 1, "max": 100},
                    },
                    "info": {"category": "linear"},
                }
            ]
        )
        try:
            ob = await ex.watch_order_book("BTC/USDT:USDT", 50)
            start, start_cpu = time.perf_counter(), time.process_time()
            while ob["timestamp"] != last_ts:
                ob = await ex.watch_order_book("BTC/USDT:USDT", 50)
            return {"wall": time.perf_counter() - start, "cpu": time.process_time() - start_cpu}
        finally:
            await ex.close()

    return asyncio.run(main())


# ------------------------------------------------------------------- offline
def offline_rate(messages: list[bytes]) -> float:
    """Return the median messages/s of decode + parse + book apply + publish alone (no socket)."""
    import trio

    from exchange import BybitRestClient, ExchangeConfig, PublicSession

    class Null:
        def publish(self, event: Any) -> None:
            return None

    out: dict[str, float] = {}

    async def main() -> None:
        cfg = ExchangeConfig()
        async with BybitRestClient(cfg) as rest:
            rates = []
            for _ in range(5):
                session = PublicSession(cfg, [SYMBOL], Null(), rest)
                session._awaiting_snapshot = {SYMBOL}
                handle = session._on_message
                t0 = time.perf_counter()
                for raw in messages:  # bytes, as the socket reader hands them over
                    handle(raw)
                rates.append(len(messages) / (time.perf_counter() - t0))
            out["rate"] = statistics.median(rates)

    trio.run(main)
    return out["rate"]


def wsproto_offline_rate(messages: list[bytes]) -> float:
    """Return the median messages/s of wsproto alone: frames fed in receive-buffer chunks, events iterated."""
    from wsproto.connection import Connection, ConnectionType
    from wsproto.events import TextMessage

    blob = encode_frames(messages)
    chunks = [blob[i : i + RECEIVE_BUFFER] for i in range(0, len(blob), RECEIVE_BUFFER)]
    rates = []
    for _ in range(7):
        conn = Connection(ConnectionType.CLIENT)
        count = 0
        t0 = time.perf_counter()
        for chunk in chunks:
            conn.receive_data(chunk)
            for event in conn.events():
                if type(event) is TextMessage and event.message_finished:
                    count += 1
        rates.append(count / (time.perf_counter() - t0))
        if count != len(messages):
            raise RuntimeError(f"expected {len(messages)} messages from wsproto, got {count}")
    return statistics.median(rates)


def paced_cpu_pct(ctx: Any) -> float:
    """Return the adapter's CPU (% of one core, median of runs) while fed at ``PACED_RATE`` msg/s."""
    _, last_u, _ = build_messages(int(PACED_RATE * PACED_SECONDS))
    queue = ctx.Queue()
    feed = ctx.Process(target=paced_feed_process, args=(queue,), daemon=True)
    feed.start()
    try:
        port = queue.get(timeout=30)
        shares = []
        for _ in range(PACED_RUNS):
            out = run_adapter(port, last_u)
            shares.append(out["cpu"] / out["wall"] * 100)
    finally:
        feed.terminate()
    print(f"paced {PACED_RATE} msg/s cpu %: {[round(x, 1) for x in shares]}")
    return statistics.median(shares)


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


def main() -> None:
    messages, last_u, last_ts = build_messages(N_MESSAGES)
    n = len(messages)
    # what each timer covers: adapter snapshot→ticker (n-1 messages after the snapshot), ccxt snapshot→last
    # delta (n-2), bare first→last (n-1)
    runs: dict[str, Any] = {
        "adapter": (lambda port: run_adapter(port, last_u), n - 1),
        "adapter_book_only": (lambda port: run_adapter(port, last_u, publish_deltas=False), n - 1),
        "ccxt": (lambda port: run_ccxt(port, last_ts), n - 2),
        "bare": (run_bare, n - 1),
    }
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    feed = ctx.Process(target=feed_process, args=(queue,), daemon=True)
    feed.start()
    port = queue.get(timeout=30)
    rates: dict[str, list[float]] = {name: [] for name in runs}
    shares: dict[str, list[float]] = {name: [] for name in runs}
    batches: list[float] = []
    load_before = os.getloadavg()[0]
    try:
        for fn, _ in runs.values():  # warm-up: imports, caches, the feed's first connection
            fn(port)
        names = list(runs)
        for r in range(ROUNDS):  # interleaved, and the order rotates so no consumer always goes first
            for name in names[r % len(names) :] + names[: r % len(names)]:
                fn, count = runs[name]
                out = fn(port)
                rates[name].append(count / out["wall"])
                shares[name].append(out["cpu"] / out["wall"])
                batches.extend(out.get("batches", ()) if name == "adapter" else ())
    finally:
        feed.terminate()
    cpu_pct_at_10k = paced_cpu_pct(ctx)
    offline = offline_rate(messages)
    wsproto_offline = wsproto_offline_rate(messages)
    med = {name: statistics.median(values) for name, values in rates.items()}
    paired = [a / c for a, c in zip(rates["adapter"], rates["ccxt"], strict=True)]
    for name, values in rates.items():
        print(f"{name} rounds msg/s: {[round(x) for x in values]}")
    print(
        json.dumps(
            {
                "bench": "ws_ingest",
                "messages_per_round": n,
                "rounds": ROUNDS,
                "msgs_per_s": round(med["adapter"]),
                "ccxt_msgs_per_s": round(med["ccxt"]),
                "ratio_vs_ccxt": round(med["adapter"] / med["ccxt"], 3),
                "paired_ratio_median": round(statistics.median(paired), 3),
                "paired_ratio_min": round(min(paired), 3),
                "cpu_share": round(statistics.median(shares["adapter"]), 3),
                "ccxt_cpu_share": round(statistics.median(shares["ccxt"]), 3),
                "bare_msgs_per_s": round(med["bare"]),
                "book_only_msgs_per_s": round(med["adapter_book_only"]),
                "batch_1000_ms_p50": round(statistics.median(batches) * 1000, 3) if batches else None,
                "batch_1000_ms_p99": round(_p99(batches) * 1000, 3),
                "cpu_pct_at_10k": round(cpu_pct_at_10k, 1),
                "paced_msgs_per_s": PACED_RATE,
                "offline_msgs_per_s": round(offline),
                "wsproto_offline_msgs_per_s": round(wsproto_offline),
                "loadavg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                "rounds_msgs_per_s": {name: [round(x) for x in values] for name, values in rates.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
