"""Repository of trading signals (S-03, G-01): insert once per id, get, filtered listing, status changes.

``insert`` goes through a :class:`storage.batching.GroupWriter`: signals stored at the same moment (every
symbol's bar closes together) share one ``INSERT … SELECT FROM unnest(…)`` statement and one commit.

``insert(signal, announce=True)`` also writes the ``signal`` outbox row of each *new* signal in that same
transaction (G-03, DESIGN §5): the UI hears of a signal exactly when, and only if, it is stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

import asyncpg

from storage.batching import GroupWriter, as_columns, first_new
from storage.database import Connection, Database
from storage.outbox import OutboxRepository, Topic

__all__ = ["SignalFilters", "SignalLike", "SignalRepository", "StoredSignal"]

# Every statement below is a constant built from this constant column list (no user input): S608 is noqa'd.
_COLUMNS = (
    "id, symbol, side, entry, tp1, tp2, tp3, sl, qty, risk_usd, risk_r, p_win, strategy, strategy_version, "
    "status, bar_start, created_at, queued_until, error_code, error_message, atr_above_p80, book_depth_usd"
)


class SignalLike(Protocol):
    """What ``insert`` reads; ``strategy_core.Signal`` satisfies it (enums are ``StrEnum``)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def symbol(self) -> str: ...
    @property
    def side(self) -> str: ...
    @property
    def entry(self) -> Decimal: ...
    @property
    def tp1(self) -> Decimal: ...
    @property
    def tp2(self) -> Decimal: ...
    @property
    def tp3(self) -> Decimal: ...
    @property
    def sl(self) -> Decimal: ...
    @property
    def qty(self) -> Decimal: ...
    @property
    def risk_usd(self) -> Decimal: ...
    @property
    def risk_r(self) -> Decimal: ...
    @property
    def p_win(self) -> Decimal: ...
    @property
    def strategy(self) -> str: ...
    @property
    def strategy_version(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def bar_start(self) -> datetime: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def queued_until(self) -> datetime | None: ...
    @property
    def error_code(self) -> str | None: ...
    @property
    def error_message(self) -> str | None: ...
    @property
    def atr_above_p80(self) -> bool | None: ...
    @property
    def book_depth_usd(self) -> Decimal | None: ...


@dataclass(frozen=True, slots=True)
class StoredSignal:
    """A row of ``signals``; field names match ``strategy_core.Signal``."""

    id: uuid.UUID
    symbol: str
    side: str
    entry: Decimal
    tp1: Decimal
    tp2: Decimal
    tp3: Decimal
    sl: Decimal
    qty: Decimal
    risk_usd: Decimal
    risk_r: Decimal
    p_win: Decimal
    strategy: str
    strategy_version: str
    status: str
    bar_start: datetime
    created_at: datetime
    queued_until: datetime | None
    error_code: str | None
    error_message: str | None
    atr_above_p80: bool | None = None
    book_depth_usd: Decimal | None = None

    @classmethod
    def from_record(cls, record: asyncpg.Record) -> StoredSignal:
        """Build from a row selected with all columns."""
        return cls(**dict(record.items()))


@dataclass(frozen=True, slots=True)
class SignalFilters:
    """Filters of ``GET /signals`` (G-01); None means "any"."""

    symbol: str | None = None
    side: str | None = None
    min_probability: Decimal | None = None
    status: str | None = None
    since: datetime | None = None


# The 22 columns of _COLUMNS, as array types for the batched ``unnest`` insert (same order).
_ARRAY_TYPES = (
    "uuid[]", "text[]", "text[]",  # id, symbol, side
    *["numeric[]"] * 9,  # entry, tp1, tp2, tp3, sl, qty, risk_usd, risk_r, p_win
    "text[]", "text[]", "text[]",  # strategy, strategy_version, status
    "timestamptz[]", "timestamptz[]", "timestamptz[]",  # bar_start, created_at, queued_until
    "text[]", "text[]",  # error_code, error_message
    "boolean[]", "numeric[]",  # atr_above_p80, book_depth_usd
)
_INSERT_ONE = (
    f"INSERT INTO signals ({_COLUMNS}) VALUES "  # noqa: S608
    "($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22) "
    "ON CONFLICT (id) DO NOTHING"
)
_INSERT_MANY = (
    f"INSERT INTO signals ({_COLUMNS}) SELECT * FROM unnest("  # noqa: S608
    + ", ".join(f"${i}::{t}" for i, t in enumerate(_ARRAY_TYPES, start=1))
    + ") ON CONFLICT (id) DO NOTHING RETURNING id"
)


_NAMES = tuple(c.strip() for c in _COLUMNS.split(","))


@dataclass(frozen=True, slots=True)
class _Write:
    signal: SignalLike
    announce: bool


def signal_payload(signal: SignalLike) -> dict[str, object]:
    """Return the outbox payload of a stored signal: its columns by name."""
    return dict(zip(_NAMES, _row(signal), strict=True))


def _row(signal: SignalLike) -> tuple[object, ...]:
    return (
        signal.id, signal.symbol, str(signal.side), signal.entry, signal.tp1, signal.tp2, signal.tp3,
        signal.sl, signal.qty, signal.risk_usd, signal.risk_r, signal.p_win, signal.strategy,
        signal.strategy_version, str(signal.status), signal.bar_start, signal.created_at,
        signal.queued_until, signal.error_code, signal.error_message, signal.atr_above_p80,
        signal.book_depth_usd,
    )


class SignalRepository:
    """Explicit SQL over ``signals``; statements are prepared and cached by asyncpg.

    ``writer`` batches concurrent inserts while its ``run`` task is up (``open_storage`` starts it).
    ``outbox`` receives the announcements of ``insert(…, announce=True)`` (None: nothing is announced).
    """

    def __init__(self, db: Database, outbox: OutboxRepository | None = None) -> None:
        self._db = db
        self._outbox = outbox
        self.writer: GroupWriter[_Write, bool] = GroupWriter("signals", self._write_many, self._write_one)

    async def insert(self, signal: SignalLike, *, announce: bool = False) -> bool:
        """Store ``signal``; return False (and change nothing) when a signal with that id already exists.

        With ``announce``, a new signal's ``signal`` outbox row is committed with it (G-03).
        """
        return await self.writer.write(_Write(signal, announce and self._outbox is not None))

    async def insert_many(self, signals: Sequence[SignalLike], *, announce: bool = False) -> list[bool]:
        """Store ``signals`` in one statement; per signal, True when it was new.

        A signal whose id exists already — in the table or earlier in ``signals`` — gets False.
        """
        return await self._write_many([_Write(s, announce and self._outbox is not None) for s in signals])

    async def _write_many(self, writes: Sequence[_Write]) -> list[bool]:
        if not writes:
            return []
        signals = [w.signal for w in writes]
        columns = as_columns(_row(s) for s in signals)
        if self._outbox is None or not any(w.announce for w in writes):
            records = await self._db.fetch(_INSERT_MANY, *columns)
            return first_new([s.id for s in signals], {r["id"] for r in records})
        async with self._outbox.transaction() as tx:
            records = await tx.fetch(_INSERT_MANY, *columns)
            new = first_new([s.id for s in signals], {r["id"] for r in records})
            await self._announce(tx, [w.signal for w, n in zip(writes, new, strict=True) if n and w.announce])
        return new

    async def _write_one(self, write: _Write) -> bool:
        if self._outbox is None or not write.announce:
            tag = await self._db.execute(_INSERT_ONE, *_row(write.signal))
            return tag == "INSERT 0 1"
        async with self._outbox.transaction() as tx:
            tag = await tx.execute(_INSERT_ONE, *_row(write.signal))
            if tag == "INSERT 0 1":
                await self._announce(tx, [write.signal])
        return tag == "INSERT 0 1"

    async def _announce(self, tx: Connection, signals: Sequence[SignalLike]) -> None:
        assert self._outbox is not None  # checked by the callers
        await self._outbox.add_many(tx, Topic.SIGNAL, [signal_payload(s) for s in signals])

    async def get(self, signal_id: uuid.UUID) -> StoredSignal | None:
        """Return the signal with ``signal_id`` or None."""
        record = await self._db.fetchrow(f"SELECT {_COLUMNS} FROM signals WHERE id = $1", signal_id)  # noqa: S608
        return None if record is None else StoredSignal.from_record(record)

    async def get_many(self, signal_ids: Sequence[uuid.UUID]) -> list[StoredSignal]:
        """Return the signals among ``signal_ids`` that exist (any order)."""
        if not signal_ids:
            return []
        rows = await self._db.fetch(
            f"SELECT {_COLUMNS} FROM signals WHERE id = ANY($1::uuid[])",  # noqa: S608
            list(signal_ids),
        )
        return [StoredSignal.from_record(r) for r in rows]

    async def get_with_position(
        self, signal_id: uuid.UUID, position_id: uuid.UUID
    ) -> tuple[StoredSignal | None, bool]:
        """Return the signal and whether position ``position_id`` exists (one round trip: a click's read)."""
        record = await self._db.fetchrow(
            f"SELECT {_COLUMNS}, EXISTS (SELECT 1 FROM positions WHERE id = $2) AS has_position "  # noqa: S608
            "FROM signals WHERE id = $1",
            signal_id,
            position_id,
        )
        if record is None:
            return None, False
        values = dict(record.items())
        has_position = bool(values.pop("has_position"))
        return StoredSignal(**values), has_position

    async def list(
        self, filters: SignalFilters | None = None, limit: int = 50, offset: int = 0
    ) -> list[StoredSignal]:
        """Return signals matching ``filters``, newest first, paged by ``limit``/``offset``."""
        f = filters or SignalFilters()
        if not 1 <= limit <= 1000 or offset < 0:
            raise ValueError(f"expected 1 <= limit <= 1000 and offset >= 0, got {limit=} {offset=}")
        # one fixed statement: NULL parameters disable their filter, so asyncpg prepares it once
        records = await self._db.fetch(
            f"SELECT {_COLUMNS} FROM signals "  # noqa: S608
            "WHERE ($1::text IS NULL OR symbol = $1) AND ($2::text IS NULL OR side = $2) "
            "AND ($3::numeric IS NULL OR p_win >= $3) AND ($4::text IS NULL OR status = $4) "
            "AND ($5::timestamptz IS NULL OR created_at >= $5) "
            "ORDER BY created_at DESC, id LIMIT $6 OFFSET $7",
            f.symbol, f.side, f.min_probability, f.status, f.since, limit, offset,
        )
        return [StoredSignal.from_record(r) for r in records]

    async def set_status(
        self,
        signal_id: uuid.UUID,
        status: str,
        *,
        queued_until: datetime | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> bool:
        """Change a signal's status (CHECKs apply); return False when no such signal exists."""
        params: tuple[Any, ...] = (signal_id, str(status), queued_until, error_code, error_message)
        tag = await self._db.execute(
            "UPDATE signals SET status = $2, queued_until = $3, error_code = $4, error_message = $5 "
            "WHERE id = $1",
            *params,
        )
        return tag == "UPDATE 1"
