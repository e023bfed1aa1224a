"""Auth (U-02..U-11): TOTP replay guard, audit context, runtime config, the app role without audit rewrites.

* ``users.totp_last_step``: the last accepted TOTP time step; a code of that step or an earlier one is
  refused (U-05: a code is never accepted twice).
* ``audit_trail.user_agent`` beside ``ip``/``request_id``/``correlation_id`` (U-11: who, when, where, what).
* ``refresh_token_families.via``: how the session was opened (``bearer`` for API clients, ``cookie`` for
  the browser), shown to admins.
* ``runtime_config``: ``PATCH /config`` overrides (validated by the settings model, audited).
* ``algogrid_app``: the role the application should log in as (a member of it). It may read and write every
  table but is granted no UPDATE, DELETE or TRUNCATE on ``audit_trail`` (append-only by privilege, on top of
  the 0003 triggers); tables of later migrations get the same grants by default privileges (a later table
  that must be append-only revokes them itself). Roles are cluster-wide: created once, kept on downgrade.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE users ADD COLUMN totp_last_step bigint;
        ALTER TABLE audit_trail ADD COLUMN user_agent text;
        ALTER TABLE refresh_token_families ADD COLUMN via text NOT NULL DEFAULT 'bearer'
            CONSTRAINT refresh_token_families_via_check CHECK (via IN ('bearer', 'cookie'));

        CREATE TABLE runtime_config (
            section     text PRIMARY KEY,
            value       jsonb NOT NULL,
            updated_at  timestamptz NOT NULL DEFAULT now(),
            updated_by  uuid REFERENCES users (id)
        );

        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'algogrid_app') THEN
                CREATE ROLE algogrid_app NOLOGIN;
            END IF;
        END
        $$;
        GRANT USAGE ON SCHEMA public TO algogrid_app;
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO algogrid_app;
        GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO algogrid_app;
        REVOKE UPDATE, DELETE, TRUNCATE ON audit_trail FROM algogrid_app;
        REVOKE UPDATE, DELETE, TRUNCATE ON audit_trail FROM PUBLIC;
        GRANT SELECT, INSERT ON audit_trail TO algogrid_app;
        -- tables and sequences created by later migrations (run by the same owner) are granted too
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO algogrid_app;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO algogrid_app;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM algogrid_app;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM algogrid_app;
        REVOKE ALL ON ALL TABLES IN SCHEMA public FROM algogrid_app;
        REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM algogrid_app;
        REVOKE USAGE ON SCHEMA public FROM algogrid_app;
        DROP TABLE runtime_config;
        ALTER TABLE refresh_token_families DROP COLUMN via;
        ALTER TABLE audit_trail DROP COLUMN user_agent;
        ALTER TABLE users DROP COLUMN totp_last_step;
        """
    )
