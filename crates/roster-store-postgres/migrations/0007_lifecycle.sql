-- The user lifecycle: invitations, the mail outbox, groups with expiring memberships, and
-- each workspace's invitation settings.

ALTER TABLE workspaces ADD COLUMN invitation_settings JSONB NOT NULL DEFAULT '{}';

-- Only the token's SHA-256 is kept. A user has at most one pending invitation: issuing a
-- new one revokes the others.
CREATE TABLE invitations (
    id            TEXT        PRIMARY KEY,
    workspace_pk  BIGINT      NOT NULL REFERENCES workspaces (pk),
    user_pk       BIGINT      NOT NULL REFERENCES users (pk),
    token_hash    BYTEA       NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    accepted_at   TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ,
    CONSTRAINT invitations_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX invitations_user ON invitations (user_pk);

-- Mail written with the change that calls for it; the delivery worker claims due rows
-- (FOR UPDATE SKIP LOCKED, so nodes never send one mail twice at once).
CREATE TABLE outbox (
    pk               BIGSERIAL   PRIMARY KEY,
    id               TEXT        NOT NULL,
    workspace_pk     BIGINT      NOT NULL REFERENCES workspaces (pk),
    user_pk          BIGINT      REFERENCES users (pk),
    kind             TEXT        NOT NULL,
    recipient        TEXT        NOT NULL,
    subject          TEXT        NOT NULL,
    text             TEXT,
    status           TEXT        NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'withdrawn')),
    attempts         BIGINT      NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    sent_at          TIMESTAMPTZ,
    CONSTRAINT outbox_id_key UNIQUE (id)
);
CREATE INDEX outbox_workspace ON outbox (workspace_pk, pk);
CREATE INDEX outbox_workspace_status ON outbox (workspace_pk, status, pk);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_user ON outbox (user_pk) WHERE user_pk IS NOT NULL;

CREATE TABLE groups (
    pk            BIGSERIAL   PRIMARY KEY,
    id            TEXT        NOT NULL,
    workspace_pk  BIGINT      NOT NULL REFERENCES workspaces (pk),
    name          TEXT        NOT NULL,
    name_key      TEXT        NOT NULL,
    description   TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    CONSTRAINT groups_id_key UNIQUE (id)
);
CREATE UNIQUE INDEX groups_name_key ON groups (workspace_pk, name_key);

CREATE TABLE group_members (
    group_pk    BIGINT      NOT NULL REFERENCES groups (pk),
    user_pk     BIGINT      NOT NULL REFERENCES users (pk),
    added_at    TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ,
    PRIMARY KEY (group_pk, user_pk)
);
CREATE INDEX group_members_user ON group_members (user_pk);
