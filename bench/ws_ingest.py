"""Benchmark: ingest of a Bybit ``orderbook.50`` (+ ``publicTrade``) feed — our adapter vs ccxt.pro.

A feed process serves a WebSocket on loopback and, once a client subscribes, writes one L50 snapshot and
then deltas (with a trade push every 5th message) as fast as the socket takes them: frames are pre-encoded,
so the feed is never the bottleneck. Two consumers read the same stream, alternately, ROUNDS times each:

(a) the adapter path: ``exchange.PublicSession`` — trio-websocket receive, orjson parse, typed events,
    ``OrderBookL50`` apply with u/seq checks, duplicate filters, publish to a sink;
(b) ccxt.pro's Bybit ``watch_order_book`` (markets loaded offline, linear WS URL pointed at the feed).

Prints one JSON object as the last line: ``msgs_per_s`` (median over rounds, adapter), ``ccxt_msgs_per_s``,
``ratio_vs_ccxt``, ``cpu_share`` (consumer CPU seconds / wall seconds during the adapter rounds: 1.0 means the
consumer, not the feed, is the limit), per-round figures, p99 of per-1000-message batch times of the adapter,
and ``offline_msgs_per_s`` (parse + book apply alone, no socket) to show where the time goes.

Run: ``.venv/bin/python bench/ws_ingest.py`` (needs ``pip install ccxt``; the ``bench`` extra).
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
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


# --------------------------------------------------------------------------- feed
def build_messages(n: int, seed: int = 7) -> tuple[list[bytes], int, int]:
    """Return encoded messages (snapshot, deltas, trades), the last delta's ``u`` and ``ts``."""
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
    while len(out) < n:
        ts += 1
        if len(out) % 5 == 0 and len(out) < n - 1:
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
        raise RuntimeError("the feed must end with a delta")
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
def run_adapter(port: int, last_u: int) -> tuple[float, float, list[float]]:
    """Return (elapsed wall s, CPU s, per-1000-message batch times) for the adapter path."""
    import trio

    from exchange import BookDelta, BybitRestClient, ExchangeConfig, PublicSession

    class Sink:
        def __init__(self) -> None:
            self.done = trio.Event()
            self.count = 0

            self.marks: list[float] = []

        def publish(self, event: Any) -> None:
            self.count += 1
            if not self.count % 1000:
                self.marks.append(time.perf_counter())
            if type(event) is BookDelta and event.u == last_u:
                self.done.set()

    result: dict[str, Any] = {}

    async def main() -> None:
        cfg = ExchangeConfig(
            rest_url="http://127.0.0.1:9",
            ws_public_url=f"ws://127.0.0.1:{port}/v5/public/linear",
            silence_timeout_s=30,
            ping_interval_s=20,
        )
        sink = Sink()
        async with BybitRestClient(cfg) as rest, trio.open_nursery() as nursery:
            session = PublicSession(cfg, [SYMBOL], sink, rest)
            await nursery.start(session.run)
            await session.wait_ready()
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            await sink.done.wait()
            result["wall"] = time.perf_counter() - start_wall
            result["cpu"] = time.process_time() - start_cpu
            marks = sink.marks
            result["batches"] = [b - a for a, b in itertools.pairwise(marks)]
            nursery.cancel_scope.cancel()

    trio.run(main)
    return result["wall"], result["cpu"], result["batches"]


# ----------------------------------------------------------------- consumer (b)
def run_ccxt(port: int, last_ts: int) -> float:
    """Return elapsed wall seconds for ccxt.pro's bybit ``watch_order_book`` to apply the whole stream."""
    import asyncio

    import ccxt.pro as ccxtpro

    async def main() -> float:
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
            start = time.perf_counter()
            while ob["timestamp"] != last_ts:
                ob = await ex.watch_order_book("BTC/USDT:USDT", 50)
            return time.perf_counter() - start
        finally:
            await ex.close()

    return asyncio.run(main())


# ------------------------------------------------------------------- offline
def offline_rate(messages: list[bytes]) -> float:
    """Return messages/s for decode + parse + book apply alone (no socket), via the session's handler."""
    import trio

    from exchange import BybitRestClient, ExchangeConfig, PublicSession

    class Null:
        def publish(self, event: Any) -> None:
            return None

    out: dict[str, float] = {}

    async def main() -> None:
        cfg = ExchangeConfig()
        async with BybitRestClient(cfg) as rest:
            texts = [m.decode() for m in messages]
            best = float("inf")
            for _ in range(3):
                session = PublicSession(cfg, [SYMBOL], Null(), rest)
                session._awaiting_snapshot = {SYMBOL}
                handle = session._on_message
                t0 = time.perf_counter()
                for t in texts:
                    handle(t)
                best = min(best, time.perf_counter() - t0)
            out["rate"] = len(texts) / best

    trio.run(main)
    return out["rate"]


def main() -> None:
    messages, last_u, last_ts = build_messages(N_MESSAGES)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    feed = ctx.Process(target=feed_process, args=(queue,), daemon=True)
    feed.start()
    port = queue.get(timeout=30)
    # the first message (snapshot) arrives before ccxt's timer starts: count what each timer covered
    ours, theirs, cpu_shares, batches = [], [], [], []
    try:
        run_adapter(port, last_u)  # warm-up (imports, JIT-free caches)
        run_ccxt(port, last_ts)
        for _ in range(ROUNDS):
            wall, cpu, marks = run_adapter(port, last_u)
            ours.append(len(messages) / wall)
            cpu_shares.append(cpu / wall)
            batches.extend(marks)
            theirs.append((len(messages) - 1) / run_ccxt(port, last_ts))
    finally:
        feed.terminate()
    offline = offline_rate(messages)
    mine, ccxt_rate = statistics.median(ours), statistics.median(theirs)
    batches.sort()
    p99 = batches[min(len(batches) - 1, int(len(batches) * 0.99))] if batches else 0.0
    print(f"adapter rounds msg/s: {[round(x) for x in ours]}")
    print(f"ccxt.pro rounds msg/s: {[round(x) for x in theirs]}")
    print(
        json.dumps(
            {
                "bench": "ws_ingest",
                "messages_per_round": len(messages),
                "rounds": ROUNDS,
                "msgs_per_s": round(mine),
                "ccxt_msgs_per_s": round(ccxt_rate),
                "ratio_vs_ccxt": round(mine / ccxt_rate, 3),
                "cpu_share": round(statistics.median(cpu_shares), 3),
                "batch_1000_ms_p50": round(statistics.median(batches) * 1000, 3) if batches else None,
                "batch_1000_ms_p99": round(p99 * 1000, 3),
                "offline_msgs_per_s": round(offline),
                "adapter_rounds": [round(x) for x in ours],
                "ccxt_rounds": [round(x) for x in theirs],
            }
        )
    )


if __name__ == "__main__":
    main()
