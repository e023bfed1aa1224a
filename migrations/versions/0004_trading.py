"""Signals, positions, orders, executions and order rejections (S-03, E-02..E-04, E-07).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        -- Mirrors strategy_core.Signal (S-03); the id is deterministic per strategy/symbol/side/bar.
        CREATE TABLE signals (
            id               uuid PRIMARY KEY,
            symbol           text NOT NULL,
            side             text NOT NULL,
            entry            numeric NOT NULL,
            tp1              numeric NOT NULL,
            tp2              numeric NOT NULL,
            tp3              numeric NOT NULL,
            sl               numeric NOT NULL,
            qty              numeric NOT NULL,
            risk_usd         numeric NOT NULL,
            risk_r           numeric NOT NULL,
            p_win            numeric NOT NULL,
            strategy         text NOT NULL,
            strategy_version text NOT NULL,
            status           text NOT NULL DEFAULT 'new',
            bar_start        timestamptz NOT NULL,
            created_at       timestamptz NOT NULL,
            queued_until     timestamptz,
            error_code       text,
            error_message    text,
            stored_at        timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT signals_symbol_check CHECK (symbol ~ '^[A-Z0-9]{2,20}USDT$'),
            CONSTRAINT signals_side_check CHECK (side IN ('long', 'short')),
            CONSTRAINT signals_p_win_check CHECK (p_win >= 0 AND p_win <= 1),
            CONSTRAINT signals_amount_check CHECK (qty > 0 AND risk_usd > 0 AND risk_r > 0),
            CONSTRAINT signals_status_check CHECK (status IN
                ('new', 'queued', 'approved', 'denied', 'placed', 'expired', 'cancelled', 'error')),
            CONSTRAINT signals_queued_check CHECK ((status = 'queued') = (queued_until IS NOT NULL)),
            CONSTRAINT signals_levels_check CHECK (
                sl > 0 AND tp3 > 0 AND (
                    (side = 'long' AND sl < entry AND entry < tp1 AND tp1 < tp2 AND tp2 < tp3)
                    OR (side = 'short' AND sl > entry AND entry > tp1 AND tp1 > tp2 AND tp2 > tp3)
                )
            )
        );
        CREATE INDEX signals_created_at_idx ON signals (created_at DESC);
        CREATE INDEX signals_symbol_created_at_idx ON signals (symbol, created_at DESC);
        CREATE INDEX signals_status_idx ON signals (status) WHERE status IN ('new', 'queued');

        CREATE TABLE positions (
            id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            signal_id           uuid REFERENCES signals (id),
            user_id             uuid REFERENCES users (id),
            symbol              text NOT NULL,
            side                text NOT NULL,
            status              text NOT NULL DEFAULT 'open',
            requested_size_base numeric NOT NULL,
            executed_size_base  numeric NOT NULL DEFAULT 0,
            fill_ratio          numeric NOT NULL DEFAULT 0,
            avg_entry_price     numeric,
            sl                  numeric,
            tp1                 numeric,
            tp2                 numeric,
            tp3                 numeric,
            risk_usd            numeric NOT NULL,
            risk_r              numeric NOT NULL DEFAULT 1,
            be_moved            boolean NOT NULL DEFAULT false,
            opened_at           timestamptz NOT NULL DEFAULT now(),
            closed_at           timestamptz,
            close_reason        text,
            avg_exit_price      numeric,
            pnl_usd             numeric,
            fees_usd            numeric NOT NULL DEFAULT 0,
            funding_usd         numeric NOT NULL DEFAULT 0,
            slippage_entry_bps  numeric,
            slippage_exit_bps   numeric,
            error_message       text,
            version             integer NOT NULL DEFAULT 0,
            updated_at          timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT positions_symbol_check CHECK (symbol ~ '^[A-Z0-9]{2,20}USDT$'),
            CONSTRAINT positions_side_check CHECK (side IN ('long', 'short')),
            CONSTRAINT positions_status_check CHECK (status IN
                ('open', 'closing', 'closed', 'error', 'partial_accepted', 'failed_underfill')),
            CONSTRAINT positions_size_check CHECK (requested_size_base > 0 AND executed_size_base >= 0),
            CONSTRAINT positions_fill_ratio_check CHECK (fill_ratio >= 0 AND fill_ratio <= 1),
            CONSTRAINT positions_risk_check CHECK (risk_usd >= 0 AND risk_r >= 0),
            CONSTRAINT positions_closed_check CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
            CONSTRAINT positions_close_reason_check CHECK (close_reason IS NULL OR close_reason IN
                ('manual', 'time_exit', 'funding', 'tp', 'sl', 'reconciliation', 'liquidation', 'underfill'))
        );
        CREATE INDEX positions_symbol_status_idx ON positions (symbol, status);
        CREATE INDEX positions_open_idx ON positions (status) WHERE status IN ('open', 'closing', 'partial_accepted');
        CREATE INDEX positions_user_id_idx ON positions (user_id);
        CREATE INDEX positions_signal_id_idx ON positions (signal_id);
        CREATE INDEX positions_opened_at_idx ON positions (opened_at DESC);
        CREATE TRIGGER positions_touch BEFORE UPDATE ON positions
            FOR EACH ROW EXECUTE FUNCTION algogrid_touch_updated_at();

        CREATE TABLE orders (
            id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            position_id       uuid REFERENCES positions (id),
            signal_id         uuid REFERENCES signals (id),
            user_id           uuid REFERENCES users (id),
            client_order_id   text NOT NULL,
            exchange_order_id text,
            symbol            text NOT NULL,
            side              text NOT NULL,
            order_type        text NOT NULL,
            time_in_force     text NOT NULL,
            reduce_only       boolean NOT NULL DEFAULT false,
            purpose           text NOT NULL,
            price             numeric,
            qty               numeric NOT NULL,
            filled_qty        numeric NOT NULL DEFAULT 0,
            avg_fill_price    numeric,
            status            text NOT NULL DEFAULT 'new',
            created_at        timestamptz NOT NULL DEFAULT now(),
            updated_at        timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT orders_client_order_id_key UNIQUE (client_order_id),
            CONSTRAINT orders_exchange_order_id_key UNIQUE (exchange_order_id),
            CONSTRAINT orders_side_check CHECK (side IN ('Buy', 'Sell')),
            CONSTRAINT orders_type_check CHECK (order_type IN ('Limit', 'Market')),
            CONSTRAINT orders_tif_check CHECK (time_in_force IN ('IOC', 'GTC', 'FOK', 'PostOnly')),
            CONSTRAINT orders_purpose_check
                CHECK (purpose IN ('entry', 'topup', 'exit', 'tp', 'sl', 'funding_exit', 'manual_close')),
            CONSTRAINT orders_status_check CHECK (status IN
                ('new', 'submitted', 'partially_filled', 'filled', 'cancelled', 'rejected', 'expired')),
            CONSTRAINT orders_qty_check CHECK (qty > 0 AND filled_qty >= 0 AND filled_qty <= qty),
            CONSTRAINT orders_price_check CHECK (
                (order_type = 'Limit' AND price > 0) OR (order_type = 'Market' AND (price IS NULL OR price > 0))
            )
        );
        CREATE INDEX orders_position_id_idx ON orders (position_id);
        CREATE INDEX orders_symbol_created_at_idx ON orders (symbol, created_at DESC);
        CREATE INDEX orders_user_id_idx ON orders (user_id);
        CREATE INDEX orders_live_idx ON orders (status) WHERE status IN ('new', 'submitted', 'partially_filled');
        CREATE TRIGGER orders_touch BEFORE UPDATE ON orders
            FOR EACH ROW EXECUTE FUNCTION algogrid_touch_updated_at();

        -- Fills from the private `execution` topic; the exchange's execId makes replays idempotent (E-04).
        CREATE TABLE executions (
            id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            exec_id           text NOT NULL,
            order_id          uuid REFERENCES orders (id),
            exchange_order_id text,
            position_id       uuid REFERENCES positions (id),
            symbol            text NOT NULL,
            side              text NOT NULL,
            price             numeric NOT NULL,
            qty               numeric NOT NULL,
            fee               numeric NOT NULL DEFAULT 0,
            fee_currency      text NOT NULL DEFAULT 'USDT',
            is_maker          boolean NOT NULL DEFAULT false,
            exec_time         timestamptz NOT NULL,
            received_at       timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT executions_exec_id_key UNIQUE (exec_id),
            CONSTRAINT executions_side_check CHECK (side IN ('Buy', 'Sell')),
            CONSTRAINT executions_amount_check CHECK (price > 0 AND qty > 0)
        );
        CREATE INDEX executions_order_id_idx ON executions (order_id);
        CREATE INDEX executions_position_id_idx ON executions (position_id);
        CREATE INDEX executions_symbol_exec_time_idx ON executions (symbol, exec_time DESC);

        CREATE TABLE order_rejections (
            id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at              timestamptz NOT NULL DEFAULT now(),
            order_id        uuid REFERENCES orders (id),
            position_id     uuid REFERENCES positions (id),
            signal_id       uuid REFERENCES signals (id),
            user_id         uuid REFERENCES users (id),
            client_order_id text,
            symbol          text NOT NULL,
            ret_code        integer NOT NULL,
            ret_msg         text NOT NULL,
            error_kind      text NOT NULL,
            request         jsonb NOT NULL DEFAULT '{}'::jsonb,
            CONSTRAINT order_rejections_ret_code_check CHECK (ret_code <> 0)
        );
        CREATE INDEX order_rejections_at_idx ON order_rejections (at DESC);
        CREATE INDEX order_rejections_symbol_at_idx ON order_rejections (symbol, at DESC);
        CREATE INDEX order_rejections_user_id_idx ON order_rejections (user_id);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE order_rejections;
        DROP TABLE executions;
        DROP TABLE orders;
        DROP TABLE positions;
        DROP TABLE signals;
        """
    )
