"""Gateway benchmark (G-02, G-03): ``GET /signals`` at 200 concurrent clients, SSE fan-out to 500 and 2,000.

Server: a child process runs the production wiring, ``algogrid.gateway_wiring.serve_gateway`` (hypercorn +
Starlette on trio) over real storage (asyncpg through trio-asyncio on PostgreSQL, Redis Stream) and the
production engine view over a real (empty) supervision tree: neither load model asks an actor. 300 signals
over 3 symbols are stored first.

Load: this (parent) process, over raw keep-alive HTTP/1.1 trio sockets with minimal parsing, so the client
costs little CPU. Both share this machine's cores (2 here): the figures include that contention.

Load models (stated explicitly, because latency means nothing without them):

* ``signals_*`` — **think-time model**: 200 concurrent keep-alive clients; each sends one request, waits for
  the whole answer, then pauses ``THINK_S`` before its next one, for ``DURATION_S`` seconds. The query mix
  is the UI's: ``/signals?limit=50``, ``/signals?limit=20&symbol=<SYM>`` for 3 symbols, and
  ``min_probability=0.5``. ``signals_rps`` is the aggregate request rate achieved.
* ``signals_closed_*`` — **closed loop**: the same 200 clients with no pause (each sends its next request as
  soon as the previous answer arrived): the server's saturation throughput and the queueing latency at it.
* ``signals_nocache_*`` — the think-time model against a server with the read cache disabled (every request
  queries PostgreSQL).
* ``sse_<N>_*`` — N clients connected to ``/stream``; the parent asks the server (a line on its stdin)
  to publish one signal from a non-trio thread, as the signal actor does (XADD to the Redis Stream, then
  fan-out); latency runs from that request until each client has read the event. ``SSE_ROUNDS`` rounds per N.

* ``*_auth_*`` — the same loads through the real authentication (issue 14): an admin is activated (TOTP
  enrolment) and logged in over HTTP, and every request carries ``Authorization: Bearer <access token>``
  (JWT verification + the Redis revocation check per request; SSE clients hold one bearer stream each).
  ``signals_auth_p99_ms`` (target ≤ 25 ms at 200 clients) and ``sse_2000_auth_p99_ms`` (target ≤ 250 ms).
* The keys without ``_auth`` keep their pre-auth meaning (no session check): every route is authenticated
  in the product now, so the bench measures them on the same server with the access guard taken off the
  routes **inside the bench's own child process** (each handler gets a fixed principal): the difference is
  the cost of authentication. The product has no switch for this.

The bench is ``bench/gateway_http.py`` (the issue calls it ``bench/gateway.py``: a file of that name would
shadow the ``gateway`` package). Uses DATABASE_URL / REDIS_URL when set, else embedded servers. Prints one
JSON object as the last line.
"""

from __future__ import annotations

import json
import os
import random
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import trio
import trio.lowlevel

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
SIGNAL_CLIENTS = 200
THINK_S = 1.0
DURATION_S = 8.0
CLOSED_REQUESTS_PER_CLIENT = 25
SSE_ROUNDS = 20
QUERIES = (
    "/signals?limit=50",
    "/signals?limit=20&symbol=BTCUSDT",
    "/signals?limit=20&symbol=ETHUSDT",
    "/signals?limit=20&symbol=SOLUSDT",
    "/signals?limit=20&min_probability=0.5",
)


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ------------------------------------------------------------------------------------------- child: server
def _signal(symbol: str, side: str, probability: float) -> Any:
    """Return a valid ``strategy_core.Signal`` with consistent levels (S-03), created now."""
    import datetime as dt
    from decimal import Decimal

    from strategy_core import Signal

    base = Decimal(65000) + random.randrange(1_000_000) / Decimal(100)
    step = Decimal("250.5")
    sign = 1 if side == "long" else -1
    now = dt.datetime.now(dt.UTC)
    return Signal.model_validate(
        {
            "id": uuid.uuid4(),
            "symbol": symbol,
            "side": side,
            "entry": base,
            "tp1": base + sign * step,
            "tp2": base + sign * 2 * step,
            "tp3": base + sign * 3 * step,
            "sl": base - sign * step,
            "qty": Decimal("0.01"),
            "risk_usd": Decimal("2.505"),
            "risk_r": Decimal(1),
            "p_win": Decimal(str(probability)),
            "strategy": "avi5",
            "strategy_version": "1",
            "created_at": now,
            "bar_start": now.replace(microsecond=0),
        }
    )


