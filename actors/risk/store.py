"""Repository of the risk room: trading state + audit, denials, webhook deliveries, Redis mirror (R-04, G-05).

Runs on the trio side only (actors reach it through the work queue). It speaks to PostgreSQL and Redis through
two narrow Protocols that ``storage.Database`` and ``storage.RedisClient`` satisfy (``jsonb`` parameters are
passed as Python values: the storage pool encodes them).

Writes of the trading state and its audit row happen in **one** SQL statement (a data-modifying CTE), so the
audit trail can never miss a change and no transaction API is needed. PostgreSQL is the source of truth; the
Redis mirror is written after the commit and is best effort (a Redis blip is logged, never fatal).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import structlog

from strategy_core.config import RiskLimits
from strategy_core.exposure import ChurnBook, OpenPosition
from strategy_core.models import Side

from .alerts import Alert
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
    "rebuild_exposure",
]

log = structlog.get_logger(__name__)

MIRROR_KEY = "algogrid:risk:trading_state"
MIRROR_CHANNEL = "algogrid:risk:trading_state"
_FUTURE_SLACK = dt.timedelta(seconds=60)  # see rebuild_exposure


class SqlClient(Protocol):
    """The subset of a PostgreSQL handle the store needs (``storage.Database`` satisfies it)."""

    async def fetch(self, query: str, /, *args: Any) -> Sequence[Any]:
        """Run ``query`` and return its rows (mappings by column name)."""
        ...

    async def execute(self, query: str, /, *args: Any) -> str:
        """Run ``query`` and return its status tag."""
        ...

    async def executemany(self, query: str, args: Iterable[Sequence[Any]], /) -> None:
        """Run ``query`` once per argument tuple."""
        ...


class MirrorClient(Protocol):
    """The subset of a Redis client the store needs (``storage.RedisClient`` satisfies it)."""

    async def set(self, key: str, value: bytes, /) -> Any:
        """Set ``key`` to ``value``."""
        ...

    async def publish(self, channel: str, message: bytes, /) -> Any:
        """Publish ``message`` on ``channel``."""
        ...

    async def get(self, key: str, /) -> str | None:
        """Return the value of ``key`` or None."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class DenialRecord:
    """One refused signal or order (every denial is recorded, R-02..R-04).

    ``reason_code`` is the machine-readable code (``max_concurrent_positions``), ``reason`` the sentence.
    """

    subject: str  # "signal" | "order"
    subject_id: str
    symbol: str
    side: str | None
    reason_code: str
    reason: str
    trading_state: TradingState
    at: dt.datetime


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

_LOAD_STATE = """
SELECT k.trading_state, k.engaged, k.reason, k.changed_by_label, k.changed_at,
       last.details ->> 'source' AS source
FROM kill_switch_state AS k
LEFT JOIN LATERAL (
    SELECT details FROM audit_trail WHERE action = 'kill_switch.set' ORDER BY id DESC LIMIT 1
) AS last ON true
WHERE k.id = 1
"""

_RECORD_DENIAL = """
INSERT INTO risk_denials (at, symbol, side, reason_code, reason, details)
VALUES ($1, $2, $3, $4, $5, $6::jsonb)
"""

_OPEN_DELIVERY = """
INSERT INTO webhook_deliveries (event, url, payload, symbol, status, attempts, created_at, next_attempt_at)
VALUES ($1, $2, $3::jsonb, $4, 'pending', 0, $5, $5)
RETURNING id
"""

_RECORD_ATTEMPT = """
UPDATE webhook_deliveries SET
    attempts = $2,
    last_status_code = $3,
    last_error = $4,
    status = $5,
    delivered_at = $6,
    next_attempt_at = COALESCE($7, next_attempt_at)
WHERE id = $1
"""

_OPEN_POSITIONS = """
SELECT p.id, p.symbol, p.side, p.risk_usd, p.risk_r,
       COALESCE(NULLIF(p.executed_size_base, 0), p.requested_size_base) AS qty,
       COALESCE(p.avg_entry_price, s.entry) AS entry
FROM positions AS p LEFT JOIN signals AS s ON s.id = p.signal_id
WHERE p.status IN ('open', 'closing', 'partial_accepted')
"""

