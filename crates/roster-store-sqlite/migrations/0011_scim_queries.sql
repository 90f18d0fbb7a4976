-- SCIM queries (RFC 7644 filters) stay index lookups and range scans at a million users.
-- The search index holds user names too, for `userName co …`; the native search still
-- matches names and emails only (it names its columns).
DROP TRIGGER users_search_delete;
DROP TABLE users_search;
CREATE VIRTUAL TABLE users_search USING fts5 (
    name, email, user_name,
    content = 'users', content_rowid = 'pk',
    tokenize = 'trigram'
);
INSERT INTO users_search (users_search) VALUES ('rebuild');
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_search (users_search, rowid, name, email, user_name)
        VALUES ('delete', old.pk, old.name, old.email, old.user_name);
END;
-- displayName eq/sw (case-insensitive), meta.lastModified and meta.created ranges and sorts.
CREATE INDEX users_name_lower ON users (workspace_pk, lower(name)) WHERE deleted_at IS NULL;
CREATE INDEX users_updated_at ON users (workspace_pk, updated_at) WHERE deleted_at IS NULL;
CREATE INDEX users_created_at ON users (workspace_pk, created_at) WHERE deleted_at IS NULL;
-- SCIM's externalId of a group, kept as the identity provider sent it.
ALTER TABLE groups ADD COLUMN external_id TEXT;
-- How many live users each workspace has, kept by the store's own writes (no trigger: a
-- trigger makes every statement open a statement journal): SCIM's totalResults of an
-- unfiltered list, read instead of counted.
CREATE TABLE live_user_counts (
    workspace_pk INTEGER PRIMARY KEY REFERENCES workspaces (pk),
    live         INTEGER NOT NULL
);
INSERT INTO live_user_counts (workspace_pk, live)
    SELECT workspace_pk, count(*) FROM users WHERE deleted_at IS NULL GROUP BY workspace_pk;