def _strip_guards(app: Any, fault_injection: bool) -> None:
    """Bench-only baseline: serve each endpoint's own handler with a fixed admin principal (no JWT check)."""
    import time as _time

    from starlette.routing import Route

    from gateway import endpoints_for
    from gateway.auth import Principal

    principal = Principal(uuid.uuid4(), "admin", uuid.uuid4(), "bearer", None, int(_time.time()) + 86_400)

    def fixed(handler: Any) -> Any:
        async def handle(request: Any) -> Any:
            request.state.principal = principal
            return await handler(request)

        handle.__name__ = handler.__name__
        return handle

    raw = {
        (e.method, e.path): e.route(fixed(e.handler)) for e in endpoints_for(fault_injection=fault_injection)
    }
    routes = app.router.routes
    for i, route in enumerate(routes):
        if isinstance(route, Route):
            for method in route.methods or ():
                if (method, route.path) in raw:
                    routes[i] = raw[(method, route.path)]


def serve_child(db_url: str, redis_url: str, cache_ttl_s: float, with_auth: bool) -> None:
    import logging

    import structlog
    from pydantic import SecretStr

    from actors import SignalGenerated
    from algogrid.engine_view import SupervisionEngineView
    from algogrid.gateway_wiring import serve_gateway
    from algogrid.settings import Settings
    from gateway import GatewayConfig, SignalFeed
    from gateway.auth import hash_token, new_token
    from storage import StorageConfig, open_storage
    from supervision import SupervisionTree, SupervisorSpec, TrioBridge

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    feed = SignalFeed()

    def stdin_publisher() -> None:  # an "actor thread": publish one signal per line read
        for line in sys.stdin:
            if line.strip() == "publish":
                signal = _signal("BTCUSDT", "long", 0.62)
                bar_ms = int(signal.bar_start.timestamp() * 1000)
                feed.publish(
                    SignalGenerated(
                        signal=signal,
                        status="new",
                        queued_until=None,
                        bar_start_ms=bar_ms,
                        close_to_signal_ms=1.0,
                    )
                )

    async def main() -> None:
        config = StorageConfig(database_url=SecretStr(db_url), redis_url=SecretStr(redis_url))
        tree = SupervisionTree.start(SupervisorSpec("root", children=(SupervisorSpec("symbols"),)))
        bridge = TrioBridge()
        gateway = GatewayConfig(
            port=0,
            ip_rate_limit_per_min=100_000,
            heartbeat_s=60.0,
            sse_client_buffer=64,
            signals_cache_ttl_s=cache_ttl_s,
        )
        data_dir = Path(tempfile.mkdtemp(prefix="algogrid-bench-data-"))
        settings = Settings(symbols=SYMBOLS, gateway=gateway, storage={"data_dir": data_dir})
        try:
            async with open_storage(config) as storage, trio.open_nursery() as nursery:
                if not await storage.db.fetchval("SELECT count(*) FROM signals"):
                    for n in range(300):
                        p = 0.3 + (n % 7) / 10
                        side = "long" if n % 2 else "short"
                        await storage.signals.insert(_signal(SYMBOLS[n % 3], side, p))
                view = SupervisionEngineView(tree, bridge, SYMBOLS)
                handle = await nursery.start(
                    lambda task_status: serve_gateway(settings, storage, view, feed, task_status=task_status)
                )
                if with_auth:
                    token = new_token()
                    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
                    await storage.users.issue_admin_activation(
                        email, hash_token(token), ttl_hours=1, actor="bench"
                    )
                    print(f"\nADMIN {email} {token}", flush=True)
                else:
                    _strip_guards(handle.app, fault_injection=False)
                print(f"\n{handle.url}", flush=True)
                threading.Thread(target=stdin_publisher, daemon=True).start()
        finally:
            await bridge.stop_tree(tree)

    trio.run(main)


