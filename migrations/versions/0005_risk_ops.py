"""Kill switch state, risk denials, reconciliation log, webhook deliveries, event outbox (R-04, C-02, G-05).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        -- A single row: survives restarts and is mirrored to Redis (R-04). History goes to audit_trail.
        CREATE TABLE kill_switch_state (
            id              smallint PRIMARY KEY DEFAULT 1,
            trading_state   text NOT NULL DEFAULT 'ACTIVE',
            engaged         boolean NOT NULL DEFAULT false,
            reason          text,
            changed_by      uuid REFERENCES users (id),
            changed_by_label text NOT NULL DEFAULT 'system',
            changed_at      timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT kill_switch_state_singleton_check CHECK (id = 1),
            CONSTRAINT kill_switch_state_trading_state_check
                CHECK (trading_state IN ('ACTIVE', 'REDUCING', 'HALTED')),
            CONSTRAINT kill_switch_state_engaged_check
                CHECK (NOT engaged OR (trading_state <> 'ACTIVE' AND reason IS NOT NULL))
        );
        INSERT INTO kill_switch_state (id) VALUES (1);

        CREATE TABLE risk_denials (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at          timestamptz NOT NULL DEFAULT now(),
            signal_id   uuid REFERENCES signals (id),
            user_id     uuid REFERENCES users (id),
            symbol      text NOT NULL,
            side        text,
            reason_code text NOT NULL,
            reason      text NOT NULL,
            details     jsonb NOT NULL DEFAULT '{}'::jsonb,
            CONSTRAINT risk_denials_side_check CHECK (side IS NULL OR side IN ('long', 'short'))
        );
        CREATE INDEX risk_denials_at_idx ON risk_denials (at DESC);
        CREATE INDEX risk_denials_symbol_at_idx ON risk_denials (symbol, at DESC);
        CREATE INDEX risk_denials_user_id_idx ON risk_denials (user_id);

        CREATE TABLE reconciliation_log (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            run_id      uuid NOT NULL,
            at          timestamptz NOT NULL DEFAULT now(),
            symbol      text,
            severity    text NOT NULL,
            kind        text NOT NULL,
            position_id uuid REFERENCES positions (id),
            order_id    uuid REFERENCES orders (id),
            details     jsonb NOT NULL DEFAULT '{}'::jsonb,
            resolved_at timestamptz,
            CONSTRAINT reconciliation_log_severity_check CHECK (severity IN ('info', 'warning', 'critical'))
        );
        CREATE INDEX reconciliation_log_at_idx ON reconciliation_log (at DESC);
        CREATE INDEX reconciliation_log_run_id_idx ON reconciliation_log (run_id);
        CREATE INDEX reconciliation_log_symbol_at_idx ON reconciliation_log (symbol, at DESC);

        CREATE TABLE webhook_deliveries (
            id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            event            text NOT NULL,
            url              text NOT NULL,
            payload          jsonb NOT NULL,
            position_id      uuid REFERENCES positions (id),
            symbol           text,
            status           text NOT NULL DEFAULT 'pending',
            attempts         integer NOT NULL DEFAULT 0,
            last_status_code integer,
            last_error       text,
            next_attempt_at  timestamptz NOT NULL DEFAULT now(),
            created_at       timestamptz NOT NULL DEFAULT now(),
            delivered_at     timestamptz,
            CONSTRAINT webhook_deliveries_status_check CHECK (status IN ('pending', 'delivered', 'failed')),
            CONSTRAINT webhook_deliveries_attempts_check CHECK (attempts >= 0),
            CONSTRAINT webhook_deliveries_url_check CHECK (url ~ '^https?://'),
            CONSTRAINT webhook_deliveries_delivered_check
                CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
        );
        CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (next_attempt_at)
            WHERE status = 'pending';
        CREATE INDEX webhook_deliveries_created_at_idx ON webhook_deliveries (created_at DESC);

        -- Transactional outbox: events committed with the change, published to Redis Streams afterwards.
        CREATE TABLE event_outbox (
            id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            channel      text NOT NULL,
            payload      jsonb NOT NULL,
            created_at   timestamptz NOT NULL DEFAULT now(),
            published_at timestamptz,
            CONSTRAINT event_outbox_channel_check CHECK (channel ~ '^[a-z_]+$')
        );
        CREATE INDEX event_outbox_unpublished_idx ON event_outbox (id) WHERE published_at IS NULL;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE event_outbox;
        DROP TABLE webhook_deliveries;
        DROP TABLE reconciliation_log;
        DROP TABLE risk_denials;
        DROP TABLE kill_switch_state;
        """
    )
