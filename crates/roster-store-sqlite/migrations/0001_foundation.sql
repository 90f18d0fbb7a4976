-- Roster's embedded schema. Times are Unix microseconds (UTC); JSON is text.

CREATE TABLE workspaces (
    pk          INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL UNIQUE,
    roles       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id            TEXT    PRIMARY KEY,
    workspace_pk  INTEGER NOT NULL REFERENCES workspaces (pk),
    name          TEXT    NOT NULL,
    prefix        TEXT    NOT NULL,
    secret_hash   BLOB    NOT NULL UNIQUE,
    scopes        TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    revoked_at    INTEGER
);
CREATE INDEX api_keys_workspace ON api_keys (workspace_pk);

-- pk is the rowid: the integer id later dialects show, the order of every list, and the
-- keyset cursor. AUTOINCREMENT so that a purged user's id is never handed out again.
CREATE TABLE users (
    pk            INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT    NOT NULL UNIQUE,
    uuid          TEXT    NOT NULL UNIQUE,
    workspace_pk  INTEGER NOT NULL REFERENCES workspaces (pk),
    external_id   TEXT,
    email         TEXT    NOT NULL,
    email_key     TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    given_name    TEXT,
    family_name   TEXT,
    role          TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('invited', 'active', 'inactive')),
    attributes    TEXT    NOT NULL DEFAULT '{}',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    deleted_at    INTEGER,
    version       INTEGER NOT NULL
);

-- Email is unique among users not soft-deleted; an external id stays taken by a deleted user.
CREATE UNIQUE INDEX users_email_key ON users (workspace_pk, email_key) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX users_external_id ON users (workspace_pk, external_id) WHERE external_id IS NOT NULL;

-- Every index entry ends with the rowid, so each of these serves "newest first after a
-- cursor" for its filter combination as a single descending range scan.
CREATE INDEX users_live ON users (workspace_pk) WHERE deleted_at IS NULL;
CREATE INDEX users_role ON users (workspace_pk, role) WHERE deleted_at IS NULL;
CREATE INDEX users_status ON users (workspace_pk, status) WHERE deleted_at IS NULL;
CREATE INDEX users_role_status ON users (workspace_pk, role, status) WHERE deleted_at IS NULL;
CREATE INDEX users_all ON users (workspace_pk);

-- Substring search over name and email: an external-content FTS5 index with the trigram
-- tokenizer (case-insensitive), walked in rowid order so a page stops after `limit` hits.
CREATE VIRTUAL TABLE users_search USING fts5 (
    name, email,
    content = 'users', content_rowid = 'pk',
    tokenize = 'trigram'
);

CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_search (rowid, name, email) VALUES (new.pk, new.name, new.email);
END;

CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_search (users_search, rowid, name, email)
        VALUES ('delete', old.pk, old.name, old.email);
END;

CREATE TRIGGER users_search_update AFTER UPDATE OF name, email ON users BEGIN
    INSERT INTO users_search (users_search, rowid, name, email)
        VALUES ('delete', old.pk, old.name, old.email);
    INSERT INTO users_search (rowid, name, email) VALUES (new.pk, new.name, new.email);
END;
