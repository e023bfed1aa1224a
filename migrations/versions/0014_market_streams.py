"""Market-data integrity: repaired and missing 5m bars, the trade tape, tickers and funding (P-05, P-06, D-02).

* ``klines_5m.source`` also allows ``rest_backfill`` (a bar fetched over REST after a hole) and
  ``klines_5m.repaired_at`` says when such a bar was stored;
* ``kline_gaps``: one row per hole found in a symbol's 5m bars against the exchange clock; ``status`` is
  ``repaired`` (the bar was fetched and stored) or ``missing`` (it could not be recovered — never invented);
* ``public_trades`` (the tape, unique per ``trade_id``), ``ticker_log`` (mark, index, funding rate, next funding
  time; one row per symbol and exchange timestamp) and ``funding_settlements`` (one row per symbol and funding
  time): time-series tables like those of revision 0006 — TimescaleDB hypertables when the extension is in
  use, otherwise native monthly range partitions (``algogrid_ensure_partitions``) plus a DEFAULT partition.
  Their retention windows are ``Settings.ops.retention`` (``trades_days`` …).

Revision ID: 0014
Revises: 0009
Create Date: 2026-12-10
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0014"
down_revision = "0010"
branch_labels = None
depends_on = None

# table -> (columns and constraints, time column)
_TABLES: dict[str, tuple[str, str]] = {
    "public_trades": (
        """
        symbol      text NOT NULL,
        trade_id    text NOT NULL,
        traded_at   timestamptz NOT NULL,
        side        text NOT NULL,
        price       numeric NOT NULL,
        size        numeric NOT NULL,
        block_trade boolean NOT NULL DEFAULT false,
        ingested_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT public_trades_pkey PRIMARY KEY (symbol, trade_id, traded_at),
        CONSTRAINT public_trades_symbol_check CHECK (symbol ~ '^[A-Z0-9]{2,20}USDT$'),
        CONSTRAINT public_trades_side_check CHECK (side IN ('Buy', 'Sell')),
        CONSTRAINT public_trades_size_check CHECK (price > 0 AND size > 0)
        """,
        "traded_at",
    ),
    "ticker_log": (
        """
        symbol            text NOT NULL,
        ts                timestamptz NOT NULL,
        last_price        numeric,
        mark_price        numeric,
        index_price       numeric,
        funding_rate      numeric,
        next_funding_time timestamptz,
        ingested_at       timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ticker_log_pkey PRIMARY KEY (symbol, ts),
        CONSTRAINT ticker_log_symbol_check CHECK (symbol ~ '^[A-Z0-9]{2,20}USDT$')
        """,
        "ts",
    ),
    "funding_settlements": (
        """
        symbol       text NOT NULL,
        funding_time timestamptz NOT NULL,
        funding_rate numeric NOT NULL,
        source       text NOT NULL DEFAULT 'ticker',
        ingested_at  timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT funding_settlements_pkey PRIMARY KEY (symbol, funding_time),
        CONSTRAINT funding_settlements_symbol_check CHECK (symbol ~ '^[A-Z0-9]{2,20}USDT$'),
        CONSTRAINT funding_settlements_source_check CHECK (source IN ('ticker', 'rest'))
        """,
        "funding_time",
    ),
}

_INDEXES = """
    CREATE INDEX public_trades_traded_at_idx ON public_trades (traded_at DESC);
    CREATE INDEX ticker_log_ts_idx ON ticker_log (ts DESC);
    CREATE INDEX funding_settlements_funding_time_idx ON funding_settlements (funding_time DESC);
"""


def _timescale_in_use() -> bool:
    # Revision 0006 created the extension when it was usable: follow its choice.
    return bool(
        op.get_bind()
        .execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'"))
        .scalar_one()
    )


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE klines_5m DROP CONSTRAINT klines_5m_source_check;
        ALTER TABLE klines_5m ADD CONSTRAINT klines_5m_source_check
            CHECK (source IN ('ws', 'rest', 'simulator', 'import', 'rest_backfill'));
        ALTER TABLE klines_5m ADD COLUMN repaired_at timestamptz;

        CREATE TABLE kline_gaps (
            symbol      text NOT NULL,
            open_time   timestamptz NOT NULL,
            status      text NOT NULL,
            detected_at timestamptz NOT NULL DEFAULT now(),
            resolved_at timestamptz NOT NULL DEFAULT now(),
            attempts    integer NOT NULL DEFAULT 1,
            reason      text,
            CONSTRAINT kline_gaps_pkey PRIMARY KEY (symbol, open_time),
            CONSTRAINT kline_gaps_status_check CHECK (status IN ('repaired', 'missing')),
            CONSTRAINT kline_gaps_attempts_check CHECK (attempts >= 1)
        );
        CREATE INDEX kline_gaps_status_idx ON kline_gaps (status, open_time DESC);
        """
    )
    timescale = _timescale_in_use()
    for table, (columns, time_column) in _TABLES.items():
        if timescale:
            op.execute(f"CREATE TABLE {table} ({columns})")
            op.execute(
                f"SELECT create_hypertable('{table}', '{time_column}', chunk_time_interval => interval '1 day')"
            )
        else:
            op.execute(f"CREATE TABLE {table} ({columns}) PARTITION BY RANGE ({time_column})")
            op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
            op.execute(f"SELECT algogrid_ensure_partitions('{table}', 3)")
    op.execute(_INDEXES)


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE funding_settlements;
        DROP TABLE ticker_log;
        DROP TABLE public_trades;
        DROP TABLE kline_gaps;
        DELETE FROM klines_5m WHERE source = 'rest_backfill';
        ALTER TABLE klines_5m DROP COLUMN repaired_at;
        ALTER TABLE klines_5m DROP CONSTRAINT klines_5m_source_check;
        ALTER TABLE klines_5m ADD CONSTRAINT klines_5m_source_check
            CHECK (source IN ('ws', 'rest', 'simulator', 'import'));
        """
    )
