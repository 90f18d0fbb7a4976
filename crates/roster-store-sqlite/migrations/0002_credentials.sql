-- Scoped keys with rate limits, API clients, JWT signing keys, workspace settings.

ALTER TABLE workspaces ADD COLUMN is_operator INTEGER NOT NULL DEFAULT 0;
ALTER TABLE workspaces ADD COLUMN rate_limit_per_minute INTEGER;
-- The installation's first workspace is its operator workspace.
UPDATE workspaces SET is_operator = 1 WHERE pk = (SELECT MIN(pk) FROM workspaces);

ALTER TABLE api_keys ADD COLUMN rate_limit_per_minute INTEGER;
ALTER TABLE api_keys ADD COLUMN last_used_at INTEGER;

CREATE TABLE api_clients (
    client_id              TEXT    PRIMARY KEY,
    workspace_pk           INTEGER NOT NULL REFERENCES workspaces (pk),
    name                   TEXT    NOT NULL,
    secret_hash            BLOB    NOT NULL,
    scopes                 TEXT    NOT NULL,
    admin_api_enabled      INTEGER NOT NULL,
    rate_limit_per_minute  INTEGER,
    created_at             INTEGER NOT NULL,
    revoked_at             INTEGER
);
CREATE INDEX api_clients_workspace ON api_clients (workspace_pk);

CREATE TABLE signing_keys (
    kid          TEXT    PRIMARY KEY,
    private_pem  TEXT    NOT NULL,
    modulus      TEXT    NOT NULL,
    exponent     TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    retires_at   INTEGER
);
