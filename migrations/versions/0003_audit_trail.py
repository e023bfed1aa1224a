"""Append-only audit trail (U-11, O-03): UPDATE, DELETE and TRUNCATE are refused by triggers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE audit_trail (
            id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at              timestamptz NOT NULL DEFAULT now(),
            actor_user_id   uuid REFERENCES users (id),
            actor_label     text NOT NULL,
            action          text NOT NULL,
            target_type     text,
            target_id       text,
            details         jsonb NOT NULL DEFAULT '{}'::jsonb,
            request_id      text,
            correlation_id  text,
            ip              inet,
            CONSTRAINT audit_trail_action_check CHECK (action ~ '^[a-z][a-z0-9_.]*$')
        );
        CREATE INDEX audit_trail_at_idx ON audit_trail (at DESC);
        CREATE INDEX audit_trail_actor_user_id_idx ON audit_trail (actor_user_id, at DESC);
        CREATE INDEX audit_trail_action_idx ON audit_trail (action, at DESC);
        CREATE TRIGGER audit_trail_append_only BEFORE UPDATE OR DELETE ON audit_trail
            FOR EACH ROW EXECUTE FUNCTION algogrid_refuse_change();
        CREATE TRIGGER audit_trail_no_truncate BEFORE TRUNCATE ON audit_trail
            FOR EACH STATEMENT EXECUTE FUNCTION algogrid_refuse_change();
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE audit_trail;")
