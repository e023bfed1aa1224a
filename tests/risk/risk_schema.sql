-- TEMPORARY: the risk room's tables until the foundation migrations land (then use migrated_db_url).
CREATE TABLE IF NOT EXISTS kill_switch_state (
    id smallint PRIMARY KEY CHECK (id = 1),
    trading_state text NOT NULL CHECK (trading_state IN ('ACTIVE', 'REDUCING', 'HALTED')),
    reason text NOT NULL,
    changed_by text NOT NULL,
    source text NOT NULL,
    changed_at timestamptz NOT NULL,
    version bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_trail (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    subject text NOT NULL,
    details jsonb NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS risk_denials (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL,
    subject text NOT NULL,
    subject_id text NOT NULL,
    symbol text NOT NULL,
    side text NOT NULL,
    reason text NOT NULL,
    trading_state text NOT NULL
);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id bigserial PRIMARY KEY,
    alert_id uuid NOT NULL,
    event text NOT NULL,
    url text NOT NULL,
    attempt integer NOT NULL,
    delivered boolean NOT NULL,
    final boolean NOT NULL,
    status_code integer,
    error text,
    at timestamptz NOT NULL
);