# Approved signals still inside the churn block: they rebuild the anti-churn book, and those without a
# position (yet) inside the reservation TTL rebuild the reservations.
_RECENT_SIGNALS = """
SELECT s.id, s.symbol, s.side, s.entry, s.qty, s.risk_usd, s.risk_r, s.created_at,
       EXISTS (SELECT 1 FROM positions AS p WHERE p.signal_id = s.id) AS has_position,
       (SELECT max(p.closed_at) FROM positions AS p
         WHERE p.symbol = s.symbol AND p.side = s.side AND p.closed_at IS NOT NULL) AS last_close
FROM signals AS s
WHERE s.status IN ('new', 'approved', 'placed') AND s.created_at > $1
"""

_AUDIT_HISTORY = """
SELECT at, actor_label, details FROM audit_trail WHERE action = 'kill_switch.set'
ORDER BY id DESC LIMIT $1
"""


class RiskStore:
    """Read and write the risk room's rows; see the module docstring. Satisfies ``DeliveryLog``."""

    def __init__(self, db: SqlClient, mirror: MirrorClient | None = None) -> None:
        self._db = db
        self._mirror = mirror

    async def load_trading_state(self, now: dt.datetime) -> TradingStateRecord:
        """Return the persisted trading state, or the initial ACTIVE record on an empty table."""
        try:
            rows = await self._db.fetch(_LOAD_STATE)
        except Exception as exc:
            raise RiskStoreError(f"expected to read kill_switch_state, got {exc!r}") from exc
        if not rows:
            return TradingStateRecord.initial(now)
        row = rows[0]
        return TradingStateRecord(
            state=TradingState[row["trading_state"]],
            kill_switch=row["engaged"],
            reason=row["reason"] or "",
            changed_by=row["changed_by_label"],
            source=ChangeSource(row["source"] or ChangeSource.OPERATOR.value),
            changed_at=row["changed_at"],
        )

    async def load_exposure(
        self, now: dt.datetime, limits: RiskLimits, reservation_ttl_s: float
    ) -> tuple[tuple[OpenPosition, ...], tuple[tuple[OpenPosition, dt.datetime], ...], ChurnBook]:
        """Return open positions, live signal reservations and the anti-churn book (R-07 rebuild)."""
        horizon = now - dt.timedelta(seconds=max(limits.churn_block_s, reservation_ttl_s))
        try:
            position_rows = await self._db.fetch(_OPEN_POSITIONS)
            signal_rows = await self._db.fetch(_RECENT_SIGNALS, horizon)
        except Exception as exc:
            raise RiskStoreError(f"expected to read positions and signals, got {exc!r}") from exc
        return rebuild_exposure(position_rows, signal_rows, now, limits, reservation_ttl_s)

    async def save_trading_state(self, record: TradingStateRecord) -> None:
        """Persist ``record`` with its audit row (one statement), then mirror it to Redis."""
        details = {
            "trading_state": record.state.name,
            "kill_switch": record.kill_switch,
            "reason": record.reason,
            "source": record.source.value,
        }
        try:
            await self._db.fetch(
                _SAVE_STATE,
                record.state.name,
                record.kill_switch,
                record.reason,
                record.changed_by,
                record.changed_at,
                details,
            )
        except Exception as exc:
            raise RiskStoreError(f"expected to write kill_switch_state, got {exc!r}") from exc
        await self.mirror(record)

    async def mirror(self, record: TradingStateRecord) -> None:
        """Write ``record`` to the Redis mirror and announce it; log (never raise) on failure."""
        if self._mirror is None:
            return
        payload = orjson.dumps(record.to_mirror())
        try:
            await self._mirror.set(MIRROR_KEY, payload)
            await self._mirror.publish(MIRROR_CHANNEL, payload)
        except Exception:  # PostgreSQL is the source of truth; a Redis blip must not fail the change
            log.exception("trading state mirror failed", state=record.state.name)

    async def record_denial(self, denial: DenialRecord) -> None:
        """Append one denial to ``risk_denials``."""
        await self.record_denials((denial,))

    async def record_denials(self, denials: Sequence[DenialRecord]) -> None:
        """Append denials to ``risk_denials`` in one round trip (the subject id goes to ``details``)."""
        rows = [
            (
                denial.at,
                denial.symbol,
                denial.side,
                denial.reason_code,
                denial.reason,
                {
                    "subject": denial.subject,
                    "subject_id": denial.subject_id,
                    "trading_state": denial.trading_state.name,
                },
            )
            for denial in denials
        ]
        try:
            await self._db.executemany(_RECORD_DENIAL, rows)
        except Exception as exc:
            raise RiskStoreError(f"expected to insert into risk_denials, got {exc!r}") from exc

    async def open_delivery(self, alert: Alert, url: str, payload: bytes, at: dt.datetime) -> int:
        """Create the pending ``webhook_deliveries`` row of ``alert`` to ``url`` and return its id."""
        try:
            rows = await self._db.fetch(
                _OPEN_DELIVERY, alert.event.value, url, orjson.loads(payload), alert.symbol, at
            )
        except Exception as exc:
            raise RiskStoreError(f"expected to insert into webhook_deliveries, got {exc!r}") from exc
        delivery_id: int = rows[0]["id"]
        return delivery_id

    async def record_attempt(self, delivery_id: int, attempt: DeliveryAttempt) -> None:
        """Update delivery ``delivery_id`` with the outcome of one attempt."""
        if attempt.delivered:
            status = "delivered"
        elif attempt.final:
            status = "failed"
        else:
            status = "pending"
        try:
            await self._db.execute(
                _RECORD_ATTEMPT,
                delivery_id,
                attempt.attempt,
                attempt.status_code,
                attempt.error,
                status,
                attempt.at if attempt.delivered else None,
                attempt.next_attempt_at,
            )
        except Exception as exc:
            raise RiskStoreError(f"expected to update webhook_deliveries, got {exc!r}") from exc

    async def audit_history(self, limit: int = 20) -> list[dict[str, Any]]:
        """Return the latest kill-switch audit rows, newest first (for ``kill-switch status``)."""
        rows = await self._db.fetch(_AUDIT_HISTORY, limit)
        return [{"at": row["at"], "actor": row["actor_label"], **_as_dict(row["details"])} for row in rows]


