"""Calibration versions and p_win outcomes, backtest runs and trades, forward-validation phases (S-05..S-07).

* ``calibration_runs`` gains who ran it (``triggered_by_name``: an operator, the CLI user or the scheduler)
  and ``version`` (increasing; the newest succeeded run is the θ map in force);
* ``theta_maps`` gains the fold's train/OOS trade counts, train PF, the PSI and the train days used;
* ``calibration_outcomes``: OOS wins/losses per symbol, hour and side (the p_win statistics);
* ``backtest_runs`` / ``backtest_trades``: a backtest's report and its simulated trades;
* ``forward_phases``: a forward-validation phase (running → passed | failed | aborted) with its thresholds,
  metrics and the decision (S-07).

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE calibration_runs ADD COLUMN triggered_by_name text NOT NULL DEFAULT 'system';
        ALTER TABLE calibration_runs ADD COLUMN version bigint GENERATED ALWAYS AS IDENTITY;
        CREATE UNIQUE INDEX calibration_runs_version_key ON calibration_runs (version);

        ALTER TABLE theta_maps ADD COLUMN train_trades integer NOT NULL DEFAULT 0;
        ALTER TABLE theta_maps ADD COLUMN oos_trades integer NOT NULL DEFAULT 0;
        ALTER TABLE theta_maps ADD COLUMN train_profit_factor numeric;
        ALTER TABLE theta_maps ADD COLUMN psi numeric;
        ALTER TABLE theta_maps ADD COLUMN train_days integer;

        CREATE TABLE calibration_outcomes (
            id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            calibration_run_id uuid NOT NULL REFERENCES calibration_runs (id) ON DELETE CASCADE,
            symbol             text NOT NULL,
            hour               smallint NOT NULL,
            side               text NOT NULL,
            wins               integer NOT NULL,
            losses             integer NOT NULL,
            CONSTRAINT calibration_outcomes_hour_check CHECK (hour BETWEEN 0 AND 23),
            CONSTRAINT calibration_outcomes_side_check CHECK (side IN ('long', 'short')),
            CONSTRAINT calibration_outcomes_counts_check CHECK (wins >= 0 AND losses >= 0),
            CONSTRAINT calibration_outcomes_key UNIQUE (calibration_run_id, symbol, hour, side)
        );
        CREATE INDEX calibration_outcomes_symbol_idx ON calibration_outcomes (symbol);

        CREATE TABLE backtest_runs (
            id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            created_at   timestamptz NOT NULL DEFAULT now(),
            created_by   text NOT NULL,
            source       text NOT NULL,
            symbols      text[] NOT NULL,
            start_at     timestamptz,
            end_at       timestamptz,
            report_dir   text,
            report       jsonb NOT NULL,
            CONSTRAINT backtest_runs_source_check CHECK (source IN ('csv', 'postgres'))
        );
        CREATE INDEX backtest_runs_created_at_idx ON backtest_runs (created_at DESC);

        CREATE TABLE backtest_trades (
            id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            backtest_run_id       uuid NOT NULL REFERENCES backtest_runs (id) ON DELETE CASCADE,
            signal_id             uuid NOT NULL,
            symbol                text NOT NULL,
            side                  text NOT NULL,
            opened_at             timestamptz NOT NULL,
            closed_at             timestamptz NOT NULL,
            entry                 numeric NOT NULL,
            entry_fill            numeric NOT NULL,
            qty                   numeric NOT NULL,
            exit_avg              numeric NOT NULL,
            exit_reason           text NOT NULL,
            tp1_first             boolean NOT NULL,
            fees_usd              numeric NOT NULL,
            funding_usd           numeric NOT NULL,
            pnl_usd               numeric NOT NULL,
            pnl_r                 numeric NOT NULL,
            modelled_slippage_bps numeric NOT NULL,
            p_win                 numeric NOT NULL,
            CONSTRAINT backtest_trades_side_check CHECK (side IN ('long', 'short')),
            CONSTRAINT backtest_trades_run_signal_key UNIQUE (backtest_run_id, signal_id)
        );
        CREATE INDEX backtest_trades_symbol_idx ON backtest_trades (symbol, opened_at);

        CREATE TABLE forward_phases (
            id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            mode         text NOT NULL,
            status       text NOT NULL DEFAULT 'running',
            started_at   timestamptz NOT NULL,
            ended_at     timestamptz,
            min_days     integer NOT NULL,
            thresholds   jsonb NOT NULL,
            metrics      jsonb,
            reasons      jsonb,
            decided_by   text,
            CONSTRAINT forward_phases_status_check
                CHECK (status IN ('running', 'passed', 'failed', 'aborted')),
            CONSTRAINT forward_phases_mode_check CHECK (mode IN ('simulation', 'paper', 'live')),
            CONSTRAINT forward_phases_ended_check CHECK ((status = 'running') = (ended_at IS NULL))
        );
        CREATE INDEX forward_phases_started_at_idx ON forward_phases (started_at DESC);
        -- at most one running phase
        CREATE UNIQUE INDEX forward_phases_one_running ON forward_phases ((true)) WHERE status = 'running';
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE forward_phases;
        DROP TABLE backtest_trades;
        DROP TABLE backtest_runs;
        DROP TABLE calibration_outcomes;
        ALTER TABLE theta_maps DROP COLUMN train_days;
        ALTER TABLE theta_maps DROP COLUMN psi;
        ALTER TABLE theta_maps DROP COLUMN train_profit_factor;
        ALTER TABLE theta_maps DROP COLUMN oos_trades;
        ALTER TABLE theta_maps DROP COLUMN train_trades;
        DROP INDEX calibration_runs_version_key;
        ALTER TABLE calibration_runs DROP COLUMN version;
        ALTER TABLE calibration_runs DROP COLUMN triggered_by_name;
        """
    )
