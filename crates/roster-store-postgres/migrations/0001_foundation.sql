-- Roster's scale-out schema. Kept within what PostgreSQL-compatible distributed engines
-- accept: no advisory locks, no triggers, no stored procedures.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE workspaces (
    pk          BIGSERIAL   PRIMARY KEY,
    id          TEXT        NOT NULL,
    name        TEXT        NOT NULL,
    roles       JSONB       NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    CONSTRAINT workspaces_id_key UNIQUE (id),
    CONSTRAINT workspaces_name_key UNIQUE (name)
);

CREATE TABLE api_keys (
    id            TEXT        PRIMARY KEY,
    workspace_pk  BIGINT      NOT NULL REFERENCES workspaces (pk),
    name          TEXT        NOT NULL,
    prefix        TEXT        NOT NULL,
    secret_hash   BYTEA       NOT NULL,
    scopes        JSONB       NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ,
    CONSTRAINT api_keys_secret_hash_key UNIQUE (secret_hash)
);
CREATE INDEX api_keys_workspace ON api_keys (workspace_pk);

CREATE TABLE users (
    pk            BIGSERIAL   PRIMARY KEY,
    id            TEXT        NOT NULL,
    uuid          UUID        NOT NULL,
    workspace_pk  BIGINT      NOT NULL REFERENCES workspaces (pk),
    external_id   TEXT,
    email         TEXT        NOT NULL,
    email_key     TEXT        NOT NULL,
    name          TEXT        NOT NULL,
    given_name    TEXT,
    family_name   TEXT,
    role          TEXT        NOT NULL,
    status        TEXT        NOT NULL CHECK (status IN ('invited', 'active', 'inactive')),
    attributes    JSONB       NOT NULL DEFAULT '{}',
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    deleted_at    TIMESTAMPTZ,
    version       BIGINT      NOT NULL,
    CONSTRAINT users_id_key UNIQUE (id),
    CONSTRAINT users_uuid_key UNIQUE (uuid)
);

-- Email is unique among users not soft-deleted; an external id stays taken by a deleted user.
CREATE UNIQUE INDEX users_email_key ON users (workspace_pk, email_key) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX users_external_id ON users (workspace_pk, external_id) WHERE external_id IS NOT NULL;

-- One index per filter combination, each ending in pk so "newest first after a cursor" is a
-- single backward range scan.
CREATE INDEX users_live ON users (workspace_pk, pk) WHERE deleted_at IS NULL;
CREATE INDEX users_role ON users (workspace_pk, role, pk) WHERE deleted_at IS NULL;
CREATE INDEX users_status ON users (workspace_pk, status, pk) WHERE deleted_at IS NULL;
CREATE INDEX users_role_status ON users (workspace_pk, role, status, pk) WHERE deleted_at IS NULL;
CREATE INDEX users_all ON users (workspace_pk, pk);

-- Case-insensitive substring search (ILIKE '%…%') through trigram indexes.
CREATE INDEX users_name_trgm ON users USING gin (name gin_trgm_ops);
CREATE INDEX users_email_trgm ON users USING gin (email gin_trgm_ops);
