"""Repository of the trading state and kill switch (R-04, C-03): one row, its audit trail, a Redis mirror.

One record is the source of truth (``kill_switch_state``, id 1): the trading state (``strategy_core``'s
``TradingState``: ACTIVE | REDUCING | HALTED) and whether the kill switch is engaged. An engaged kill switch
always comes with REDUCING or HALTED (the table's CHECK and ``TradingStateRecord`` both enforce it).

A change and its ``audit_trail`` row (action ``kill_switch.set``) are written by **one** statement (a
data-modifying CTE), so the audit trail can never miss a change; the ``kill_switch`` outbox row that announces
it to the UI commits in the same transaction (G-03, DESIGN §5). The Redis mirror (other processes read it) is
written after the commit and is best effort: a Redis blip is logged, never fatal.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

import orjson
import structlog

from storage.database import Database
from storage.outbox import OUTBOX_LOCK_KEY, OutboxRepository, event_json
from storage.redis_client import RedisClient
from strategy_core.risk_rules import TradingState

__all__ = ["MIRROR_CHANNEL", "MIRROR_KEY", "ChangeSource", "KillSwitchRepository", "TradingStateRecord"]

log = structlog.get_logger(__name__)

MIRROR_KEY = "algogrid:risk:trading_state"
MIRROR_CHANNEL = "algogrid:risk:trading_state"


class ChangeSource(enum.StrEnum):
    """Who changed the trading state (kept in the audit trail)."""

    OPERATOR = "operator"
    RECONCILIATION = "reconciliation"
    KILL_CONDITION = "kill_condition"


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingStateRecord:
    """One version of the persisted trading state, with who changed it and why (R-04)."""

    state: TradingState
    kill_switch: bool
    reason: str
    changed_by: str
    source: ChangeSource
    changed_at: dt.datetime

    def __post_init__(self) -> None:
        if self.kill_switch and self.state is TradingState.ACTIVE:
            raise ValueError("expected REDUCING or HALTED with an engaged kill switch, got ACTIVE")

    def to_mirror(self) -> dict[str, str | bool]:
        """Return the JSON-able form mirrored to Redis for other processes."""
        return {
            "state": self.state.name,
            "kill_switch": self.kill_switch,
            "reason": self.reason,
            "changed_by": self.changed_by,
            "source": self.source.value,
            "changed_at": self.changed_at.isoformat(),
        }

    @classmethod
    def initial(cls, at: dt.datetime) -> TradingStateRecord:
        """Return the record of a fresh database (ACTIVE, kill switch released)."""
        return cls(
            state=TradingState.ACTIVE,
            kill_switch=False,
            reason="initial state",
            changed_by="system",
            source=ChangeSource.OPERATOR,
            changed_at=at,
        )


_SAVE_STATE = """
WITH previous AS (
    SELECT trading_state FROM kill_switch_state WHERE id = 1
), saved AS (
    INSERT INTO kill_switch_state (id, trading_state, engaged, reason, changed_by_label, changed_at)
    VALUES (1, $1, $2, $3, $4, $5)
    ON CONFLICT (id) DO UPDATE SET
        trading_state = EXCLUDED.trading_state,
        engaged = EXCLUDED.engaged,
        reason = EXCLUDED.reason,
        changed_by_label = EXCLUDED.changed_by_label,
        changed_at = EXCLUDED.changed_at
    RETURNING trading_state
), audited AS (
    INSERT INTO audit_trail (at, actor_label, action, target_type, target_id, details)
    SELECT $5, $4, 'kill_switch.set', 'kill_switch', '1',
           $6::jsonb || jsonb_build_object('previous', (SELECT trading_state FROM previous))
    FROM saved
)
SELECT trading_state FROM saved
"""

# The same statement announcing the change to the UI (G-03): the outbox row commits with it, its id drawn
# under the outbox lock (storage.outbox) — still one statement, one round trip.
_SAVE_AND_ANNOUNCE = _SAVE_STATE.replace(
    "\nSELECT trading_state FROM saved",
    """, announced AS (
    INSERT INTO outbox (topic, payload)
    SELECT 'kill_switch', $7::text::jsonb FROM saved, (SELECT pg_advisory_xact_lock($8)) AS lock
    RETURNING id
)
SELECT trading_state FROM saved""",
)

_LOAD_STATE = """
SELECT k.trading_state, k.engaged, k.reason, k.changed_by_label, k.changed_at,
       last.details ->> 'source' AS source
