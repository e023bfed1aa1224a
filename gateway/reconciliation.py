"""Reconciliation as the gateway sees it (C-01..C-04, G-01, G-03): bodies, the SSE event, the port.

``GET /admin/reconciliation/status`` answers ``ReconciliationStatusBody`` (last passes, open findings, the
lock holder, whether new exposure is held); ``POST /admin/reconciliation/acknowledge`` takes an
``AcknowledgeBody`` (finding ids, or none for all) and answers ``AcknowledgeResult``; every pass is an SSE
event ``reconciliation`` (``ReconciliationEventView``). The engine side is ``ReconciliationPort``
(``algogrid.reconciler_wiring.ReconciliationAccess`` in ``algogrid run``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "AcknowledgeBody",
    "AcknowledgeResult",
    "FindingBody",
    "PassBody",
    "ReconciliationEventView",
    "ReconciliationPort",
    "ReconciliationStatusBody",
]

_READ = ConfigDict(frozen=True, extra="ignore", from_attributes=True)


class FindingBody(BaseModel):
    """An open finding: unresolved, or critical and not yet acknowledged (C-02)."""

    model_config = _READ

    id: int | None = Field(default=None, description="reconciliation_log id (null until reloaded)")
    key: str
    symbol: str | None = None
    severity: str = Field(description="info | warning | critical")
    kind: str
    since: dt.datetime
    details: dict[str, str] = Field(default_factory=dict)
    position_id: str | None = None
    repair: str | None = Field(default=None, description="revalidate | adopt_close | cancel_orphans")
    resolved: bool = False
    acknowledged: bool = False

    @field_validator("details", mode="before")
    @classmethod
    def _pairs(cls, value: Any) -> Any:
        """Accept the ``(name, value)`` pairs an ``OpenFinding`` carries (as in its outbox payload)."""
        if isinstance(value, list | tuple):
            return dict(value)
        return value


class PassBody(BaseModel):
    """One recorded pass."""

    model_config = _READ

    run_id: str
    fence: int = Field(description="the lock's fencing token the pass wrote with (C-04)")
    holder: str
    started_at: dt.datetime
    duration_ms: float
    symbols: int
    info: int
    warning: int
    critical: int
    clean: bool


class ReconciliationStatusBody(BaseModel):
    """``GET /admin/reconciliation/status``."""

    model_config = _READ

    passes: list[PassBody] = Field(description="newest first")
    open_findings: list[FindingBody]
    hold: bool = Field(description="new exposure held: no pass yet, or a critical finding unacknowledged")
    running: bool
    lock_holder: str | None = Field(description="current holder of the reconciler lock (owner:token)")
    owner: str = Field(description="this engine's lock owner id")
    skipped: int
    refused: int
    failed: int
    interval_s: float


class AcknowledgeBody(BaseModel):
    """``POST /admin/reconciliation/acknowledge``: the finding ids, or none to acknowledge every one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ids: list[int] | None = Field(default=None, min_length=1)


class AcknowledgeResult(BaseModel):
    """The findings acknowledged (audited as ``reconciliation.acknowledged``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    acknowledged: list[int]


class ReconciliationEventView(BaseModel):
    """SSE event ``reconciliation``: a pass ended (counts, new findings, resolved keys, the hold).

    The outbox row is written with the pass (``storage.ReconciliationRepository.record_pass``); its payload is
    the JSON form of the ``ReconciliationEvent``, which this view validates (``gateway.relay.render``).
    """

    model_config = _READ

    run_id: str
    at: dt.datetime
    clean: bool
    hold: bool
    duration_ms: float
    info: int
    warning: int
    critical: int
    new_findings: list[FindingBody] = Field(default_factory=list)
    resolved: list[str] = Field(default_factory=list)

    @property
    def id(self) -> str:
        """Return the pass's id (the feed logs events by id)."""
        return self.run_id

    @property
    def symbol(self) -> str | None:
        """Return None: a pass covers every symbol."""
        return None

    @classmethod
    def of(cls, event: Any) -> ReconciliationEventView:
        """Return the view of an ``actors.reconciler.ReconciliationEvent``."""
        findings = [finding_body(f) for f in event.new_findings]
        return cls(
            run_id=event.run_id,
            at=event.at,
            clean=event.clean,
            hold=event.hold,
            duration_ms=event.duration_ms,
            info=event.info,
            warning=event.warning,
            critical=event.critical,
            new_findings=findings,
            resolved=list(event.resolved),
        )


def finding_body(finding: Any) -> FindingBody:
    """Return the body of an ``actors.reconciler.OpenFinding``."""
    return FindingBody(
        id=finding.id,
        key=finding.key,
        symbol=finding.symbol,
        severity=finding.severity,
        kind=finding.kind,
        since=finding.since,
        details=dict(finding.details),
        position_id=finding.position_id,
        repair=finding.repair,
        resolved=finding.resolved,
        acknowledged=finding.acknowledged,
    )


class ReconciliationPort(Protocol):
    """The engine's reconciliation, called from the trio thread; never blocks it."""

    async def status(self, timeout_s: float) -> ReconciliationStatusBody:
        """Ask the ReconcilerActor for its status and read the lock's holder.

        Raises:
            EngineUnavailableError: the reconciler is not running.
            EngineTimeoutError: no answer within ``timeout_s``.
        """

    async def acknowledge(self, ids: list[int] | None, by: str) -> list[int]:
        """Acknowledge findings (all when ``ids`` is None), audited; tell the reconciler; return the ids."""