# ------------------------------------------------------------------------------------------ parent: load
class RawHttp:
    """A minimal keep-alive HTTP/1.1 client on a trio socket (Content-Length bodies only)."""

    def __init__(self, stream: trio.SocketStream, auth: str = "") -> None:
        self.stream = stream
        self.buffer = b""
        self.auth = auth

    async def get(self, path: str) -> int:
        await self.stream.send_all(f"GET {path} HTTP/1.1\r\nHost: bench\r\n{self.auth}\r\n".encode())
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            self.buffer += await self.stream.receive_some(65536)
        head, rest = self.buffer[:end], self.buffer[end + 4 :]
        status = int(head[9:12])
        at = head.lower().find(b"content-length:")
        length = int(head[at + 15 : head.find(b"\r\n", at) if head.find(b"\r\n", at) > 0 else None])
        while len(rest) < length:
            rest += await self.stream.receive_some(65536)
        self.buffer = rest[length:]
        return status


async def bench_signals(
    host: str, port: int, think_s: float | None, token: str | None = None
) -> tuple[list[float], float]:
    """Return latency samples (ms) and the achieved aggregate rate (req/s)."""
    samples: list[float] = []
    errors = 0
    rng = random.Random(7)
    start_gate = trio.Event()

    async def client(n: int) -> None:
        nonlocal errors
        stream = await trio.open_tcp_stream(host, port)
        http = RawHttp(stream, f"Authorization: Bearer {token}\r\n" if token else "")
        await http.get(QUERIES[0])  # connect + warm-up, not measured
        await start_gate.wait()
        if think_s:
            await trio.sleep(rng.uniform(0, think_s))  # spread the clients' phases
        deadline = time.perf_counter() + DURATION_S
        sent = 0
        while True:
            if think_s is None and sent == CLOSED_REQUESTS_PER_CLIENT:
                break
            if think_s is not None and time.perf_counter() >= deadline:
                break
            query = QUERIES[(n + sent) % len(QUERIES)]
            started = time.perf_counter()
            status = await http.get(query)
            samples.append((time.perf_counter() - started) * 1000)
            errors += status != 200
            sent += 1
            if think_s:
                await trio.sleep(think_s)
        await stream.aclose()

    async with trio.open_nursery() as nursery:
        for n in range(SIGNAL_CLIENTS):
            nursery.start_soon(client, n)
        await trio.sleep(1.0)  # every client connected and warmed up
        began = time.perf_counter()
        start_gate.set()
    elapsed = time.perf_counter() - began
    if errors:
        raise SystemExit(f"{errors} GET /signals answers were not 200")
    return samples, len(samples) / elapsed


def bench_sse(
    host: str, port: int, clients: int, child: subprocess.Popen[str], token: str | None = None
) -> list[float]:
    """Connect ``clients`` SSE clients and time ``SSE_ROUNDS`` published signals to every one of them.

    The client side is one epoll loop over plain non-blocking sockets (no tasks, no parsing beyond counting
    ``event: signal``), so it steals as little CPU as possible from the server on a shared machine.
    """
    auth = f"Authorization: Bearer {token}\r\n".encode() if token else b""
    request = b"GET /stream HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n" + auth + b"\r\n"
    socks: list[socket.socket] = []
    poller = select.epoll()
    try:
        for n in range(clients):
            sock = socket.create_connection((host, port))
            sock.sendall(request)
            sock.setblocking(False)
            socks.append(sock)
            poller.register(sock.fileno(), select.EPOLLIN)
            if n % 100 == 99:
                time.sleep(0.01)  # let the server accept and subscribe them as they come
        by_fd = {sock.fileno(): sock for sock in socks}
        pending_head = set(by_fd)
        deadline = time.monotonic() + 60
        while pending_head:  # every client got its response head and the retry line: subscribed
            if time.monotonic() > deadline:
                raise SystemExit(f"{len(pending_head)} SSE clients never got their stream")
            for fd, _ in poller.poll(1.0):
                if by_fd[fd].recv(65536):
                    pending_head.discard(fd)
        samples: list[float] = []
        assert child.stdin is not None
        for _ in range(SSE_ROUNDS):
            waiting = set(by_fd)
            published_at = time.perf_counter()
            child.stdin.write("publish\n")
            child.stdin.flush()
            deadline = time.monotonic() + 30
            while waiting:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{len(waiting)} SSE clients missed a signal")
                for fd, _ in poller.poll(1.0):
                    chunk = by_fd[fd].recv(4096)
                    if b"event: signal" in chunk and fd in waiting:
                        samples.append((time.perf_counter() - published_at) * 1000)
                        waiting.discard(fd)
            time.sleep(0.05)
        return samples
    finally:
        poller.close()
        for sock in socks:
            sock.close()


