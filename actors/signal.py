"""SignalActor (``root/symbols/<SYM>/signal``): AVI-5 → risk check → store → ``SignalGenerated`` (S-02..S-04).

``SignalBehaviour`` keeps, per incarnation, the last evaluated bar and the signals waiting for a risk verdict
or for storage. The steps, all by message (no blocking, DESIGN §3):

1. ``IndicatorsComputed`` for a bar newer than the last evaluated one → ``apply_avi5``; no signal → done.
2. A signal → ``CheckSignal(signal, reply_to=self)`` to the ``RiskGate``.
3. ``SignalAllowed`` / ``SignalQueued`` / ``SignalDenied`` → store the signal (status new / queued / denied)
   through the work queue. Storage inserts once per signal id — a UUIDv5 of (strategy, symbol, side, bar) —
   so a re-evaluated bar after any restart is refused there.
4. ``SignalStored(inserted=True)`` for a new or queued signal → ``SignalPublisher.publish(SignalGenerated)``.
   ``inserted=False`` (the bar already had its signal) publishes nothing: no signal twice for one bar.

Signals are sized with 1R (``TradingInputs.risk_per_trade_usd``, R-01), the unit the RiskActor counts in.

Gap repair (D-02): a bar repaired over REST after a hole is not evaluated (too late to trade on), and neither
is a bar whose indicator window holds a bar that could not be recovered; both are counted, logged and on the
``algogrid_signal_skipped`` metric with their reason.

``GetSignalStats`` returns a copy of the counters (tests, bench). ``ThetaMapChanged`` swaps the θ map and
p_win statistics (S-05: a new calibration version is used from the next bar, without a restart).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import time
import uuid
from dataclasses import dataclass

import structlog

from actors.config import SignalConfig, TradingInputs
from actors.host import SymbolActor, unexpected
from actors.market_metrics import MarketMetrics
from actors.messages import (
    CheckSignal,
    GetSignalStats,
    IndicatorsComputed,
    MessageSink,
    SignalAllowed,
    SignalDenied,
    SignalGenerated,
    SignalQueued,
    SignalStats,
    SignalStored,
    SignalStoreFailed,
    ThetaMapChanged,
)
from actors.ports import MarketStore, RiskGate, SignalPublisher, SignalStatus, WorkQueue
from strategy_core import Signal, apply_avi5

__all__ = ["PendingSignal", "SignalActor", "SignalBehaviour", "SignalMessage", "SignalStats"]

log = structlog.get_logger(__name__)


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


SignalMessage = (
    IndicatorsComputed
    | GetSignalStats
    | SignalAllowed
    | SignalQueued
    | SignalDenied
    | SignalStored
    | SignalStoreFailed
    | ThetaMapChanged
)
"""Every message a SignalActor handles: indicators, risk verdicts, store replies, the stats ask, θ maps."""


class SignalBehaviour:
    """The signal actor's state machine; every method runs in the owning actor's thread."""

    def __init__(
        self,
        symbol: str,
        config: SignalConfig,
        inputs: TradingInputs,
        *,
        risk: RiskGate,
        publisher: SignalPublisher,
        work: WorkQueue,
        store: MarketStore,
        self_ref: MessageSink,
        metrics: MarketMetrics | None = None,
    ) -> None:
        self.symbol = symbol
        self.config = config
        self.inputs = inputs
        self._metrics = metrics
        self._instrument = inputs.instrument(symbol)
        self._risk = risk
        self._publisher = publisher
        self._work = work
        self._store = store
        self._self = self_ref
        self._keep = config.keep_samples
        self.stats = SignalStats()
        self.pending: dict[uuid.UUID, PendingSignal] = {}
        self.last_bar: dt.datetime | None = None
        self.theta_map = inputs.theta_map_of(symbol)
        self.calibration = inputs.calibration_of(symbol)
        self._log = log.bind(symbol=symbol)

    def start(self) -> None:
        """Start empty: duplicates across restarts are refused by storage (unique signal id per bar)."""

    def stop(self) -> None:
        """Nothing to cancel: pending signals die with the incarnation (their bar is not re-evaluated)."""

    def handle(self, message: SignalMessage) -> SignalStats | None:
        """Handle one message; ``GetSignalStats`` returns a copy of the counters, every other ``None``.

        Raises:
            TypeError: ``message`` is not a ``SignalMessage``.
        """
        match message:
            # -- commands (events from the indicator, asks)
            case IndicatorsComputed():
                self._on_indicators(message)
            case GetSignalStats():
                return copy.deepcopy(self.stats)
            case ThetaMapChanged():
                self._on_theta_map(message)
            # -- replies (risk verdicts)
            case SignalAllowed():
                self._on_verdict(message.signal_id, "new", None, None)
                self.stats.allowed += 1
            case SignalQueued():
                self._on_verdict(message.signal_id, "queued", message.queued_until, None)
                self.stats.queued += 1
            case SignalDenied():
                self._on_verdict(message.signal_id, "denied", None, message.reason)
                self.stats.denied += 1
            # -- replies (work queue → signal)
            case SignalStored():
                self._on_stored(message)
            case SignalStoreFailed():
                self._on_store_failed(message)
            case _:
                raise unexpected("SignalBehaviour", message)
        return None

    # -- commands

    def _on_indicators(self, message: IndicatorsComputed) -> None:
        bar = message.indicators.bar_start
        if self.last_bar is not None and bar <= self.last_bar:
            self.stats.skipped += 1
            return
        self.last_bar = bar
        if self._skipped_for_gap(message):
            return
        if message.book is None or message.ticker is None:
            self.stats.incomplete_context += 1
            return
        started = arrived = time.perf_counter_ns()
        decision = apply_avi5(
            message.indicators,
            book=message.book,
            ticker=message.ticker,
            theta_map=self.theta_map,
            config=self.inputs.strategy,
            now=message.now,
            instrument=self._instrument,
            risk_per_trade_usd=self.inputs.risk_per_trade_usd,
            calibration=self.calibration,
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

    def _skipped_for_gap(self, message: IndicatorsComputed) -> bool:
        """Return True (counted, logged, on the metric) when the bar must not be evaluated (D-02)."""
        if message.repaired:
            self.stats.repaired_bars += 1
            reason = "repaired_bar"
        elif message.missing_bars:
            self.stats.window_holes += 1
            reason = "missing_bar"
            self._log.warning(
                "signal skipped: missing bar in window",
                bar=str(message.indicators.bar_start),
                missing=[str(m) for m in message.missing_bars],
            )
        else:
            return False
        if self._metrics is not None:
            self._metrics.signals_skipped.labels(self.symbol, reason).inc()
        return True

    def _on_theta_map(self, message: ThetaMapChanged) -> None:
        if message.version == self.theta_map.version:
            return
        self.theta_map, self.calibration = message.theta_map, message.calibration
        self._log.info("theta map changed", version=message.version)

    # -- replies

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
        if self._metrics is not None:
            self._metrics.signal_generation_latency.observe(event.close_to_signal_ms)

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

    # -- egress

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

    def _sample(self, samples: list[int], value: int) -> None:
        if len(samples) >= self._keep:
            del samples[: self._keep // 2]
        samples.append(value)


class SignalActor(SymbolActor[SignalMessage, SignalConfig]):
    """Supervised host of ``SignalBehaviour``; a restart starts empty."""

    def build(self) -> SignalBehaviour:
        """Return a fresh signal behaviour checking with the RiskActor."""
        return SignalBehaviour(
            self._symbol,
            self._config,
            self._inputs,
            risk=self._deps.risk_gate(),
            publisher=self._deps.publisher,
            work=self._deps.work,
            store=self._deps.store,
            self_ref=self.self_ref,
            metrics=self._deps.market_metrics,
        )
