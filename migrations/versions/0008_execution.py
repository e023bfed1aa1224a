"""Execution path: opening positions, conditional order states, attempts, exec types (E-02..E-05).

* ``positions.status`` may be ``opening`` (the intent is committed, the entry not yet settled);
* ``orders``: statuses ``untriggered`` / ``triggered`` (the stop-loss is a conditional order), the
  ``trigger_price`` and the ``attempt`` number of the order's ``orderLinkId``;
* ``executions``: the ``order_link_id`` and ``exec_type`` (``Trade``, ``Funding`` …) of each row;
* ``slippage_log.client_order_id``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE positions DROP CONSTRAINT positions_status_check;
        ALTER TABLE positions ADD CONSTRAINT positions_status_check CHECK (status IN
            ('opening', 'open', 'closing', 'closed', 'error', 'partial_accepted', 'failed_underfill'));
        DROP INDEX positions_open_idx;
        CREATE INDEX positions_open_idx ON positions (status)
            WHERE status IN ('opening', 'open', 'closing', 'partial_accepted', 'failed_underfill', 'error');

        ALTER TABLE orders DROP CONSTRAINT orders_status_check;
        ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN
            ('new', 'submitted', 'untriggered', 'triggered', 'partially_filled', 'filled', 'cancelled',
             'rejected', 'expired'));
        ALTER TABLE orders ADD COLUMN trigger_price numeric;
        ALTER TABLE orders ADD COLUMN attempt integer NOT NULL DEFAULT 0;
        ALTER TABLE orders ADD CONSTRAINT orders_trigger_price_check CHECK (trigger_price IS NULL OR trigger_price > 0);
        DROP INDEX orders_live_idx;
        CREATE INDEX orders_live_idx ON orders (status)
            WHERE status IN ('new', 'submitted', 'untriggered', 'triggered', 'partially_filled');

        ALTER TABLE executions ADD COLUMN order_link_id text;
        ALTER TABLE executions ADD COLUMN exec_type text NOT NULL DEFAULT 'Trade';

        ALTER TABLE slippage_log ADD COLUMN client_order_id text;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE slippage_log DROP COLUMN client_order_id;
        ALTER TABLE executions DROP COLUMN exec_type;
        ALTER TABLE executions DROP COLUMN order_link_id;
        DROP INDEX orders_live_idx;
        CREATE INDEX orders_live_idx ON orders (status) WHERE status IN ('new', 'submitted', 'partially_filled');
        ALTER TABLE orders DROP CONSTRAINT orders_trigger_price_check;
        ALTER TABLE orders DROP COLUMN attempt;
        ALTER TABLE orders DROP COLUMN trigger_price;
        ALTER TABLE orders DROP CONSTRAINT orders_status_check;
        ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN
            ('new', 'submitted', 'partially_filled', 'filled', 'cancelled', 'rejected', 'expired'));
        DROP INDEX positions_open_idx;
        CREATE INDEX positions_open_idx ON positions (status) WHERE status IN ('open', 'closing', 'partial_accepted');
        ALTER TABLE positions DROP CONSTRAINT positions_status_check;
        ALTER TABLE positions ADD CONSTRAINT positions_status_check CHECK (status IN
            ('open', 'closing', 'closed', 'error', 'partial_accepted', 'failed_underfill'));
        """
    )
