"""Time-series tables: klines_5m, orderbook_l50_log, slippage_log (P-06, D-01, D-04, E-05, T-03).

TimescaleDB hypertables when the extension can be created; otherwise native monthly range partitions created
ahead by ``algogrid_ensure_partitions`` (call it again from a daily job), plus a DEFAULT partition so a
back-fill of old history never fails.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# table -> (columns and constraints, time column)
_TABLES: dict[str, tuple[str, str]] = {
    "klines_5m": (
        """
        symbol      text NOT NULL,
        open_time   timestamptz NOT NULL,
        open        numeric NOT NULL,
        high        numeric NOT NULL,
        low         numeric NOT NULL,
        close       numeric NOT NULL,
        volume      numeric NOT NULL,
        turnover    numeric NOT NULL DEFAULT 0,
        confirmed   boolean NOT NULL DEFAULT true,
        source      text NOT NULL DEFAULT 'ws',
        ingested_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT klines_5m_pkey PRIMARY KEY (symbol, open_time),
        CONSTRAINT klines_5m_symbol_check CHECK (symbol ~ '^[A-Z0-9]{2,20}USDT$'),
        CONSTRAINT klines_5m_ohlc_check CHECK (
            low > 0 AND high >= low AND open BETWEEN low AND high AND close BETWEEN low AND high),
        CONSTRAINT klines_5m_volume_check CHECK (volume >= 0 AND turnover >= 0),
        CONSTRAINT klines_5m_source_check CHECK (source IN ('ws', 'rest', 'simulator', 'import'))
        """,
        "open_time",
    ),
    "orderbook_l50_log": (
        """
        symbol      text NOT NULL,
        captured_at timestamptz NOT NULL,
        update_id   bigint NOT NULL,
        seq         bigint,
        best_bid    numeric NOT NULL,
        best_ask    numeric NOT NULL,
        bids        jsonb NOT NULL,
        asks        jsonb NOT NULL,
        CONSTRAINT orderbook_l50_log_pkey PRIMARY KEY (symbol, captured_at, update_id),
        CONSTRAINT orderbook_l50_log_symbol_check CHECK (symbol ~ '^[A-Z0-9]{2,20}USDT$'),
        CONSTRAINT orderbook_l50_log_spread_check CHECK (best_bid > 0 AND best_ask >= best_bid),
        CONSTRAINT orderbook_l50_log_levels_check
            CHECK (jsonb_typeof(bids) = 'array' AND jsonb_typeof(asks) = 'array')
        """,
        "captured_at",
    ),
    "slippage_log": (
        """
        id              bigint GENERATED ALWAYS AS IDENTITY,
        recorded_at     timestamptz NOT NULL DEFAULT now(),
        symbol          text NOT NULL,
        side            text NOT NULL,
        leg             text NOT NULL,
        position_id     uuid REFERENCES positions (id),
        order_id        uuid REFERENCES orders (id),
        requested_price numeric NOT NULL,
        avg_fill_price  numeric NOT NULL,
        qty             numeric NOT NULL,
        slippage_bps    numeric NOT NULL,
        modelled_bps    numeric,
        CONSTRAINT slippage_log_pkey PRIMARY KEY (id, recorded_at),
        CONSTRAINT slippage_log_side_check CHECK (side IN ('long', 'short')),
        CONSTRAINT slippage_log_leg_check CHECK (leg IN ('entry', 'exit')),
        CONSTRAINT slippage_log_price_check CHECK (requested_price > 0 AND avg_fill_price > 0 AND qty > 0)
        """,
        "recorded_at",
    ),
}

_INDEXES = """
    CREATE INDEX klines_5m_open_time_idx ON klines_5m (open_time DESC);
    CREATE INDEX orderbook_l50_log_captured_at_idx ON orderbook_l50_log (captured_at DESC);
    CREATE INDEX slippage_log_symbol_recorded_at_idx ON slippage_log (symbol, recorded_at DESC);
    CREATE INDEX slippage_log_position_id_idx ON slippage_log (position_id);
"""


def _timescale_available() -> bool:
    bind = op.get_bind()
    available = bind.execute(
        text("SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'")
    ).scalar_one()
    if not available:
        return False
    # CREATE EXTENSION fails unless timescaledb is in shared_preload_libraries: try in a savepoint.
    with bind.begin_nested() as savepoint:
        try:
            bind.execute(text("CREATE EXTENSION IF NOT EXISTS timescaledb"))
        except Exception:  # any failure means "not usable here": fall back to native partitioning
            savepoint.rollback()
            return False
    return True


def upgrade() -> None:
    if _timescale_available():
        for table, (columns, time_column) in _TABLES.items():
            op.execute(f"CREATE TABLE {table} ({columns})")
            op.execute(
                f"SELECT create_hypertable('{table}', '{time_column}', "
                "chunk_time_interval => interval '7 days')"
            )
    else:
        for table, (columns, time_column) in _TABLES.items():
            op.execute(f"CREATE TABLE {table} ({columns}) PARTITION BY RANGE ({time_column})")
            op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
            op.execute(f"SELECT algogrid_ensure_partitions('{table}', 3)")
    op.execute(_INDEXES)


def downgrade() -> None:
    op.execute("DROP TABLE slippage_log; DROP TABLE orderbook_l50_log; DROP TABLE klines_5m;")
