"""Gateway benchmark (issue 6): GET /signals at 200 concurrent clients, SSE fan-out to 500 and 2,000 clients.

The gateway runs for real in a child process (hypercorn + Starlette on trio, pykka engine, PostgreSQL,
Redis Stream); the load comes from this process over raw keep-alive HTTP/1.1 sockets so the client costs
as little CPU as possible. For SSE, the parent asks the child (one line on its stdin) to publish one signal
from a non-trio thread, as an actor would, and measures until each connected client has read the event.

Uses DATABASE_URL / REDIS_URL when set, else embedded servers. Prints one JSON object as the last line:
signals_p50_ms, signals_p99_ms, sse_500_p99_ms, sse_2000_p99_ms (+ context figures).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import trio
import trio.lowlevel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "gateway"))  # the gateway tests' real-parts kit (engine, readers)

SIGNAL_CLIENTS = 200
REQUESTS_PER_CLIENT = 30
SSE_ROUNDS = 15


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ------------------------------------------------------------------------------------------- child: server
def serve_child(pg_url: str, redis_url: str) -> None:
    from gw_kit import ListenAt, MiniEngine, PgSignals, ThreadedRedisStreams, make_signal

    from gateway import RouteOptions, SignalFeed, serve

    engine = MiniEngine(["BTCUSDT", "ETHUSDT", "SOLUSDT"])
    signals = PgSignals(pg_url)
    for n in range(300):
        signals.insert(make_signal(["BTCUSDT", "ETHUSDT", "SOLUSDT"][n % 3], "long" if n % 2 else "short"))
    streams = ThreadedRedisStreams(redis_url)
    feed = SignalFeed()

    def stdin_publisher() -> None:  # an "actor thread": publish one signal per line read
        for line in sys.stdin:
            if line.strip() == "publish":
                feed.publish(make_signal("BTCUSDT"))

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            handle = await nursery.start(
                lambda task_status: serve(
                    ListenAt(),
                    engine,
                    signals,
                    streams,
                    feed,
                    options=RouteOptions(heartbeat_s=60.0, sse_client_buffer=64),
                    task_status=task_status,
                )
            )
            print(f"\n{handle.url}", flush=True)
            threading.Thread(target=stdin_publisher, daemon=True).start()

    try:
        trio.run(main)
    finally:
        engine.stop()


# ------------------------------------------------------------------------------------------ parent: load
class RawHttp:
    """A minimal keep-alive HTTP/1.1 client on a trio socket (Content-Length bodies only)."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buffer = b""

    async def get(self, path: str) -> int:
        await self.stream.send_all(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += await self.stream.receive_some(65536)
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        while len(rest) < length:
            rest += await self.stream.receive_some(65536)
        self.buffer = rest[length:]
        return status


async def bench_signals(host: str, port: int) -> list[float]:
    samples: list[float] = []
    errors = 0

    async def client() -> None:
        nonlocal errors
        stream = await trio.open_tcp_stream(host, port)
        http = RawHttp(stream)
        await http.get("/signals?limit=20")  # warm-up
        for _ in range(REQUESTS_PER_CLIENT):
            started = time.perf_counter()
            status = await http.get("/signals?limit=20&symbol=BTCUSDT")
            samples.append((time.perf_counter() - started) * 1000)
            errors += status != 200
        await stream.aclose()

    async with trio.open_nursery() as nursery:
        for _ in range(SIGNAL_CLIENTS):
            nursery.start_soon(client)
    if errors:
        raise SystemExit(f"{errors} GET /signals answers were not 200")
    return samples


async def bench_sse(
    host: str, port: int, url: str, clients: int, child: subprocess.Popen[str]
) -> list[float]:
    samples: list[float] = []
    connected = 0
    got = 0
    published_at = 0.0
    round_done = trio.Event()
    ready = trio.Event()

    async def listener() -> None:
        nonlocal connected, got
        stream = await trio.open_tcp_stream(host, port)
        await stream.send_all(b"GET /stream HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n")
        data = b""
        while b"retry:" not in data:
            data += await stream.receive_some(65536)
        connected += 1
        if connected == clients:
            ready.set()
        pending = b""
        while True:
            chunk = await stream.receive_some(65536)
            if not chunk:
                return
            pending += chunk
            while b"event: signal" in pending:
                samples.append((time.perf_counter() - published_at) * 1000)
                pending = pending.split(b"event: signal", 1)[1]
                got += 1
                if got == clients:
                    round_done.set()

    async with trio.open_nursery() as nursery:
        for n in range(clients):
            nursery.start_soon(listener)
            if n % 100 == 99:
                await trio.lowlevel.checkpoint()  # let the accepted ones be served meanwhile
        with trio.fail_after(60):
            await ready.wait()
        for _ in range(SSE_ROUNDS):
            got = 0
            round_done = trio.Event()
            published_at = time.perf_counter()
            assert child.stdin is not None
            child.stdin.write("publish\n")
            child.stdin.flush()
            with trio.fail_after(30):
                await round_done.wait()
        nursery.cancel_scope.cancel()
    return samples


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="algogrid-bench-"))
    tmp.chmod(0o755)
    servers = []
    try:
        pg_url = os.environ.get("DATABASE_URL")
        redis_url = os.environ.get("REDIS_URL")
        if not pg_url or not redis_url:
            from storage.embedded import EmbeddedPostgres, EmbeddedRedis

            if not pg_url:
                pg = EmbeddedPostgres(tmp / "pg", durable=False)
                pg.start()
                servers.append(pg)
                pg_url = pg.url
            if not redis_url:
                rd = EmbeddedRedis(tmp / "redis", durable=False)
                rd.start()
                servers.append(rd)
                redis_url = rd.url
        import psycopg2

        from storage.migrate import upgrade

        db = f"algogrid_bench_{uuid.uuid4().hex[:8]}"
        admin = psycopg2.connect(pg_url)
        admin.autocommit = True
        admin.cursor().execute(f'CREATE DATABASE "{db}"')
        db_url = pg_url.rsplit("/", 1)[0] + f"/{db}"
        upgrade(db_url)

        child = subprocess.Popen(
            [sys.executable, os.environ.get("GW_BENCH_CHILD", __file__), "--serve", db_url, redis_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert child.stdout is not None
            url = ""
            while not url.startswith("http://"):  # skip the child's log lines
                line = child.stdout.readline()
                if not line:
                    raise SystemExit("the gateway child exited before listening")
                url = line.strip()
            threading.Thread(target=lambda: [None for _ in child.stdout], daemon=True).start()  # drain logs
            host, port = url.removeprefix("http://").rsplit(":", 1)

            async def run() -> dict[str, float]:
                signals = await bench_signals(host, int(port))
                sse_500 = await bench_sse(host, int(port), url, 500, child)
                sse_2000 = await bench_sse(host, int(port), url, 2000, child)
                print(
                    f"GET /signals: {len(signals)} samples; SSE: {len(sse_500)} + {len(sse_2000)} deliveries"
                )
                return {
                    "signals_p50_ms": round(statistics.median(signals), 2),
                    "signals_p99_ms": round(pct(signals, 0.99), 2),
                    "signals_clients": SIGNAL_CLIENTS,
                    "sse_500_p50_ms": round(statistics.median(sse_500), 2),
                    "sse_500_p99_ms": round(pct(sse_500, 0.99), 2),
                    "sse_2000_p50_ms": round(statistics.median(sse_2000), 2),
                    "sse_2000_p99_ms": round(pct(sse_2000, 0.99), 2),
                    "sse_rounds": SSE_ROUNDS,
                }

            result = trio.run(run)
        finally:
            child.terminate()
            child.wait(timeout=30)
            admin.cursor().execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            admin.close()
    finally:
        for server in reversed(servers):
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve_child(sys.argv[2], sys.argv[3])
    else:
        main()