FROM kill_switch_state AS k
LEFT JOIN LATERAL (
    SELECT details FROM audit_trail WHERE action = 'kill_switch.set' ORDER BY id DESC LIMIT 1
) AS last ON true
WHERE k.id = 1
"""

_AUDIT_HISTORY = """
SELECT at, actor_label, details FROM audit_trail WHERE action = 'kill_switch.set'
ORDER BY id DESC LIMIT $1
"""


class KillSwitchRepository:
    """Read and write the trading state (``kill_switch_state`` + audit rows) and its Redis mirror.

    Args:
        db: the pool (``jsonb`` parameters are passed as Python values: the pool encodes them).
        redis: where the mirror is written; None writes no mirror (single-process tests).
        outbox: where changes are announced to the UI (None: not announced).
    """

    def __init__(
        self, db: Database, redis: RedisClient | None = None, outbox: OutboxRepository | None = None
    ) -> None:
        self._db = db
        self._redis = redis
        self._outbox = outbox

    async def load_trading_state(self, now: dt.datetime) -> TradingStateRecord:
        """Return the persisted trading state, or the initial ACTIVE record (at ``now``) on an empty table."""
        row = await self._db.fetchrow(_LOAD_STATE)
        if row is None:
            return TradingStateRecord.initial(now)
        return TradingStateRecord(
            state=TradingState[row["trading_state"]],
            kill_switch=row["engaged"],
            reason=row["reason"] or "",
            changed_by=row["changed_by_label"],
            source=ChangeSource(row["source"] or ChangeSource.OPERATOR.value),
            changed_at=row["changed_at"],
        )

    async def save_trading_state(self, record: TradingStateRecord) -> None:
        """Persist ``record`` with its audit row and its outbox row (one statement), then mirror it."""
        details = {
            "trading_state": record.state.name,
            "kill_switch": record.kill_switch,
            "reason": record.reason,
            "source": record.source.value,
        }
        args = (record.state.name, record.kill_switch, record.reason, record.changed_by, record.changed_at)
        if self._outbox is None:
            await self._db.fetch(_SAVE_STATE, *args, details)
        else:
            announcement = event_json(record.to_mirror())
            await self._db.fetch(_SAVE_AND_ANNOUNCE, *args, details, announcement, OUTBOX_LOCK_KEY)
            self._outbox.wake()
        await self.mirror(record)

    async def mirror(self, record: TradingStateRecord) -> None:
        """Write ``record`` to the Redis mirror and announce it; log (never raise) on failure."""
        if self._redis is None:
            return
        payload = orjson.dumps(record.to_mirror())
        try:
            await self._redis.set(MIRROR_KEY, payload)
            await self._redis.publish(MIRROR_CHANNEL, payload)
        except Exception:  # PostgreSQL is the source of truth; a Redis blip must not fail the change
            log.exception("trading state mirror failed", state=record.state.name)

    async def read_mirror(self) -> dict[str, Any] | None:
        """Return the record mirrored to Redis (``to_mirror`` form), or None when none is there."""
        if self._redis is None:
            return None
        raw = await self._redis.get(MIRROR_KEY)
        if not raw:
            return None
        mirrored: dict[str, Any] = orjson.loads(raw)
        return mirrored

    async def audit_history(self, limit: int = 20) -> list[dict[str, Any]]:
        """Return the latest kill-switch audit rows, newest first: ``at``, ``actor`` and the row's details."""
        rows = await self._db.fetch(_AUDIT_HISTORY, limit)
        return [{"at": row["at"], "actor": row["actor_label"], **_as_dict(row["details"])} for row in rows]


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, str | bytes):
        loaded: dict[str, Any] = orjson.loads(value)
        return loaded
    return dict(value)
