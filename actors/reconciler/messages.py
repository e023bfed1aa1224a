"""Messages of the ReconcilerActor (``root/reconciler``, C-01..C-04).

* in: ``RunPass`` (the timer's, or anyone's: "reconcile now", e.g. after a private-stream resume),
  ``FindingsAcknowledged`` (the gateway, after an admin's acknowledgement is stored),
  ``GetReconciliationStatus`` (→ ``ReconciliationStatus``);
* replies from the trio side: ``FindingsLoaded`` (open findings, at start and after an acknowledgement),
  ``PassObserved`` / ``PassSkipped`` / ``PassFailed`` (the read), ``PassRecorded`` / ``PassRefused`` (the
  fenced write);
* out: ``CriticalDiscrepancy`` and ``ReconciliationVerdict`` to the RiskActor, repairs to PositionActors
  (``actors.position``'s ``Revalidate``, ``AdoptExchangeClose``, ``CancelOrphanOrders``), alerts, and
  ``ReconciliationEvent`` (SSE channel ``reconciliation``): committed with the pass by the fenced write,
  then told to the publisher.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from storage import Lease, PassRecord, StoredFinding
from supervision import Ask

from .snapshot import PassSnapshot

__all__ = [
    "FindingsAcknowledged",
    "FindingsLoaded",
    "GetReconciliationStatus",
    "OpenFinding",
    "PassFailed",
    "PassObserved",
    "PassRecorded",
    "PassRefused",
    "PassSkipped",
    "ReconciliationEvent",
    "ReconciliationStatus",
    "RunPass",
]


@dataclass(frozen=True, slots=True)
class RunPass:
    """Command: reconcile now (``reason`` says who asked: ``start``, ``timer``, ``stream_resumed`` …)."""

    reason: str = "timer"


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingsAcknowledged:
    """Event (gateway → reconciler): an admin acknowledged findings ``ids`` (already stored and audited)."""

    ids: tuple[int, ...]
    by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenFinding:
    """A finding still open: unresolved, or critical and not yet acknowledged by an admin."""

    key: str
    symbol: str | None
    severity: str
    kind: str
    since: dt.datetime
    details: tuple[tuple[str, str], ...] = ()
    position_id: str | None = None
    repair: str | None = None
    resolved: bool = False
    acknowledged: bool = False
    id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconciliationStatus:
    """The reconciler's state for ops (``GET /admin/reconciliation/status``) and tests."""

    passes: tuple[PassRecord, ...]  # newest first
    open_findings: tuple[OpenFinding, ...]
    hold: bool  # new exposure held (no clean pass yet, or a critical finding open)
    running: bool  # a pass is in flight
    skipped: int  # passes skipped because another holder had the lock
    last_holder_seen: str | None  # the other holder when a pass was last skipped
    refused: int  # passes whose fenced write was refused
    failed: int
    interval_s: float
    owner: str  # this instance's lock owner id


@dataclass(frozen=True, slots=True, kw_only=True)
class GetReconciliationStatus(Ask[ReconciliationStatus]):
    """Ask: the reconciler's ``ReconciliationStatus``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconciliationEvent:
    """Event (reconciler → publisher, SSE ``reconciliation``): a pass ended, with its counts and findings."""

    run_id: str
    at: dt.datetime
    clean: bool
    hold: bool
    duration_ms: float
    info: int
    warning: int
    critical: int
    new_findings: tuple[OpenFinding, ...]
    resolved: tuple[str, ...]


# ------------------------------------------------------------------ replies from the trio side


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingsLoaded:
    """Reply (trio → reconciler): the open findings stored in ``reconciliation_log``."""

    findings: tuple[StoredFinding, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PassObserved:
    """Reply (trio → reconciler): the pass read everything under ``lease`` (still held)."""

    snapshot: PassSnapshot
    lease: Lease


@dataclass(frozen=True, slots=True, kw_only=True)
class PassSkipped:
    """Reply (trio → reconciler): another instance holds the lock (C-04); nothing was read."""

    holder: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PassFailed:
    """Reply (trio → reconciler): the pass failed at ``stage`` (``read``/``load``); the lock is released."""

    stage: str
    error: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PassRecorded:
    """Reply (trio → reconciler): the pass and its findings are stored under its fencing token."""

    record: PassRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class PassRefused:
    """Reply (trio → reconciler): the write failed; ``fenced``: a newer lease already wrote (C-04)."""

    error: str
    fenced: bool
