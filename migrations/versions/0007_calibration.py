"""Calibration runs and per-hour theta maps (S-05).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE calibration_runs (
            id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            status        text NOT NULL DEFAULT 'running',
            start_date    date NOT NULL,
            end_date      date NOT NULL,
            forced        boolean NOT NULL DEFAULT false,
            progress_days integer NOT NULL DEFAULT 0,
            total_days    integer NOT NULL,
            params        jsonb NOT NULL DEFAULT '{}'::jsonb,
            result        jsonb,
            error         text,
            triggered_by  uuid REFERENCES users (id),
            started_at    timestamptz NOT NULL DEFAULT now(),
            finished_at   timestamptz,
            CONSTRAINT calibration_runs_status_check
                CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
            CONSTRAINT calibration_runs_dates_check CHECK (end_date > start_date),
            CONSTRAINT calibration_runs_progress_check
                CHECK (total_days > 0 AND progress_days BETWEEN 0 AND total_days),
            CONSTRAINT calibration_runs_finished_check
                CHECK ((status = 'running') = (finished_at IS NULL))
        );
        CREATE INDEX calibration_runs_started_at_idx ON calibration_runs (started_at DESC);
        CREATE INDEX calibration_runs_triggered_by_idx ON calibration_runs (triggered_by);

        -- theta*(h) per hour of day; symbol NULL = the global map; theta within the S-05 grid.
        CREATE TABLE theta_maps (
            id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            calibration_run_id uuid NOT NULL REFERENCES calibration_runs (id) ON DELETE CASCADE,
            symbol             text,
            hour               smallint NOT NULL,
            theta              numeric NOT NULL,
            oos_profit_factor  numeric,
            is_dead_hour       boolean NOT NULL DEFAULT false,
            is_fallback        boolean NOT NULL DEFAULT false,
            created_at         timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT theta_maps_hour_check CHECK (hour BETWEEN 0 AND 23),
            CONSTRAINT theta_maps_theta_check CHECK (theta >= 0.15 AND theta <= 0.50),
            CONSTRAINT theta_maps_symbol_check CHECK (symbol IS NULL OR symbol ~ '^[A-Z0-9]{2,20}USDT$'),
            CONSTRAINT theta_maps_run_symbol_hour_key UNIQUE NULLS NOT DISTINCT (calibration_run_id, symbol, hour)
        );
        CREATE INDEX theta_maps_symbol_idx ON theta_maps (symbol, created_at DESC);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE theta_maps; DROP TABLE calibration_runs;")
