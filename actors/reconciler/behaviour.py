"""``ReconcilerBehaviour``: the ReconcilerActor's state machine, free of pykka (``actors.reconciler.actor``).

``handle`` dispatches with one ``match`` over ``ReconcilerMessage`` in sections: commands, the status ask,
replies from the trio side. A pass is two jobs: the read under the lock (``collect.read_pass``) and the
fenced write of the pass and its findings (``ReconcileStorePort.record_pass``), after which the lock is
released. Only a pass whose write was accepted acts — repairs, the kill switch, alerts, the hold verdict —
so a holder that stalled past its lease changes nothing (C-04).

The pass's UI event (``ReconciliationEvent``, SSE ``reconciliation``) is committed by that same write (G-03):
so it is computed before the write is submitted — the open findings as they will be after the pass, and
the hold they imply — and the same values are applied once the write is accepted (``PassRecorded``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from actors.errors import WorkRejectedError
from actors.host import unexpected
from actors.messages import MessageSink
from actors.ports import Job
from actors.position import AdoptExchangeClose, CancelOrphanOrders, FlattenSymbol, Revalidate
from actors.risk import Alert, AlertKind, CriticalDiscrepancy, ReconciliationVerdict, Severity, TradingState
from actors.timers import MessageTimers
from storage import FencedWriteRejectedError, FindingRecord, Lease, PassRecord, StoredFinding
from supervision.clock import Clock

from .collect import read_pass
from .config import ReconcilerConfig
from .deps import ReconcilerDeps
from .messages import (
    FindingsAcknowledged,
    FindingsLoaded,
    GetReconciliationStatus,
    OpenFinding,
    PassFailed,
    PassObserved,
    PassRecorded,
    PassRefused,
    PassSkipped,
    ReconciliationEvent,
    ReconciliationStatus,
    RunPass,
)
from .rules import Finding, FindingSeverity, Repair, classify

__all__ = ["ReconcilerBehaviour", "ReconcilerMessage"]

ReconcilerMessage = (
    RunPass
    | FindingsAcknowledged
    | GetReconciliationStatus
    | FindingsLoaded
    | PassObserved
    | PassSkipped
    | PassFailed
    | PassRecorded
    | PassRefused
)
"""Every message the ReconcilerActor handles: commands, the status ask, replies from the trio side."""

_STATES = {"halted": TradingState.HALTED, "reducing": TradingState.REDUCING}


@dataclass(frozen=True, slots=True)
class _Pending:
    """A pass whose write is in flight: what it found, and the event its write announces."""

    findings: tuple[Finding, ...]
    new: tuple[Finding, ...]
    resolved: tuple[str, ...]
    event: ReconciliationEvent


class ReconcilerBehaviour:
    """The reconciler's state machine (see the module docstring and ``actors.reconciler.actor``)."""

    def __init__(
        self, config: ReconcilerConfig, deps: ReconcilerDeps, clock: Clock, self_ref: MessageSink, log: Any
    ) -> None:
        self.config = config
        self.deps = deps
        self.clock = clock
        self.market: Clock = deps.market_clock or clock
        self.self_ref = self_ref
        self.log = log
        self._timers = MessageTimers(clock, self_ref, log)
        self._open: dict[str, OpenFinding] = {}
        self._loaded = False
        self._wanted: str | None = None  # a pass asked for before the open findings were loaded
        self._running = False
        self._started = 0.0
        self._pending: _Pending | None = None
        self._passes: deque[PassRecord] = deque(maxlen=config.history)
        self._recorded = False
        self._skipped = self._refused = self._failed = 0
        self._last_holder: str | None = None

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        """Load the open findings, then run the start-up pass (new exposure is held until it is recorded)."""
        self._load()
        self._wanted = "start"

    def stop(self) -> None:
        """Cancel the next pass's timer."""
        self._timers.close()

    # -- messages --------------------------------------------------------------------------------------

    def handle(self, message: ReconcilerMessage) -> ReconciliationStatus | None:
        """Dispatch one message; ``GetReconciliationStatus`` answers with the status.

        Raises:
            TypeError: ``message`` is not a ``ReconcilerMessage``.
        """
        match message:
            # -- commands and the status ask
            case RunPass():
                self._run(message.reason)
            case FindingsAcknowledged():
                self.log.info("findings acknowledged", ids=list(message.ids), by=message.by)
                self._load()
            case GetReconciliationStatus():
                return self._status()
            # -- replies (work queue → reconciler)
            case FindingsLoaded():
                self._restore(message.findings)
            case PassObserved():
                self._classify(message)
            case PassSkipped():
                self._skipped += 1
                self._last_holder = message.holder
                self._count("skipped")
                self.log.info("pass skipped: another instance holds the lock", holder=message.holder)
                self._done()
            case PassFailed():
                self._failed += 1
                self._count("failed")
                self.log.warning("reconciliation pass failed", stage=message.stage, error=message.error)
                self._done()
            case PassRecorded():
                self._act(message.record)
            case PassRefused():
                self._pending = None
                if message.fenced:
                    self._refused += 1
                    self._count("refused")
                    self.log.warning("pass write refused by the fencing token", error=message.error)
                else:
                    self._failed += 1
                    self._count("failed")
                    self.log.warning("pass write failed", error=message.error)
                self._done()
            case _:
                raise unexpected("ReconcilerBehaviour", message)
        return None

    # -- the pass: read ---------------------------------------------------------------------------------

    def _run(self, reason: str) -> None:
        if not self._loaded:
            self._wanted = reason
            if not self._running:
                self._load()  # the start-up load failed: try again (the timer's pass brings us here)
            return
        if self._running:
            self.log.info("pass already running", reason=reason)
            return
        self._running = True
        self._started = time.perf_counter()
        deps, config, symbols, now = self.deps, self.config, tuple(self.deps.symbols()), self.market.now()

        async def read() -> PassObserved | PassSkipped:
            return await read_pass(deps, config, symbols, now)

        def failed(exc: Exception) -> PassFailed:
            return PassFailed(stage="read", error=repr(exc))

        self._submit(read, failed)

    def _load(self) -> None:
        store = self.deps.store

        async def load() -> FindingsLoaded:
            return FindingsLoaded(findings=tuple(await store.open_findings()))

        def failed(exc: Exception) -> PassFailed:
            return PassFailed(stage="load", error=repr(exc))

        self._submit(load, failed)

    def _restore(self, stored: tuple[StoredFinding, ...]) -> None:
        restored: dict[str, OpenFinding] = {}
        for f in stored:
            if f.key is None:
                continue
            restored[f.key] = OpenFinding(
                key=f.key,
                symbol=f.symbol,
                severity=f.severity,
                kind=f.kind,
                since=f.at,
                details=tuple(sorted((k, str(v)) for k, v in f.details.items())),
                position_id=f.position_id,
                repair=f.repair,
                resolved=f.resolved_at is not None,
                acknowledged=f.acknowledged_at is not None,
                id=f.id,
            )
        self._open = restored
        self._loaded = True
        self._gauges()
        if self._recorded:
            self._verdict()
        if self._wanted is not None:
            reason, self._wanted = self._wanted, None
            self._run(reason)

    # -- the pass: classify and write --------------------------------------------------------------------

    def _classify(self, observed: PassObserved) -> None:
        snapshot = observed.snapshot
        findings = [f for s in snapshot.symbols for f in classify(s, self.config)]
        current = {f.key for f in findings}
        new = [f for f in findings if f.key not in self._open or self._open[f.key].resolved]
        resolved = [k for k, o in self._open.items() if not o.resolved and k not in current]
        counts = {s: sum(1 for f in findings if f.severity is s) for s in FindingSeverity}
        record = PassRecord(
            run_id=snapshot.run_id,
            fence=snapshot.fence,
            holder=snapshot.holder,
            started_at=snapshot.started_at,
            duration_ms=(time.perf_counter() - self._started) * 1000,
            symbols=len(snapshot.symbols),
            info=counts[FindingSeverity.INFO],
            warning=counts[FindingSeverity.WARNING],
            critical=counts[FindingSeverity.CRITICAL],
            clean=counts[FindingSeverity.CRITICAL] == 0,
        )
        now = self.market.now()
        opened = tuple(self._opened(f, now) for f in new)
        event = ReconciliationEvent(
            run_id=record.run_id,
            at=now,
            clean=record.clean,
            # a recorded pass leaves new exposure held only while a critical finding is open (``_verdict``)
            hold=bool(_critical(self._after(opened, resolved).values())),
            duration_ms=record.duration_ms,
            info=record.info,
            warning=record.warning,
            critical=record.critical,
            new_findings=opened,
            resolved=tuple(resolved),
        )
        self._pending = _Pending(tuple(findings), tuple(new), tuple(resolved), event)
        rows = [
            FindingRecord(
                key=f.key,
                symbol=f.symbol,
                severity=f.severity.value,
                kind=f.kind,
                position_id=f.position_id,
                details=dict(f.details),
                repair=None if f.repair is None else f.repair.value,
            )
            for f in new
        ]
        self._record(record, rows, resolved, observed.lease, event)

    def _record(
        self,
        record: PassRecord,
        rows: list[FindingRecord],
        resolved: list[str],
        lease: Lease,
        event: ReconciliationEvent,
    ) -> None:
        store, lock, on_recorded = self.deps.store, self.deps.lock, self.deps.on_recorded

        async def write() -> PassRecorded:
            try:
                await store.record_pass(record, rows, resolved, announce=event)
            finally:
                await lock.release(lease)
            if on_recorded is not None:
                on_recorded(record)
            return PassRecorded(record=record)

        def failed(exc: Exception) -> PassRefused:
            return PassRefused(error=repr(exc), fenced=isinstance(exc, FencedWriteRejectedError))

        self._submit(write, failed)

    # -- the pass: act (only once its write is accepted) --------------------------------------------------

    def _act(self, record: PassRecord) -> None:
        if self._pending is None:
            self._done()
            return
        pending, self._pending = self._pending, None
        findings, new, event = list(pending.findings), list(pending.new), pending.event
        self._open = self._after(event.new_findings, event.resolved)
        self._repairs(findings)
        for f in new:
            if f.severity is FindingSeverity.CRITICAL:
                self._critical(f)
        self._recorded = True
        self._passes.appendleft(record)
        self._metrics(record, new)
        hold = self._verdict()  # the event's hold, unless an acknowledgement was loaded meanwhile
        self.log.info(
            "reconciliation pass recorded",
            clean=record.clean,
            hold=hold,
            info=record.info,
            warning=record.warning,
            critical=record.critical,
            duration_ms=round(record.duration_ms, 1),
            fence=record.fence,
        )
        if self.deps.publisher is not None:
            self.deps.publisher.publish(event)  # already in the outbox: committed with the pass
        self._done()

    @staticmethod
    def _opened(f: Finding, now: dt.datetime) -> OpenFinding:
        return OpenFinding(
            key=f.key,
            symbol=f.symbol,
            severity=f.severity.value,
            kind=f.kind,
            since=now,
            details=f.details,
            position_id=f.position_id,
            repair=None if f.repair is None else f.repair.value,
        )

    def _after(self, opened: Iterable[OpenFinding], resolved: Iterable[str]) -> dict[str, OpenFinding]:
        """Return the open findings as a recorded pass leaves them (``_open`` itself is not changed).

        A resolved critical finding stays open until an admin acknowledges it; any other is closed.
        """
        after = dict(self._open)
        for o in opened:
            after[o.key] = o
        for key in resolved:
            known = after.get(key)
            if known is None:
                continue  # reloaded meanwhile (an acknowledgement): nothing left to resolve
            if known.severity == FindingSeverity.CRITICAL.value and not known.acknowledged:
                after[key] = replace(known, resolved=True)
            else:
                del after[key]
        return after

    def _repairs(self, findings: list[Finding]) -> None:
        revalidate: set[str] = set()
        for f in findings:
            match f.repair:
                case Repair.REVALIDATE:
                    revalidate.add(f.symbol)
                case Repair.ADOPT_CLOSE if f.position_id is not None:
                    adopt = AdoptExchangeClose(position_id=f.position_id, reason=f.sentence)
                    self._tell_position(f.symbol, adopt)
                case Repair.CANCEL_ORPHANS:
                    cancel = CancelOrphanOrders(order_link_ids=f.targets, reason=f.sentence)
                    self._tell_position(f.symbol, cancel)
                case _:
                    pass
        for symbol in sorted(revalidate):
            self._tell_position(symbol, Revalidate(reason="reconciliation"))

    def _critical(self, finding: Finding) -> None:
        now = self.market.now()
        self.log.error(
            "critical reconciliation finding", kind=finding.kind, symbol=finding.symbol, key=finding.key
        )
        self.deps.risk.tell(
            CriticalDiscrepancy(
                symbol=finding.symbol,
                kind=finding.kind,
                details=finding.sentence,
                at=now,
                state=_STATES[self.config.on_critical],
            )
        )
        if self.config.liquidate_on_critical and finding.symbol:
            self._tell_position(finding.symbol, FlattenSymbol(reason=finding.sentence))
        if self.deps.alerts is not None:
            self.deps.alerts.submit(
                Alert(
                    event=AlertKind.RECONCILIATION_CRITICAL,
                    severity=Severity.CRITICAL,
                    at=now,
                    position_id=finding.position_id,
                    symbol=finding.symbol,
                    details=(("kind", finding.kind), ("reason", finding.sentence)),
                )
            )

    def _verdict(self) -> bool:
        """Tell the RiskActor whether new exposure may be approved; return whether it is held."""
        critical = self._open_critical()
        hold = not self._recorded or bool(critical)
        reason = (
            "no reconciliation pass recorded yet"
            if not self._recorded
            else f"{len(critical)} critical finding(s) open"
            if critical
            else "last pass clean"
        )
        self.deps.risk.tell(ReconciliationVerdict(clean=not hold, reason=reason, at=self.market.now()))
        if self.deps.metrics is not None:
            self.deps.metrics.hold.set(1 if hold else 0)
        return hold

    # -- helpers ---------------------------------------------------------------------------------------

    def _done(self) -> None:
        self._running = False
        self._timers.tell_later(self.config.interval_s, RunPass("timer"))

    def _submit(self, job: Job, failed: Any) -> None:
        try:
            self.deps.work.submit(job, self.self_ref, failed)
        except WorkRejectedError as exc:
            self.self_ref.tell(failed(exc))

    def _tell_position(self, symbol: str, message: object) -> None:
        try:
            self.deps.positions(symbol).tell(message)
        except Exception as exc:  # boundary: a restarting PositionActor must not crash the reconciler
            self.log.warning(
                "repair undeliverable", symbol=symbol, kind=type(message).__name__, error=repr(exc)
            )

    def _count(self, outcome: str) -> None:
        if self.deps.metrics is not None:
            self.deps.metrics.passes.labels(outcome=outcome).inc()

    def _metrics(self, record: PassRecord, new: list[Finding]) -> None:
        metrics = self.deps.metrics
        if metrics is None:
            return
        metrics.pass_duration.observe(record.duration_ms)
        clean = record.info + record.warning + record.critical == 0
        metrics.passes.labels(outcome="clean" if clean else "findings").inc()
        for f in new:
            metrics.findings.labels(severity=f.severity.value, kind=f.kind).inc()
        metrics.last_pass.set(self.clock.now().timestamp())
        self._gauges()

    def _gauges(self) -> None:
        metrics = self.deps.metrics
        if metrics is None:
            return
        for severity in FindingSeverity:
            metrics.open_findings.labels(severity=severity.value).set(
                sum(1 for o in self._open.values() if o.severity == severity.value)
            )
        unresolved = [o.since for o in self._open.values() if not o.resolved]
        now = self.market.now()
        metrics.drift_age.set(max(((now - s).total_seconds() for s in unresolved), default=0.0))

    def _open_critical(self) -> list[OpenFinding]:
        return _critical(self._open.values())

    def _status(self) -> ReconciliationStatus:
        return ReconciliationStatus(
            passes=tuple(self._passes),
            open_findings=tuple(sorted(self._open.values(), key=lambda o: (o.since, o.key))),
            hold=not self._recorded or bool(self._open_critical()),
            running=self._running,
            skipped=self._skipped,
            last_holder_seen=self._last_holder,
            refused=self._refused,
            failed=self._failed,
            interval_s=self.config.interval_s,
            owner=self.deps.lock.owner,
        )


def _critical(findings: Iterable[OpenFinding]) -> list[OpenFinding]:
    """Return the critical findings not yet acknowledged (they hold new exposure, C-03)."""
    critical = FindingSeverity.CRITICAL.value
    return [o for o in findings if o.severity == critical and not o.acknowledged]
