"""Repository of the RiskActor's state: trading state, exposure rebuild, denials (R-02..R-07).

The trading state goes through a :class:`storage.kill_switch.KillSwitchRepository` (one writer of that row
and its audit trail); this module adds what only the RiskActor reads and writes:

* the exposure rebuild (R-07): open positions, approved signals still inside the reservation TTL (they
  reserve exposure until their position exists) and the anti-churn book, from ``positions`` and ``signals``;
* the denial log (``risk_denials``): every refused signal or order, written in batches (one round trip).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from storage.database import Database
from storage.kill_switch import KillSwitchRepository, TradingStateRecord
from strategy_core.config import RiskLimits
from strategy_core.exposure import ChurnBook, OpenPosition
from strategy_core.models import Side
from strategy_core.risk_rules import TradingState

__all__ = ["DenialRecord", "RebuiltExposure", "RiskStateRepository", "Row", "rebuild_exposure"]

_FUTURE_SLACK = dt.timedelta(seconds=60)  # see rebuild_exposure

# Open positions, live signal reservations (each with its creation time) and the anti-churn book.
RebuiltExposure = tuple[tuple[OpenPosition, ...], tuple[tuple[OpenPosition, dt.datetime], ...], ChurnBook]


class Row(Protocol):
    """A row read by column name: an ``asyncpg.Record``, or a ``dict`` in an in-memory test store."""

    def __getitem__(self, key: str, /) -> Any: ...


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


_RECORD_DENIAL = """
INSERT INTO risk_denials (at, symbol, side, reason_code, reason, details)
VALUES ($1, $2, $3, $4, $5, $6::jsonb)
"""

_OPEN_POSITIONS = """
SELECT p.id, p.symbol, p.side, p.risk_usd, p.risk_r,
       COALESCE(NULLIF(p.executed_size_base, 0), p.requested_size_base) AS qty,
       COALESCE(p.avg_entry_price, s.entry) AS entry
FROM positions AS p LEFT JOIN signals AS s ON s.id = p.signal_id
WHERE p.status IN ('opening', 'open', 'closing', 'partial_accepted')
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


class RiskStateRepository:
    """Everything the RiskActor persists; satisfies ``actors.risk.RiskStatePort``.

    Args:
        db: the pool (``jsonb`` parameters are passed as Python values: the pool encodes them).
        kill_switch: the trading-state row, its audit trail and Redis mirror.
    """

    def __init__(self, db: Database, kill_switch: KillSwitchRepository) -> None:
        self._db = db
        self._kill_switch = kill_switch

    async def load_trading_state(self, now: dt.datetime) -> TradingStateRecord:
        """Return the persisted trading state, or the initial ACTIVE record on an empty table."""
        return await self._kill_switch.load_trading_state(now)

    async def save_trading_state(self, record: TradingStateRecord) -> None:
        """Persist ``record`` with its audit row, then mirror it to Redis."""
        await self._kill_switch.save_trading_state(record)

    async def load_exposure(
        self, now: dt.datetime, limits: RiskLimits, reservation_ttl_s: float
    ) -> RebuiltExposure:
        """Return open positions, live signal reservations and the anti-churn book (R-07 rebuild)."""
        horizon = now - dt.timedelta(seconds=max(limits.churn_block_s, reservation_ttl_s))
        position_rows = await self._db.fetch(_OPEN_POSITIONS)
        signal_rows = await self._db.fetch(_RECENT_SIGNALS, horizon)
        return rebuild_exposure(position_rows, signal_rows, now, limits, reservation_ttl_s)

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
        await self._db.executemany(_RECORD_DENIAL, rows)


def rebuild_exposure(
    position_rows: Sequence[Row],
    signal_rows: Sequence[Row],
    now: dt.datetime,
    limits: RiskLimits,
    reservation_ttl_s: float,
) -> RebuiltExposure:
    """Rebuild the RiskBook's exposure from rows of open positions and recent approved signals.

    Position rows: ``id, symbol, side, qty, entry, risk_usd, risk_r``. Signal rows: ``id, symbol, side, entry,
    qty, risk_usd, risk_r, created_at, has_position, last_close`` (the newest close on that symbol and side).
    Pure, so an in-memory test store can share it with ``RiskStateRepository.load_exposure``.

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
