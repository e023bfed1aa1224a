"""Repository of the risk room: trading state + audit, denials, webhook deliveries, Redis mirror (R-04, G-05).

Runs on the trio side only (actors reach it through the work queue). It speaks to PostgreSQL and Redis through
two narrow Protocols so that ``storage``'s handles (and a plain asyncpg connection in tests) satisfy them.

Writes of the trading state and its audit row happen in **one** SQL statement (a data-modifying CTE), so the
audit trail can never miss a change and no transaction API is needed. PostgreSQL is the source of truth; the
Redis mirror is written after the commit and is best effort (a Redis blip is logged, never fatal).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import structlog

from .errors import RiskStoreError
from .state import ChangeSource, TradingState, TradingStateRecord
from .webhooks import DeliveryAttempt

__all__ = [
    "MIRROR_CHANNEL",
    "MIRROR_KEY",
    "DenialRecord",
    "MirrorClient",
    "RiskStore",
    "SqlClient",
]

log = structlog.get_logger(__name__)

MIRROR_KEY = "algogrid:risk:trading_state"
MIRROR_CHANNEL = "algogrid:risk:trading_state"


class SqlClient(Protocol):
    """The subset of a PostgreSQL handle the store needs (``storage.db`` or an asyncpg connection)."""

    async def fetch(self, query: str, *args: Any) -> Sequence[Mapping[str, Any]]:
        """Run ``query`` and return its rows."""
        ...

    async def execute(self, query: str, *args: Any) -> str:
        """Run ``query`` and return its status tag."""
        ...


class MirrorClient(Protocol):
    """The subset of a Redis client the store needs."""

    async def set(self, name: str, value: bytes) -> Any:
        """Set ``name`` to ``value``."""
        ...

    async def publish(self, channel: str, message: bytes) -> Any:
        """Publish ``message`` on ``channel``."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class DenialRecord:
    """One refused signal or order (every denial is recorded, R-02..R-04)."""

    subject: str  # "signal" | "order"
    subject_id: str
    symbol: str
    side: str
    reason: str
    trading_state: TradingState
    at: dt.datetime


_SAVE_STATE = """
WITH saved AS (
    INSERT INTO kill_switch_state (id, trading_state, reason, changed_by, source, changed_at, version)
    VALUES (1, $1, $2, $3, $4, $5, 1)
    ON CONFLICT (id) DO UPDATE SET
        trading_state = EXCLUDED.trading_state,
        reason = EXCLUDED.reason,
        changed_by = EXCLUDED.changed_by,
        source = EXCLUDED.source,
        changed_at = EXCLUDED.changed_at,
        version = kill_switch_state.version + 1
    RETURNING version
), audited AS (
    INSERT INTO audit_trail (at, actor, action, subject, details)
    SELECT $5, $3, 'trading_state.set', 'kill_switch', $6::jsonb || jsonb_build_object('version', version)
    FROM saved
)
SELECT version FROM saved
"""

_LOAD_STATE = """
SELECT trading_state, reason, changed_by, source, changed_at, version FROM kill_switch_state WHERE id = 1
"""

_RECORD_DENIAL = """
INSERT INTO risk_denials (at, subject, subject_id, symbol, side, reason, trading_state)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""

_RECORD_DELIVERY = """
INSERT INTO webhook_deliveries (alert_id, event, url, attempt, delivered, final, status_code, error, at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""


class RiskStore:
    """Read and write the risk room's rows; see the module docstring."""

    def __init__(self, db: SqlClient, mirror: MirrorClient | None = None) -> None:
        self._db = db
        self._mirror = mirror

    async def load_trading_state(self, now: dt.datetime) -> TradingStateRecord:
        """Return the persisted trading state, or the initial ACTIVE record on a fresh database."""
        try:
            rows = await self._db.fetch(_LOAD_STATE)
        except Exception as exc:
            raise RiskStoreError(f"expected to read kill_switch_state, got {exc!r}") from exc
        if not rows:
            return TradingStateRecord.initial(now)
        row = rows[0]
        return TradingStateRecord(
            state=TradingState(row["trading_state"]),
            reason=row["reason"],
            changed_by=row["changed_by"],
            source=ChangeSource(row["source"]),
            changed_at=row["changed_at"],
            version=row["version"],
        )

    async def save_trading_state(
        self,
        *,
        state: TradingState,
        reason: str,
        changed_by: str,
        source: ChangeSource,
        at: dt.datetime,
    ) -> TradingStateRecord:
        """Persist a new trading state with its audit row, mirror it to Redis, and return it."""
        details = orjson.dumps(
            {"trading_state": state.value, "reason": reason, "source": source.value}
        ).decode()
        try:
            rows = await self._db.fetch(
                _SAVE_STATE, state.value, reason, changed_by, source.value, at, details
            )
        except Exception as exc:
            raise RiskStoreError(f"expected to write kill_switch_state, got {exc!r}") from exc
        record = TradingStateRecord(
            state=state,
            reason=reason,
            changed_by=changed_by,
            source=source,
            changed_at=at,
            version=rows[0]["version"],
        )
        await self.mirror(record)
        return record

    async def mirror(self, record: TradingStateRecord) -> None:
        """Write ``record`` to the Redis mirror and announce it; log (never raise) on failure."""
        if self._mirror is None:
            return
        payload = orjson.dumps(record.to_mirror())
        try:
            await self._mirror.set(MIRROR_KEY, payload)
            await self._mirror.publish(MIRROR_CHANNEL, payload)
        except Exception:  # PostgreSQL is the source of truth; a Redis blip must not fail the change
            log.exception("trading state mirror failed", version=record.version)

    async def record_denial(self, denial: DenialRecord) -> None:
        """Append one denial to ``risk_denials``."""
        try:
            await self._db.execute(
                _RECORD_DENIAL,
                denial.at,
                denial.subject,
                denial.subject_id,
                denial.symbol,
                denial.side,
                denial.reason,
                denial.trading_state.value,
            )
        except Exception as exc:
            raise RiskStoreError(f"expected to insert into risk_denials, got {exc!r}") from exc

    async def record_delivery(self, attempt: DeliveryAttempt) -> None:
        """Append one webhook attempt to ``webhook_deliveries`` (the delivery log of G-05)."""
        try:
            await self._db.execute(
                _RECORD_DELIVERY,
                attempt.alert_id,
                attempt.event,
                attempt.url,
                attempt.attempt,
                attempt.delivered,
                attempt.final,
                attempt.status_code,
                attempt.error,
                attempt.at,
            )
        except Exception as exc:
            raise RiskStoreError(f"expected to insert into webhook_deliveries, got {exc!r}") from exc

    async def audit_history(self, limit: int = 20) -> list[dict[str, Any]]:
        """Return the latest trading-state audit rows, newest first (for ``kill-switch status``)."""
        rows = await self._db.fetch(
            "SELECT at, actor, details FROM audit_trail WHERE action = 'trading_state.set' "
            "ORDER BY at DESC, id DESC LIMIT $1",
            limit,
        )
        return [
            {"at": row["at"], "actor": row["actor"], **_as_dict(row["details"])} for row in rows
        ]


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, str | bytes):
        loaded: dict[str, Any] = orjson.loads(value)
        return loaded
    return dict(value)

