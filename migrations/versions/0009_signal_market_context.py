"""Signals carry their market context at signal time, read by the slippage model (E-05).

* ``signals.atr_above_p80``: whether ATR lay above its 80th percentile over the indicator window;
* ``signals.book_depth_usd``: the L50 book's notional depth, Σ price × qty over both sides.

Both are nullable: signals stored before this revision have no context (no modelled slippage).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE signals ADD COLUMN atr_above_p80 boolean;
        ALTER TABLE signals ADD COLUMN book_depth_usd numeric;
        ALTER TABLE signals ADD CONSTRAINT signals_book_depth_usd_check
            CHECK (book_depth_usd IS NULL OR book_depth_usd >= 0);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE signals DROP CONSTRAINT signals_book_depth_usd_check;
        ALTER TABLE signals DROP COLUMN book_depth_usd;
        ALTER TABLE signals DROP COLUMN atr_above_p80;
        """
    )
