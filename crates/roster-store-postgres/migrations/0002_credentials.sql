-- Scoped keys with rate limits, API clients, JWT signing keys, workspace settings.

ALTER TABLE workspaces ADD COLUMN is_operator BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE workspaces ADD COLUMN rate_limit_per_minute BIGINT;
-- The installation's first workspace is its operator workspace.
UPDATE workspaces SET is_operator = TRUE WHERE pk = (SELECT MIN(pk) FROM workspaces);

ALTER TABLE api_keys ADD COLUMN rate_limit_per_minute BIGINT;
ALTER TABLE api_keys ADD COLUMN last_used_at TIMESTAMPTZ;

CREATE TABLE api_clients (
    client_id              TEXT        PRIMARY KEY,
    workspace_pk           BIGINT      NOT NULL REFERENCES workspaces (pk),
    name                   TEXT        NOT NULL,
    secret_hash            BYTEA       NOT NULL,
    scopes                 JSONB       NOT NULL,
    admin_api_enabled      BOOLEAN     NOT NULL,
    rate_limit_per_minute  BIGINT,
    created_at             TIMESTAMPTZ NOT NULL,
    revoked_at             TIMESTAMPTZ
);
CREATE INDEX api_clients_workspace ON api_clients (workspace_pk);

CREATE TABLE signing_keys (
    kid          TEXT        PRIMARY KEY,
    private_pem  TEXT        NOT NULL,
    modulus      TEXT        NOT NULL,
    exponent     TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    retires_at   TIMESTAMPTZ
);