def start_child(
    db_url: str, redis_url: str, cache_ttl_s: float, with_auth: bool = False
) -> tuple[subprocess.Popen[str], str, int, str | None]:
    """Start the gateway child; with ``with_auth`` also return an admin's access token (logged in)."""
    child = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            db_url,
            redis_url,
            str(cache_ttl_s),
            "auth" if with_auth else "-",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdout is not None
    url, admin = "", ""
    while not url.startswith("http://"):  # skip the child's log lines
        line = child.stdout.readline()
        if not line:
            raise SystemExit("the gateway child exited before listening")
        url = line.strip()
        admin = url if url.startswith("ADMIN ") else admin
    out = child.stdout
    threading.Thread(target=lambda: [None for _ in out], daemon=True).start()  # drain logs
    host, port = url.removeprefix("http://").rsplit(":", 1)
    token = _login(url, *admin.split()[1:]) if admin else None
    return child, host, int(port), token


def _login(url: str, email: str, activation_token: str) -> str:
    """Activate the bench admin (TOTP enrolment, as a person would) and log in; return the access token."""
    import httpx
    import pyotp

    password = "bench-Horse-battery-42"
    with httpx.Client(base_url=url, timeout=30) as http:
        secret = http.post("/auth/activate/totp", json={"token": activation_token}).json()["secret"]
        totp = pyotp.TOTP(secret)
        step = int(time.time() // 30)
        body = {"token": activation_token, "password": password, "totp_code": totp.at((step - 1) * 30)}
        http.post("/auth/activate", json=body).raise_for_status()
        login = {"email": email, "password": password, "totp_code": totp.at(step * 30)}
        answer = http.post("/auth/login", json=login)
        answer.raise_for_status()
        return str(answer.json()["access_token"])


def stop_child(child: subprocess.Popen[str]) -> None:
    child.terminate()
    child.wait(timeout=30)


def summary(name: str, samples: list[float]) -> dict[str, float]:
    return {
        f"{name}_p50_ms": round(statistics.median(samples), 2),
        f"{name}_p99_ms": round(pct(samples, 0.99), 2),
    }


def run_all(db_url: str, redis_url: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    child, host, port, _ = start_child(db_url, redis_url, 0.0)
    try:
        nocache, nocache_rps = trio.run(bench_signals, host, port, THINK_S)
        result |= summary("signals_nocache", nocache) | {"signals_nocache_rps": round(nocache_rps)}
    finally:
        stop_child(child)
    child, host, port, _ = start_child(db_url, redis_url, 1.0)
    try:
        think, think_rps = trio.run(bench_signals, host, port, THINK_S)
        closed, closed_rps = trio.run(bench_signals, host, port, None)
        sse_500 = bench_sse(host, port, 500, child)
        sse_2000 = bench_sse(host, port, 2000, child)
    finally:
        stop_child(child)
    child, host, port, token = start_child(db_url, redis_url, 1.0, with_auth=True)
    try:
        think_auth, think_auth_rps = trio.run(bench_signals, host, port, THINK_S, token)
        sse_2000_auth = bench_sse(host, port, 2000, child, token)
    finally:
        stop_child(child)
    print(
        f"GET /signals: {len(think)} think-time + {len(closed)} closed-loop + {len(nocache)} uncached"
        f" samples; SSE: {len(sse_500)} + {len(sse_2000)} deliveries"
    )
    return {
        **summary("signals", think),
        "signals_rps": round(think_rps),
        "signals_clients": SIGNAL_CLIENTS,
        "signals_think_s": THINK_S,
        **result,
        **summary("signals_closed", closed),
        "signals_closed_rps": round(closed_rps),
        **summary("sse_500", sse_500),
        **summary("sse_2000", sse_2000),
        **summary("signals_auth", think_auth),
        "signals_auth_rps": round(think_auth_rps),
        **summary("sse_2000_auth", sse_2000_auth),
        "sse_rounds": SSE_ROUNDS,
    }


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="algogrid-bench-"))
    tmp.chmod(0o755)
    servers: list[Any] = []
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
        try:
            upgrade(db_url)
            result = run_all(db_url, redis_url)
        finally:
            admin.cursor().execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            admin.close()
    finally:
        for server in reversed(servers):
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--serve":
        serve_child(sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5] == "auth")
    else:
        main()