def rebuild_exposure(
    position_rows: Sequence[Any],
    signal_rows: Sequence[Any],
    now: dt.datetime,
    limits: RiskLimits,
    reservation_ttl_s: float,
) -> tuple[tuple[OpenPosition, ...], tuple[tuple[OpenPosition, dt.datetime], ...], ChurnBook]:
    """Rebuild the RiskBook's exposure from rows (mappings) of open positions and recent approved signals.

    Position rows: ``id, symbol, side, qty, entry, risk_usd, risk_r``. Signal rows: ``id, symbol, side, entry,
    qty, risk_usd, risk_r, created_at, has_position, last_close`` (the newest close on that symbol and side).
    Pure, so a test store can share it with ``RiskStore.load_exposure``.

    ``now`` is market time. Signals created more than 60 s after it are skipped: they belong to
    another timeline (a previous simulation run whose accelerated clock ran ahead of this one's start), and
    counting them would block reservations and anti-churn for hours of market time. Live clock skew between
    exchange timestamps and the local clock is far below the slack.
    """
    positions = tuple(
        OpenPosition(
            position_id=str(row["id"]),
            symbol=row["symbol"],
            side=Side(row["side"]),
            qty=row["qty"],
            entry=row["entry"],
            risk_usd=row["risk_usd"],
            risk_r=row["risk_r"],
        )
        for row in position_rows
    )
    reservations: list[tuple[OpenPosition, dt.datetime]] = []
    churn = ChurnBook()
    ttl = dt.timedelta(seconds=reservation_ttl_s)
    for row in sorted(signal_rows, key=lambda r: r["created_at"]):
        at: dt.datetime = row["created_at"]
        if at > now + _FUTURE_SLACK:
            continue
        side = Side(row["side"])
        cleared = limits.clear_churn_on_close and row["last_close"] is not None and row["last_close"] > at
        if not cleared and at + dt.timedelta(seconds=limits.churn_block_s) > now:
            churn = churn.record(row["symbol"], side, at)
        if not row["has_position"] and at + ttl > now:
            reservation = OpenPosition(
                position_id=f"signal:{row['id']}",
                symbol=row["symbol"],
                side=side,
                qty=row["qty"],
                entry=row["entry"],
                risk_usd=row["risk_usd"],
                risk_r=row["risk_r"],
            )
            reservations.append((reservation, at))
    return positions, tuple(reservations), churn


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, str | bytes):
        loaded: dict[str, Any] = orjson.loads(value)
        return loaded
    return dict(value)
