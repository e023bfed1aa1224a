"""Repository of the public streams (P-06): the trade tape, tickers and funding settlements.

Each write is one ``INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING`` for a whole batch (the recorder
on the trio side batches, see ``actors.recorder``), so a row re-delivered after a reconnect — or written again
by the next process — changes nothing: trades are unique per ``(symbol, trade_id, traded_at)``, tickers per
``(symbol, ts)``, funding settlements per ``(symbol, funding_time)``. Every method returns how many rows were
new. The tables are time-partitioned (revision 0014).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from storage.batching import as_columns
from storage.database import Database

__all__ = ["FundingRow", "StreamRepository", "TickerRow", "TradeRow"]


@dataclass(frozen=True, slots=True)
class TradeRow:
    """One print of the public tape (``side`` is ``Buy`` or ``Sell``)."""

    symbol: str
    trade_id: str
    traded_at: dt.datetime
    side: str
    price: Decimal
    size: Decimal
    block_trade: bool = False


@dataclass(frozen=True, slots=True)
class TickerRow:
    """One full ticker state at exchange time ``ts`` (fields the exchange never sent are ``None``)."""

    symbol: str
    ts: dt.datetime
    last_price: Decimal | None
    mark_price: Decimal | None
    index_price: Decimal | None
    funding_rate: Decimal | None
    next_funding_time: dt.datetime | None


@dataclass(frozen=True, slots=True)
class FundingRow:
    """One funding settlement: the rate that applied at ``funding_time`` (``source``: ticker or rest)."""

    symbol: str
    funding_time: dt.datetime
    funding_rate: Decimal
    source: str = "ticker"


_TRADES = """
    INSERT INTO public_trades (symbol, trade_id, traded_at, side, price, size, block_trade)
    SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::numeric[],
                         $6::numeric[], $7::boolean[])
    ON CONFLICT DO NOTHING
    RETURNING 1
"""

_TICKERS = """
    INSERT INTO ticker_log (symbol, ts, last_price, mark_price, index_price, funding_rate, next_funding_time)
    SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::numeric[], $4::numeric[], $5::numeric[],
                         $6::numeric[], $7::timestamptz[])
    ON CONFLICT DO NOTHING
    RETURNING 1
"""

_FUNDINGS = """
    INSERT INTO funding_settlements (symbol, funding_time, funding_rate, source)
    SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::numeric[], $4::text[])
    ON CONFLICT DO NOTHING
    RETURNING 1
"""


class StreamRepository:
    """Explicit SQL over ``public_trades``, ``ticker_log`` and ``funding_settlements``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def insert_trades(self, rows: Sequence[TradeRow]) -> int:
        """Insert the prints not stored yet, in one statement; return how many were new."""
        if not rows:
            return 0
        columns = as_columns(
            (r.symbol, r.trade_id, r.traded_at, r.side, r.price, r.size, r.block_trade) for r in rows
        )
        return len(await self._db.fetch(_TRADES, *columns))

    async def insert_tickers(self, rows: Sequence[TickerRow]) -> int:
        """Insert the ticker states not stored yet, in one statement; return how many were new."""
        if not rows:
            return 0
        columns = as_columns(
            (r.symbol, r.ts, r.last_price, r.mark_price, r.index_price, r.funding_rate, r.next_funding_time)
            for r in rows
        )
        return len(await self._db.fetch(_TICKERS, *columns))

    async def insert_fundings(self, rows: Sequence[FundingRow]) -> int:
        """Insert the settlements not stored yet, in one statement; return how many were new."""
        if not rows:
            return 0
        columns = as_columns((r.symbol, r.funding_time, r.funding_rate, r.source) for r in rows)
        return len(await self._db.fetch(_FUNDINGS, *columns))
