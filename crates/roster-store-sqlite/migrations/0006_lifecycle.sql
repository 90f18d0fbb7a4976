-- The user lifecycle: invitations, the mail outbox, groups with expiring memberships, and
-- each workspace's invitation settings.

ALTER TABLE workspaces ADD COLUMN invitation_settings TEXT NOT NULL DEFAULT '{}';

-- Only the token's SHA-256 is kept. A user has at most one pending invitation: issuing a
-- new one revokes the others.
CREATE TABLE invitations (
    id            TEXT    PRIMARY KEY,
    workspace_pk  INTEGER NOT NULL REFERENCES workspaces (pk),
    user_pk       INTEGER NOT NULL REFERENCES users (pk),
    token_hash    BLOB    NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    accepted_at   INTEGER,
    revoked_at    INTEGER
);
CREATE INDEX invitations_pending ON invitations (user_pk)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
CREATE INDEX invitations_user ON invitations (user_pk);

-- Mail written with the change that calls for it; the delivery worker claims due rows.
CREATE TABLE outbox (
    pk               INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT    NOT NULL UNIQUE,
    workspace_pk     INTEGER NOT NULL REFERENCES workspaces (pk),
    user_pk          INTEGER REFERENCES users (pk),
    kind             TEXT    NOT NULL,
    recipient        TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    text             TEXT,
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'withdrawn')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    sent_at          INTEGER
);
CREATE INDEX outbox_workspace ON outbox (workspace_pk);
CREATE INDEX outbox_workspace_status ON outbox (workspace_pk, status);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_user ON outbox (user_pk) WHERE user_pk IS NOT NULL;

CREATE TABLE groups (
    pk            INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT    NOT NULL UNIQUE,
    workspace_pk  INTEGER NOT NULL REFERENCES workspaces (pk),
    name          TEXT    NOT NULL,
    name_key      TEXT    NOT NULL,
    description   TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX groups_name_key ON groups (workspace_pk, name_key);

-- (group_pk, user_pk) serves "members newest first" as one backward range scan;
-- (user_pk) serves "a user's groups" and purging.
CREATE TABLE group_members (
    group_pk    INTEGER NOT NULL REFERENCES groups (pk),
    user_pk     INTEGER NOT NULL REFERENCES users (pk),
    added_at    INTEGER NOT NULL,
    expires_at  INTEGER,
    PRIMARY KEY (group_pk, user_pk)
) WITHOUT ROWID;
CREATE INDEX group_members_user ON group_members (user_pk);
