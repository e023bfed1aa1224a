"""Reconciliation passes, open findings and the PostgreSQL fence of the reconciler's lock (C-01..C-04).

* ``reconciliation_log`` gains ``finding_key`` (one open row per drift, not one per pass), ``fence`` (the lock
  token of the pass that wrote it), ``repair`` (what was done about it) and the admin's acknowledgement
  (``acknowledged_by`` / ``acknowledged_at``); ``resolved_at`` (0005) is set when a later pass no longer
  sees the drift;
* ``reconciliation_passes``: one row per finished pass (who held the lock, its token, duration, counts);
* ``reconciliation_fence``: a single row holding the newest lock token that wrote; a write carrying an older
  token is refused (``UPDATE … WHERE fence <= $token``), so a stalled holder cannot overwrite a newer pass.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-09
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE reconciliation_log ADD COLUMN finding_key text;
        ALTER TABLE reconciliation_log ADD COLUMN fence bigint;
        ALTER TABLE reconciliation_log ADD COLUMN repair text;
        ALTER TABLE reconciliation_log ADD COLUMN acknowledged_by text;
        ALTER TABLE reconciliation_log ADD COLUMN acknowledged_at timestamptz;
        CREATE INDEX reconciliation_log_open_idx ON reconciliation_log (finding_key)
            WHERE resolved_at IS NULL OR acknowledged_at IS NULL;

        CREATE TABLE reconciliation_passes (
            run_id      uuid PRIMARY KEY,
            fence       bigint NOT NULL,
            holder      text NOT NULL,
            started_at  timestamptz NOT NULL,
            finished_at timestamptz NOT NULL DEFAULT now(),
            duration_ms double precision NOT NULL,
            symbols     integer NOT NULL,
            info        integer NOT NULL DEFAULT 0,
            warning     integer NOT NULL DEFAULT 0,
            critical    integer NOT NULL DEFAULT 0,
            clean       boolean NOT NULL,
            CONSTRAINT reconciliation_passes_counts_check CHECK (info >= 0 AND warning >= 0 AND critical >= 0)
        );
        CREATE INDEX reconciliation_passes_finished_at_idx ON reconciliation_passes (finished_at DESC);

        CREATE TABLE reconciliation_fence (
            id    smallint PRIMARY KEY DEFAULT 1,
            fence bigint NOT NULL DEFAULT 0,
            CONSTRAINT reconciliation_fence_singleton_check CHECK (id = 1)
        );
        INSERT INTO reconciliation_fence (id, fence) VALUES (1, 0);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE reconciliation_fence;
        DROP TABLE reconciliation_passes;
        DROP INDEX reconciliation_log_open_idx;
        ALTER TABLE reconciliation_log DROP COLUMN acknowledged_at;
        ALTER TABLE reconciliation_log DROP COLUMN acknowledged_by;
        ALTER TABLE reconciliation_log DROP COLUMN repair;
        ALTER TABLE reconciliation_log DROP COLUMN fence;
        ALTER TABLE reconciliation_log DROP COLUMN finding_key;
        """
    )
