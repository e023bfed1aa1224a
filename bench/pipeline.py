"""Benchmark the per-symbol pipeline: 15 symbols on the simulator through the real engine (S-04, D-06).

Starts embedded PostgreSQL/Redis (or uses DATABASE_URL/REDIS_URL), migrates a fresh database, runs
``algogrid.engine.serve`` in simulation mode with the 15 whitelisted symbols for ``--seconds`` of wall time,
then asks every SignalActor for its samples. Prints, as the last line, one JSON object:

* ``signal_compute_p99_ms`` — indicators (IndicatorActor fold) + AVI-5 (SignalActor) per bar (target ≤ 2);
* ``close_to_signal_p99_ms`` — the closing kline push parsed off the WebSocket (trio thread) → signal stored
  and published (target ≤ 50), with ``legs_ms``: parse → SignalActor, the risk verdict's round trip, and
  store + reply;
* ``feed_msgs_per_s`` — exchange events routed to the feeds per second of the run.

To measure close → signal latency the run needs signals, so AVI-5's *market-context* gates that depend on
simulated time and book shape (book/bar age, imbalance, spread, funding window) are opened wide; the trend,
trigger, microprice and level computations — the costly parts — run unchanged. Say so when quoting figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors import GetSignalStats, SignalStats, signal_path
from actors.risk import RiskConfig
from algogrid.engine import Engine, serve
from algogrid.settings import WHITELIST, Settings
from exchange.simulator import SimulatorConfig
from storage import StorageConfig, open_storage, start_servers, upgrade
from strategy_core import AVI5Config


async def _stats(engine: Engine, symbol: str) -> SignalStats:
    stats: SignalStats = await engine.ask(signal_path(symbol), GetSignalStats(), timeout_s=10)
    return stats


def _pct(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _run(args: argparse.Namespace, db_url: str, redis_url: str) -> dict[str, object]:
    strategy = AVI5Config(
        max_book_age_s=86_400,
        max_bar_age_s=86_400,
        imbalance_min=Decimal(0),
        min_time_to_funding_s=0,
        max_spread_bps=Decimal(10_000),
    )
    settings = Settings(
        mode="simulation",
        symbols=WHITELIST,
        strategy=strategy,
        # Limits that never bind: every signal passes the RiskActor (its verdict is part of the latency).
        risk=RiskConfig(
            max_concurrent_positions=100,
            max_positions_per_base=20,
            churn_block_sec=0,
            max_total_risk_usd=Decimal(10_000_000),
            reservation_ttl_s=1.0,
        ),
        simulator=SimulatorConfig(
            seed=args.seed, speed=args.speed, book_interval_ms=args.book_ms, history_bars=300
        ),
    )
    config = StorageConfig(pool_min_size=5, pool_max_size=20)
    from storage import ServerUrls

    async with open_storage(config, ServerUrls(db_url, redis_url)) as storage, trio.open_nursery() as nursery:
        engine: Engine = await nursery.start(
            lambda task_status: serve(
                settings, storage, task_status=task_status
            )
        )
        # Steady state only: the first seconds include every indicator's history reload (start-up).
        await trio.sleep(args.warmup)
        marks = [await _stats(engine, symbol) for symbol in WHITELIST]
        routed0 = engine.router.stats.routed
        started = trio.current_time()
        await trio.sleep(args.seconds)
        elapsed = trio.current_time() - started
        routed = engine.router.stats.routed - routed0
        stats = [await _stats(engine, symbol) for symbol in WHITELIST]
        nursery.cancel_scope.cancel()
    pairs = list(zip(marks, stats, strict=True))
    compute = [ns / 1e6 for m, s in pairs for ns in s.compute_ns[len(m.compute_ns) :]]
    close = [ns / 1e6 for m, s in pairs for ns in s.close_to_signal_ns[len(m.close_to_signal_ns) :]]

    def leg(name: str) -> dict[str, float]:
        values = [ns / 1e6 for m, s in pairs for ns in getattr(s, name)[len(getattr(m, name)) :]]
        if not values:
            return {}
        return {"p50": round(statistics.median(values), 3), "p99": round(_pct(values, 0.99), 3)}

    return {
        "signal_compute_p50_ms": round(statistics.median(compute), 4) if compute else None,
        "signal_compute_p99_ms": round(_pct(compute, 0.99), 4),
        "close_to_signal_p50_ms": round(statistics.median(close), 3) if close else None,
        "close_to_signal_p99_ms": round(_pct(close, 0.99), 3),
        "feed_msgs_per_s": round(routed / elapsed, 1),
        # where close → signal goes: WS parse → SignalActor, risk verdict round trip, store + reply
        "legs_ms": {"to_signal": leg("to_signal_ns"), "risk": leg("risk_ns"), "store": leg("store_ns")},
        "bars_evaluated": len(compute),
        "signals_published": len(close),
        "symbols": len(WHITELIST),
        "seconds": round(elapsed, 2),
        "sim_speed": args.speed,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--speed", type=float, default=600.0, help="exchange seconds per real second")
    parser.add_argument("--book-ms", type=int, default=50, help="real ms between simulator market steps")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds ignored after start-up")
    args = parser.parse_args()
    env_db, env_redis = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        config = StorageConfig(data_dir=Path(tmp), database_url=env_db, redis_url=env_redis)  # type: ignore[arg-type]
        with start_servers(config) as urls:
            upgrade(urls.database_url)
            result = trio.run(_run, args, urls.database_url, urls.redis_url)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
