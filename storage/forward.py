"""Forward-validation phases (S-07): ``forward_phases``, and the reads a phase's evaluation needs.

At most one phase runs at a time (a unique partial index). A phase is judged once (``decide``: passed or
failed, with its metrics, the reasons and who decided, plus an ``audit_trail`` row in the same transaction);
the live-trading gate reads the newest phase's status.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from storage.audit import AuditRepository
from storage.database import Database

__all__ = ["ForwardPhaseRecord", "ForwardRepository", "ForwardSignalRow"]


@dataclass(frozen=True, slots=True)
class ForwardPhaseRecord:
    """One forward phase as stored."""

    id: str
    mode: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    min_days: int
    thresholds: Mapping[str, object]
    metrics: Mapping[str, object] | None
    reasons: Sequence[str]
    decided_by: str | None


@dataclass(frozen=True, slots=True)
class ForwardSignalRow:
    """A signal generated during a phase, with what its simulated trade needs."""

    id: str
    symbol: str
    side: str
    entry: Decimal
    sl: Decimal
    tp1: Decimal
    tp2: Decimal
    tp3: Decimal
    qty: Decimal
    risk_usd: Decimal
    risk_r: Decimal
    p_win: Decimal
    strategy: str
    strategy_version: str
    created_at: datetime
    bar_start: datetime
    atr_above_p80: bool | None
    book_depth_usd: Decimal | None


_LATEST = """
    SELECT id, mode, status, started_at, ended_at, min_days, thresholds, metrics, reasons, decided_by
    FROM forward_phases ORDER BY started_at DESC LIMIT 1
"""
_START = """
    INSERT INTO forward_phases (mode, started_at, min_days, thresholds) VALUES ($1, $2, $3, $4)
    RETURNING id, mode, status, started_at, ended_at, min_days, thresholds, metrics, reasons, decided_by
"""
_DECIDE = """
    UPDATE forward_phases SET status = $2, ended_at = $3, metrics = $4, reasons = $5, decided_by = $6
    WHERE id = $1 AND status = 'running'
    RETURNING id, mode, status, started_at, ended_at, min_days, thresholds, metrics, reasons, decided_by
"""
_SIGNALS = """
    SELECT id, symbol, side, entry, sl, tp1, tp2, tp3, qty, risk_usd, risk_r, p_win, strategy,
        strategy_version, created_at, bar_start, atr_above_p80, book_depth_usd
    FROM signals WHERE created_at >= $1 AND created_at < $2 AND status IN ('new', 'queued', 'expired')
    ORDER BY created_at, symbol
"""


def _json(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value


def _record(row: Mapping[str, object]) -> ForwardPhaseRecord:
    reasons = _json(row["reasons"]) or []
    return ForwardPhaseRecord(
        id=str(row["id"]),
        mode=str(row["mode"]),
        status=str(row["status"]),
        started_at=row["started_at"],  # type: ignore[arg-type]
        ended_at=row["ended_at"],  # type: ignore[arg-type]
        min_days=int(row["min_days"]),  # type: ignore[call-overload]
        thresholds=_json(row["thresholds"]),  # type: ignore[arg-type]
        metrics=_json(row["metrics"]),  # type: ignore[arg-type]
        reasons=[str(r) for r in reasons],  # type: ignore[attr-defined]
        decided_by=None if row["decided_by"] is None else str(row["decided_by"]),
    )


class ForwardRepository:
    """Explicit SQL over ``forward_phases`` (and the signals a phase evaluates)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def latest(self) -> ForwardPhaseRecord | None:
        """Return the newest phase (None: no phase ever ran)."""
        row = await self._db.fetchrow(_LATEST)
        return None if row is None else _record(dict(row))

    async def start(
        self, mode: str, started_at: datetime, min_days: int, thresholds: Mapping[str, object], actor: str
    ) -> ForwardPhaseRecord:
        """Start a phase (audited); an already running one raises ``IntegrityViolationError``."""
        async with self._db.transaction() as conn:
            row = await conn.fetchrow(_START, mode, started_at, min_days, dict(thresholds))
            assert row is not None
            record = _record(dict(row))
            await AuditRepository(conn).append(
                "forward_phase_started", {"mode": mode, "min_days": min_days}, actor=actor,
                target_type="forward_phase", target_id=record.id,
            )  # fmt: skip
        return record

    async def decide(  # noqa: PLR0917 - the decision's facts
        self,
        phase_id: str,
        status: str,
        ended_at: datetime,
        metrics: Mapping[str, object],
        reasons: Sequence[str],
        actor: str,
    ) -> ForwardPhaseRecord | None:
        """Close a running phase as passed/failed/aborted with its metrics (audited); None if not running."""
        async with self._db.transaction() as conn:
            row = await conn.fetchrow(
                _DECIDE, uuid.UUID(phase_id), status, ended_at, dict(metrics), list(reasons), actor
            )
            if row is None:
                return None
            await AuditRepository(conn).append(
                f"forward_phase_{status}", {"metrics": dict(metrics), "reasons": list(reasons)},
                actor=actor, target_type="forward_phase", target_id=phase_id,
            )  # fmt: skip
        return _record(dict(row))

    async def signals_between(self, start: datetime, end: datetime) -> list[ForwardSignalRow]:
        """Return the signals generated in [start, end) that a trader could have taken, oldest first."""
        rows = await self._db.fetch(_SIGNALS, start, end)
        return [ForwardSignalRow(**{**dict(r), "id": str(r["id"])}) for r in rows]
