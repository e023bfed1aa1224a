"""SignalActor: AVI-5 on each ``IndicatorSet`` → risk pre-check → store → ``SignalGenerated`` (S-02..S-04).

``SignalBehaviour`` keeps, per incarnation, the last evaluated bar and the signals waiting for a risk verdict
or for storage. The steps, all by message (no blocking, DESIGN §3):

1. ``IndicatorsComputed`` for a bar newer than the last evaluated one → ``apply_avi5``; no signal → done.
2. A signal → ``CheckSignal(signal, reply_to=self)`` to the ``RiskGate``.
3. ``SignalAllowed`` / ``SignalQueued`` / ``SignalDenied`` → store the signal (status new / queued / denied)
   through the work queue. Storage inserts once per signal id — a UUIDv5 of (strategy, symbol, side, bar) —
   so a re-evaluated bar after any restart is refused there.
4. ``SignalStored(inserted=True)`` for a new or queued signal → ``SignalPublisher.publish(SignalGenerated)``.
   ``inserted=False`` (the bar already had its signal) publishes nothing: no signal twice for one bar.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import uuid
from dataclasses import dataclass, field

import structlog

from actors.messages import (
    CheckSignal,
    IndicatorsComputed,
    MessageSink,
    SignalAllowed,
    SignalDenied,
    SignalGenerated,
    SignalQueued,
    SignalStored,
    SignalStoreFailed,
)
from actors.ports import MarketStore, RiskGate, SignalPublisher, SignalStatus, WorkQueue
from strategy_core import (
    AVI5Config,
    CalibrationStats,
    InstrumentRules,
    Signal,
    ThetaMap,
    apply_avi5,
)

__all__ = ["PendingSignal", "SignalBehaviour", "SignalConfig", "SignalStats"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalConfig:
    """Settings of one SignalActor (θ map and calibration are replaced by a restart with new config)."""

    symbol: str
    strategy: AVI5Config
    instrument: InstrumentRules
    theta_map: ThetaMap = field(default_factory=ThetaMap)
    calibration: CalibrationStats | None = None
    max_store_attempts: int = 3


@dataclass(slots=True)
class SignalStats:
    """Counters of one signal incarnation; latencies in nanoseconds (bench/pipeline.py reads them)."""

    evaluated: int = 0
    skipped: int = 0
    incomplete_context: int = 0
    generated: int = 0
    allowed: int = 0
    queued: int = 0
    denied: int = 0
    stored: int = 0
    duplicates: int = 0
    published: int = 0
    store_failures: int = 0
    compute_ns: list[int] = field(default_factory=list)
    close_to_signal_ns: list[int] = field(default_factory=list)
    # close → signal in three legs (published signals only): received → this actor, the risk verdict's round
    # trip, the store (work queue + INSERT + reply)
    to_signal_ns: list[int] = field(default_factory=list)
    risk_ns: list[int] = field(default_factory=list)
    store_ns: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PendingSignal:
    """A signal between generation and publication."""

    signal: Signal
    received_ns: int
    status: SignalStatus = "new"
    queued_until: dt.datetime | None = None
    arrived_ns: int = 0  # IndicatorsComputed reached this actor
    checked_ns: int = 0  # CheckSignal sent to the RiskGate
    verdict_ns: int = 0  # the verdict came back


class SignalBehaviour:
    """The signal actor's state machine; every method runs in the owning actor's thread."""

    def __init__(
        self,
        config: SignalConfig,
        *,
        risk: RiskGate,
        publisher: SignalPublisher,
        work: WorkQueue,
        store: MarketStore,
        self_ref: MessageSink,
        keep_samples: int = 10_000,
    ) -> None:
        self.config = config
        self._risk = risk
        self._publisher = publisher
        self._work = work
        self._store = store
        self._self = self_ref
        self._keep = keep_samples
        self.stats = SignalStats()
        self.pending: dict[uuid.UUID, PendingSignal] = {}
        self.last_bar: dt.datetime | None = None
        self._log = log.bind(symbol=config.symbol)

    def start(self) -> None:
        """Start empty: duplicates across restarts are refused by storage (unique signal id per bar)."""

    def handle(self, message: object) -> None:
        """Handle one message."""
        if isinstance(message, IndicatorsComputed):
            self._on_indicators(message)
        elif isinstance(message, SignalAllowed):
            self._on_verdict(message.signal_id, "new", None, None)
            self.stats.allowed += 1
        elif isinstance(message, SignalQueued):
            self._on_verdict(message.signal_id, "queued", message.queued_until, None)
            self.stats.queued += 1
        elif isinstance(message, SignalDenied):
            self._on_verdict(message.signal_id, "denied", None, message.reason)
            self.stats.denied += 1
        elif isinstance(message, SignalStored):
            self._on_stored(message)
        elif isinstance(message, SignalStoreFailed):
            self._on_store_failed(message)
        else:
            self._log.warning("signal ignored message", kind=type(message).__name__)

    def _on_indicators(self, message: IndicatorsComputed) -> None:
        bar = message.indicators.bar_start
        if self.last_bar is not None and bar <= self.last_bar:
            self.stats.skipped += 1
            return
        self.last_bar = bar
        if message.book is None or message.ticker is None:
            self.stats.incomplete_context += 1
            return
        started = arrived = time.perf_counter_ns()
        decision = apply_avi5(
            message.indicators,
            book=message.book,
            ticker=message.ticker,
            theta_map=self.config.theta_map,
            config=self.config.strategy,
            now=message.now,
            instrument=self.config.instrument,
            calibration=self.config.calibration,
        )
        self.stats.evaluated += 1
        self._sample(self.stats.compute_ns, time.perf_counter_ns() - started + message.compute_ns)
        signal = decision.signal
        if signal is None:
            return
        self.stats.generated += 1
        checked = time.perf_counter_ns()
        self.pending[signal.id] = PendingSignal(
            signal=signal, received_ns=message.received_ns, arrived_ns=arrived, checked_ns=checked
        )
        self._risk.tell(CheckSignal(signal=signal, reply_to=self._self))
        # logged after the ask is on its way: the line's cost overlaps the risk check
        self._log.info("signal generated", side=signal.side.value, bar=str(bar), entry=str(signal.entry))

    def _on_verdict(
        self, signal_id: uuid.UUID, status: SignalStatus, queued_until: dt.datetime | None, reason: str | None
    ) -> None:
        pending = self.pending.get(signal_id)
        if pending is None:
            self._log.warning("verdict for unknown signal", signal_id=str(signal_id))
            return
        pending = dataclasses.replace(
            pending, status=status, queued_until=queued_until, verdict_ns=time.perf_counter_ns()
        )
        self.pending[signal_id] = pending
        if reason is not None:
            self._log.info("signal denied", signal_id=str(signal_id), reason=reason)
        self._submit_store(pending, reason, attempt=1)

    def _submit_store(self, pending: PendingSignal, reason: str | None, attempt: int) -> None:
        store, status = self._store, pending.status
        signal = pending.signal
        if pending.queued_until is not None:
            signal = signal.model_copy(update={"queued_until": pending.queued_until})

        async def persist() -> object:
            inserted = await store.store_signal(signal, status, reason)
            return SignalStored(signal_id=signal.id, inserted=inserted)

        self._work.submit(
            persist,
            self._self,
            lambda exc: SignalStoreFailed(signal_id=signal.id, error=repr(exc), attempt=attempt),
        )

    def _on_stored(self, stored: SignalStored) -> None:
        pending = self.pending.pop(stored.signal_id, None)
        if pending is None:
            return
        if not stored.inserted:
            self.stats.duplicates += 1
            self._log.info("signal already stored for bar", signal_id=str(stored.signal_id))
            return
        self.stats.stored += 1
        if pending.status == "denied":
            return
        now_ns = time.perf_counter_ns()
        elapsed_ns = now_ns - pending.received_ns
        self._sample(self.stats.close_to_signal_ns, elapsed_ns)
        self._sample(self.stats.to_signal_ns, pending.arrived_ns - pending.received_ns)
        self._sample(self.stats.risk_ns, pending.verdict_ns - pending.checked_ns)
        self._sample(self.stats.store_ns, now_ns - pending.verdict_ns)
        status: SignalStatus = pending.status
        event = SignalGenerated(
            signal=pending.signal,
            status="queued" if status == "queued" else "new",
            queued_until=pending.queued_until,
            bar_start_ms=int(pending.signal.bar_start.timestamp() * 1000),
            close_to_signal_ms=elapsed_ns / 1e6,
        )
        self._publisher.publish(event)
        self.stats.published += 1

    def _on_store_failed(self, failure: SignalStoreFailed) -> None:
        self.stats.store_failures += 1
        pending = self.pending.get(failure.signal_id)
        if pending is None:
            return
        if failure.attempt >= self.config.max_store_attempts:
            self.pending.pop(failure.signal_id, None)
            self._log.error("signal store gave up", signal_id=str(failure.signal_id), error=failure.error)
            return
        self._log.warning("signal store retried", attempt=failure.attempt, error=failure.error)
        self._submit_store(pending, None, attempt=failure.attempt + 1)

    def _sample(self, samples: list[int], value: int) -> None:
        if len(samples) >= self._keep:
            del samples[: self._keep // 2]
        samples.append(value)
