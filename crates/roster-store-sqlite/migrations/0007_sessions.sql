-- Sign-in: password and session rules per workspace, per-user session limits and personal
-- token switches, sign-in times, and the sessions (and personal tokens) themselves.

ALTER TABLE workspaces ADD COLUMN auth_settings TEXT NOT NULL DEFAULT '{}';

ALTER TABLE users ADD COLUMN sessions_limit INTEGER;
ALTER TABLE users ADD COLUMN allow_authentication_token INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN has_authentication_token INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN current_sign_in_at INTEGER;
ALTER TABLE users ADD COLUMN last_sign_in_at INTEGER;

-- Only the token's SHA-256 is kept. Live rows (ended_at IS NULL) are what a user's limit
-- counts, newest last; a user has at most one live personal token.
CREATE TABLE sessions (
    pk            INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT    NOT NULL UNIQUE,
    workspace_pk  INTEGER NOT NULL REFERENCES workspaces (pk),
    user_pk       INTEGER NOT NULL REFERENCES users (pk),
    kind          TEXT    NOT NULL CHECK (kind IN ('session', 'personal_token')),
    token_hash    BLOB    NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    expires_at    INTEGER,
    ip            TEXT,
    user_agent    TEXT,
    ended_at      INTEGER
);
CREATE INDEX sessions_live ON sessions (user_pk, created_at) WHERE ended_at IS NULL;
CREATE INDEX sessions_user ON sessions (user_pk);
CREATE UNIQUE INDEX sessions_one_personal_token ON sessions (user_pk)
    WHERE kind = 'personal_token' AND ended_at IS NULL;
