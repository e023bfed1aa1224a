"""Partition maintenance on a schedule (T-03, D-05): ensure partitions ahead for a given time, move rows.

``algogrid_ensure_partitions(parent, months_ahead, at)`` replaces the two-argument form (its calls keep
working through the defaults): partitions are created from one month before ``at`` to ``months_ahead``
months after it, and rows that already sit in the DEFAULT partition for a new month (written after the
partitions ahead ran out) are moved into it, so creating the partition never fails.

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        DROP FUNCTION algogrid_ensure_partitions(regclass, integer);

        CREATE FUNCTION algogrid_ensure_partitions(
            parent regclass, months_ahead integer DEFAULT 3, at timestamptz DEFAULT now()
        ) RETURNS integer LANGUAGE plpgsql AS $$
        DECLARE
            start_month date := date_trunc('month', at - interval '1 month')::date;
            lower_bound date;
            upper_bound date;
            part_name text;
            default_part regclass;
            time_column text;
            created integer := 0;
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = parent) THEN
                RETURN 0;
            END IF;
            SELECT a.attname INTO time_column
              FROM pg_partitioned_table p
              JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
             WHERE p.partrelid = parent;
            SELECT i.inhrelid::regclass INTO default_part
              FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = parent AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';
            FOR i IN 0 .. months_ahead + 1 LOOP
                lower_bound := (start_month + make_interval(months => i))::date;
                upper_bound := (lower_bound + interval '1 month')::date;
                part_name := format('%s_p%s', parent::text, to_char(lower_bound, 'YYYYMM'));
                IF to_regclass(part_name) IS NULL THEN
                    EXECUTE format(
                        'CREATE TABLE %I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part_name, parent
                    );
                    IF default_part IS NOT NULL THEN
                        EXECUTE format(
                            'WITH moved AS (DELETE FROM %s WHERE %I >= %L AND %I < %L RETURNING *) '
                            'INSERT INTO %I SELECT * FROM moved',
                            default_part, time_column, lower_bound, time_column, upper_bound, part_name
                        );
                    END IF;
                    EXECUTE format(
                        'ALTER TABLE %s ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                        parent, part_name, lower_bound, upper_bound
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
        DROP FUNCTION algogrid_ensure_partitions(regclass, integer, timestamptz);

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
