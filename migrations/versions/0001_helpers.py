"""Helpers: updated_at trigger, append-only guard, time-series partitioning (T-01, T-03).

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION algogrid_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.updated_at := now();
            RETURN NEW;
        END $$;

        -- Raised by triggers on append-only tables (audit_trail): UPDATE, DELETE and TRUNCATE are refused.
        CREATE FUNCTION algogrid_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$;

        -- True when time-series tables are TimescaleDB hypertables (T-03).
        CREATE FUNCTION algogrid_timescale_enabled() RETURNS boolean LANGUAGE sql STABLE AS $$
            SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
        $$;

        -- Create monthly range partitions of a natively partitioned table from one month back to
        -- `months_ahead` months ahead (idempotent). A no-op for hypertables. Returns partitions created.
        CREATE FUNCTION algogrid_ensure_partitions(parent regclass, months_ahead integer DEFAULT 3)
        RETURNS integer LANGUAGE plpgsql AS $$
        DECLARE
            start_month date := date_trunc('month', now() - interval '1 month')::date;
            lower_bound date;
            part_name text;
            created integer := 0;
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = parent) THEN
                RETURN 0;
            END IF;
            FOR i IN 0 .. months_ahead + 1 LOOP
                lower_bound := (start_month + make_interval(months => i))::date;
                part_name := format('%s_p%s', parent::text, to_char(lower_bound, 'YYYYMM'));
                IF to_regclass(part_name) IS NULL THEN
                    EXECUTE format(
                        'CREATE TABLE %I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                        part_name, parent, lower_bound, (lower_bound + interval '1 month')::date
                    );
                    created := created + 1;
                END IF;
            END LOOP;
            RETURN created;
        END $$;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP FUNCTION algogrid_ensure_partitions(regclass, integer);
        DROP FUNCTION algogrid_timescale_enabled();
        DROP FUNCTION algogrid_refuse_change();
        DROP FUNCTION algogrid_touch_updated_at();
        """
    )
