-- One-time console setup links: only the token's SHA-256 is kept; a link is used once,
-- in the transaction that creates the admin it was used for.
CREATE TABLE console_setup_tokens (
    token_hash    BLOB    PRIMARY KEY,
    workspace_pk  INTEGER NOT NULL REFERENCES workspaces (pk),
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    used_at       INTEGER
);
