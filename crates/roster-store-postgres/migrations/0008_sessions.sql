-- Sign-in: password and session rules per workspace, per-user session limits and personal
-- token switches, sign-in times, and the sessions (and personal tokens) themselves.

ALTER TABLE workspaces ADD COLUMN auth_settings JSONB NOT NULL DEFAULT '{}';

ALTER TABLE users ADD COLUMN sessions_limit BIGINT;
ALTER TABLE users ADD COLUMN allow_authentication_token BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN has_authentication_token BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN current_sign_in_at TIMESTAMPTZ;
ALTER TABLE users ADD COLUMN last_sign_in_at TIMESTAMPTZ;

-- Only the token's SHA-256 is kept. Live rows (ended_at IS NULL) are what a user's limit
-- counts; a user has at most one live personal token.
CREATE TABLE sessions (
    pk            BIGSERIAL   PRIMARY KEY,
    id            TEXT        NOT NULL,
    workspace_pk  BIGINT      NOT NULL REFERENCES workspaces (pk),
    user_pk       BIGINT      NOT NULL REFERENCES users (pk),
    kind          TEXT        NOT NULL CHECK (kind IN ('session', 'personal_token')),
    token_hash    BYTEA       NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ,
    ip            TEXT,
    user_agent    TEXT,
    ended_at      TIMESTAMPTZ,
    CONSTRAINT sessions_id_key UNIQUE (id),
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX sessions_live ON sessions (user_pk, created_at) WHERE ended_at IS NULL;
CREATE INDEX sessions_user ON sessions (user_pk);
CREATE UNIQUE INDEX sessions_one_personal_token ON sessions (user_pk)
    WHERE kind = 'personal_token' AND ended_at IS NULL;
