"""Benchmark the supervision library: restart latency, ask round trip, tell throughput, trio-bridge ask.

Run: ``.venv/bin/python bench/supervision_restart.py [--crashes 1000] [--asks 5000]``. Measured with 80 actors
alive and again with a lone actor (keys suffixed ``_1``). Prints ONE JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from dataclasses import dataclass
from typing import Any

import structlog
import trio

from supervision import (
    Backoff,
    ChildRef,
    ChildSpec,
    Intensity,
    SupervisedActor,
    SupervisionTree,
    SupervisorSpec,
    TrioBridge,
)


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class Count:
    pass


@dataclass(frozen=True)
class Total:
    pass


class Echo(SupervisedActor):
    def on_start(self) -> None:
        self.count = 0

    def handle(self, message: Any) -> Any:
        if isinstance(message, Count):
            self.count += 1
            return None
        if isinstance(message, Total):
            return self.count
        return True


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(actors: int, crashes: int, asks: int, tells: int) -> dict[str, float]:
    children = [ChildSpec(f"a{i}", Echo.start, kind="echo") for i in range(actors)]
    spec = SupervisorSpec(
        "root", children, intensity=Intensity(10 * crashes + 10, 1.0), backoff=Backoff(0.0, 0.0, 0.0)
    )
    tree = SupervisionTree.start(spec, watchdog_interval=1.0)
    try:
        deadline = time.monotonic() + 30
        while not tree.settled():
            if time.monotonic() > deadline:
                raise RuntimeError("tree did not settle")
            time.sleep(0.01)
        ref: ChildRef = tree.ref("root/a0")
        for _ in range(200):
            ref.ask(Ping())
        ask_s = []
        for _ in range(asks):
            t0 = time.perf_counter()
            ref.ask(Ping())
            ask_s.append(time.perf_counter() - t0)
        restart_s = []
        for _ in range(crashes):
            t0 = time.perf_counter()
            tree.faults.crash_now(ref.path)
            ref.ask(Ping(), timeout=5)  # held during the restart, answered by the new incarnation
            restart_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for _ in range(tells):
            ref.tell(Count())
        assert ref.ask(Total(), timeout=30) == tells
        tell_rate = tells / (time.perf_counter() - t0)

        async def trio_asks() -> list[float]:
            bridge = TrioBridge()
            out = []
            for _ in range(asks):
                t1 = time.perf_counter()
                await bridge.ask(ref, Ping(), timeout=5)
                out.append(time.perf_counter() - t1)
            return out

        trio_s = trio.run(trio_asks)
    finally:
        tree.stop(timeout=30)
    ms = 1000.0
    return {
        "restart_p50_ms": round(statistics.median(restart_s) * ms, 4),
        "restart_p99_ms": round(pct(restart_s, 0.99) * ms, 4),
        "ask_p50_ms": round(statistics.median(ask_s) * ms, 4),
        "ask_p99_ms": round(pct(ask_s, 0.99) * ms, 4),
        "tell_msgs_per_s": round(tell_rate),
        "trio_ask_p50_ms": round(statistics.median(trio_s) * ms, 4),
        "trio_ask_p99_ms": round(pct(trio_s, 0.99) * ms, 4),
        "crashes": crashes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--crashes", type=int, default=1000)
    parser.add_argument("--asks", type=int, default=5000)
    parser.add_argument("--tells", type=int, default=100_000)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # pykka logs every crash traceback; measure, don't print
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    many = measure(80, args.crashes, args.asks, args.tells)
    lone = measure(1, args.crashes, args.asks, args.tells)
    result: dict[str, float] = {"actors": 80, **many}
    result.update({f"{k}_1": v for k, v in lone.items()})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
