"""Repository of the L50 order-book log (D-04): research-mode snapshots, appended once per update id.

A snapshot is stored with its best bid and ask as columns and every level as JSON ``[[price, qty], …]``
(``Decimal`` encoded exactly, never through float). ``captured_at`` is the exchange's timestamp of the
snapshot. A re-delivered snapshot (same symbol, time and update id) changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

from storage.database import Database

__all__ = ["BookLike", "BookLogRepository"]


class BookLike(Protocol):
    """What ``append`` reads from a snapshot; ``exchange.bybit.BookSnapshot`` satisfies it.

    Bids descend and asks ascend, so the first level of each side is the best one; ``ts`` is in ms.
    """

    @property
    def symbol(self) -> str: ...
    @property
    def bids(self) -> Sequence[tuple[Decimal, Decimal]]: ...
    @property
    def asks(self) -> Sequence[tuple[Decimal, Decimal]]: ...
    @property
    def u(self) -> int: ...
    @property
    def seq(self) -> int: ...
    @property
    def ts(self) -> int: ...


_APPEND = """
INSERT INTO orderbook_l50_log (symbol, captured_at, update_id, seq, best_bid, best_ask, bids, asks)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT DO NOTHING
"""


class BookLogRepository:
    """Explicit SQL over ``orderbook_l50_log``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def append(self, snapshot: BookLike) -> None:
        """Append one L50 snapshot; a one-sided (or empty) book is skipped: it has no spread to store."""
        if not snapshot.bids or not snapshot.asks:
            return
        await self._db.execute(
            _APPEND,
            snapshot.symbol,
            dt.datetime.fromtimestamp(snapshot.ts / 1000, tz=dt.UTC),
            snapshot.u,
            snapshot.seq,
            snapshot.bids[0][0],
            snapshot.asks[0][0],
            [[p, q] for p, q in snapshot.bids],
            [[p, q] for p, q in snapshot.asks],
        )
