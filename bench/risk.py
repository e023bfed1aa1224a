"""Benchmark: RiskActor decision latency, ask round trip through the actor (R-07: ≤ 10 ms; target p99 ≤ 1 ms).

A real supervision tree runs ``root/risk`` with the real trio work queue; the actor's state is rebuilt (in
``on_start``, through the queue) with one open position on each of the 15 whitelist symbols. The store is in
memory: I/O is never on the decision path, and a denial's write is queued, not awaited.

Measured, over many samples after a warm-up:

* ``decision_*`` — ``ChildRef.ask(CheckOrder)`` from a plain thread (blocking ask: enqueue, decide, reply);
* ``bridge_decision_*`` — the same ask awaited from trio with ``TrioBridge.ask`` (how the trio side asks).

Run: ``.venv/bin/python bench/risk.py [--samples N]``. The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import trio
from prometheus_client import CollectorRegistry

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actors import RISK, RISK_NAME, ROOT, WorkRejectedError
from actors.risk import (
    CheckOrder,
    GetRiskSnapshot,
    OrderAllowed,
    OrderDenied,
    RiskActor,
    RiskActorDeps,
    RiskConfig,
    RiskMetrics,
)
from storage import DenialRecord, TradingStateRecord
from strategy_core.config import RiskLimits
from strategy_core.exposure import ChurnBook, OpenPosition
from strategy_core.models import Side
from supervision import (
    ChildSpec,
    SupervisionTree,
    SupervisorSpec,
    TrioBridge,
    TrioWorkQueue,
    WorkQueueClosed,
    WorkQueueFull,
)

SYMBOLS = (
    "BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "BNBUSDT", "DOGEUSDT", "TONUSDT", "LINKUSDT",
    "LTCUSDT", "TRXUSDT", "ADAUSDT", "AVAXUSDT", "OPUSDT", "ARBUSDT", "MATICUSDT",
)  # fmt: skip
LIMITS = RiskLimits(
    max_concurrent_positions=20, max_total_risk_r=Decimal(30), max_total_risk_usd=Decimal(1000)
)


class LoadedStore:
    """A ``RiskStatePort`` holding 15 open positions (one long per symbol)."""

    def __init__(self) -> None:
        self.denials = 0

    async def load_trading_state(self, now: dt.datetime) -> TradingStateRecord:
        return TradingStateRecord.initial(now)

    async def load_exposure(
        self, now: dt.datetime, limits: RiskLimits, reservation_ttl_s: float
    ) -> tuple[tuple[OpenPosition, ...], tuple[tuple[OpenPosition, dt.datetime], ...], ChurnBook]:
        positions = tuple(
            OpenPosition(
                position_id=f"p-{symbol}",
                symbol=symbol,
                side=Side.LONG,
                qty=Decimal(25),
                entry=Decimal(100),
                risk_usd=Decimal(25),
                risk_r=Decimal(1),
            )
            for symbol in SYMBOLS
        )
        return positions, (), ChurnBook()

    async def save_trading_state(self, record: TradingStateRecord) -> None:
        return None

    async def record_denials(self, denials: Sequence[DenialRecord]) -> None:
        self.denials += len(denials)


class WorkPort:
    """The actors' ``WorkQueue`` port on ``TrioWorkQueue`` (the job's value is the reply message)."""

    def __init__(self, queue: TrioWorkQueue) -> None:
        self._queue = queue

    def submit(self, job: Any, reply_to: Any, on_error: Any) -> None:
        try:
            self._queue.submit(job, reply_to=reply_to, on_result=lambda value: value, on_error=on_error)
        except (WorkQueueFull, WorkQueueClosed) as exc:
            raise WorkRejectedError(str(exc)) from exc


def _orders(n: int) -> list[CheckOrder]:
    """Alternate an allowed order (a short: no short exposure yet) and a denied one (a 3rd long per base)."""
    out = []
    for i in range(n):
        symbol = SYMBOLS[i % len(SYMBOLS)]
        side = Side.SHORT if i % 2 == 0 else Side.LONG
        risk_r = Decimal(1) if i % 2 == 0 else Decimal(40)  # 40R breaks the total-risk limit
        out.append(
            CheckOrder(order_id=f"o{i}", symbol=symbol, side=side, risk_usd=risk_r * 25, risk_r=risk_r)
        )
    return out


def _summary(samples_ns: list[int], prefix: str) -> dict[str, float]:
    ordered = sorted(samples_ns)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {
        f"{prefix}_p50_ms": round(statistics.median(ordered) / 1e6, 4),
        f"{prefix}_p99_ms": round(p99 / 1e6, 4),
        f"{prefix}_max_ms": round(ordered[-1] / 1e6, 4),
    }


def _blocking_asks(ref: Any, orders: list[CheckOrder], warmup: int) -> tuple[list[int], dict[str, int]]:
    outcomes = {"allowed": 0, "denied": 0}
    samples: list[int] = []
    for i, order in enumerate(orders):
        start = time.perf_counter_ns()
        verdict = ref.ask(order, timeout=5.0)
        took = time.perf_counter_ns() - start
        if i >= warmup:
            samples.append(took)
            outcomes["allowed" if isinstance(verdict, OrderAllowed) else "denied"] += 1
        if not isinstance(verdict, OrderAllowed | OrderDenied):
            raise TypeError(f"expected an order verdict, got {verdict!r}")
    return samples, outcomes


async def _main(samples: int, warmup: int) -> dict[str, Any]:
    store = LoadedStore()
    async with trio.open_nursery() as nursery:
        queue = TrioWorkQueue(maxsize=100_000, concurrency=16, name="risk")
        await nursery.start(queue.run)
        deps = RiskActorDeps(work=WorkPort(queue), store=store, metrics=RiskMetrics(CollectorRegistry()))
        config = RiskConfig()
        tree = SupervisionTree.start(
            SupervisorSpec(
                ROOT,
                children=(ChildSpec(RISK_NAME, lambda: RiskActor.start(config, LIMITS, deps), kind="risk"),),
            )
        )
        bridge = TrioBridge()
        ref = tree.ref(RISK)
        try:
            while True:  # wait for the rebuild (15 positions) to land
                snapshot = await bridge.ask(ref, GetRiskSnapshot(), timeout=5)
                if not snapshot.rebuilding:
                    break
                await trio.sleep(0.01)
            loaded = len(snapshot.positions)
            orders = _orders(warmup + samples)
            print(f"risk bench: {loaded} positions loaded; {samples} blocking asks ...", file=sys.stderr)
            blocking, outcomes = await trio.to_thread.run_sync(_blocking_asks, ref, orders, warmup)
            print(f"risk bench: {samples} bridge asks ...", file=sys.stderr)
            bridged: list[int] = []
            for i, order in enumerate(orders):
                start = time.perf_counter_ns()
                await bridge.ask(ref, order, timeout=5)
                if i >= warmup:
                    bridged.append(time.perf_counter_ns() - start)
        finally:
            await bridge.stop_tree(tree)
            nursery.cancel_scope.cancel()
    return {
        "bench": "risk",
        "samples": samples,
        "positions_loaded": loaded,
        **_summary(blocking, "decision"),
        **_summary(bridged, "bridge_decision"),
        "allowed": outcomes["allowed"],
        "denied": outcomes["denied"],
        "target_p99_ms": 1.0,
    }


def main() -> None:
    """Run the benchmark and print one JSON object as the last line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=2_000)
    args = parser.parse_args()
    result = trio.run(_main, args.samples, args.warmup)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
