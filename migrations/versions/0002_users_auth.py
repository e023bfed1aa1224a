"""Users, one-time tokens, refresh-token families and Bybit API keys (U-01, U-02, U-03, U-08).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE users (
            id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            email           text NOT NULL,
            role            text NOT NULL,
            password_hash   text,
            is_active       boolean NOT NULL DEFAULT true,
            totp_secret_enc text,
            totp_enabled    boolean NOT NULL DEFAULT false,
            created_at      timestamptz NOT NULL DEFAULT now(),
            updated_at      timestamptz NOT NULL DEFAULT now(),
            last_login_at   timestamptz,
            pseudonymised_at timestamptz,
            CONSTRAINT users_role_check CHECK (role IN ('viewer', 'trader', 'admin')),
            CONSTRAINT users_email_check CHECK (position('@' IN email) > 1),
            CONSTRAINT users_totp_check CHECK (NOT totp_enabled OR totp_secret_enc IS NOT NULL)
        );
        CREATE UNIQUE INDEX users_email_key ON users (lower(email));
        CREATE TRIGGER users_touch BEFORE UPDATE ON users
            FOR EACH ROW EXECUTE FUNCTION algogrid_touch_updated_at();

        -- One-time tokens (activation +48 h, password reset): only a SHA-256 hash is stored (U-02).
        CREATE TABLE user_tokens (
            id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            purpose     text NOT NULL,
            token_hash  text NOT NULL,
            created_at  timestamptz NOT NULL DEFAULT now(),
            expires_at  timestamptz NOT NULL,
            used_at     timestamptz,
            CONSTRAINT user_tokens_purpose_check CHECK (purpose IN ('activation', 'password_reset')),
            CONSTRAINT user_tokens_expiry_check CHECK (expires_at > created_at),
            CONSTRAINT user_tokens_hash_key UNIQUE (token_hash)
        );
        CREATE INDEX user_tokens_user_id_idx ON user_tokens (user_id);

        -- Refresh-token rotation: a family per login; reuse of a rotated token revokes the family (U-03).
        CREATE TABLE refresh_token_families (
            id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            current_jti     text NOT NULL,
            created_at      timestamptz NOT NULL DEFAULT now(),
            rotated_at      timestamptz NOT NULL DEFAULT now(),
            expires_at      timestamptz NOT NULL,
            revoked_at      timestamptz,
            revoked_reason  text,
            CONSTRAINT refresh_token_families_expiry_check CHECK (expires_at > created_at),
            CONSTRAINT refresh_token_families_revoked_check
                CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
        );
        CREATE INDEX refresh_token_families_user_id_idx ON refresh_token_families (user_id);
        CREATE UNIQUE INDEX refresh_token_families_jti_key ON refresh_token_families (current_jti);

        -- Bybit keys: the secret only as ciphertext (Vault Transit or dev LocalCipher) (U-08).
        CREATE TABLE api_keys (
            id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id           uuid NOT NULL REFERENCES users (id),
            label             text NOT NULL,
            exchange          text NOT NULL DEFAULT 'bybit',
            environment       text NOT NULL DEFAULT 'testnet',
            api_key           text NOT NULL,
            secret_ciphertext text NOT NULL,
            cipher            text NOT NULL,
            is_active         boolean NOT NULL DEFAULT true,
            rotated_from      uuid REFERENCES api_keys (id),
            created_at        timestamptz NOT NULL DEFAULT now(),
            last_used_at      timestamptz,
            CONSTRAINT api_keys_user_label_key UNIQUE (user_id, label),
            CONSTRAINT api_keys_exchange_check CHECK (exchange IN ('bybit')),
            CONSTRAINT api_keys_environment_check CHECK (environment IN ('testnet', 'demo', 'mainnet')),
            CONSTRAINT api_keys_cipher_check CHECK (cipher IN ('vault-transit', 'local')),
            CONSTRAINT api_keys_label_check CHECK (length(label) BETWEEN 1 AND 64)
        );
        CREATE INDEX api_keys_user_id_idx ON api_keys (user_id);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE api_keys;
        DROP TABLE refresh_token_families;
        DROP TABLE user_tokens;
        DROP TABLE users;
        """
    )
