-- SCIM queries (RFC 7644 filters) stay index scans at a million users. Text comparisons and
-- prefix ranges compare in byte order (COLLATE "C"), which these indexes keep; `co` on a
-- user name uses a trigram index as names and emails already do.
CREATE INDEX users_user_name_c ON users (workspace_pk, (user_name_key COLLATE "C"))
    WHERE deleted_at IS NULL;
CREATE INDEX users_email_key_c ON users (workspace_pk, (email_key COLLATE "C"))
    WHERE deleted_at IS NULL;
CREATE INDEX users_external_id_c ON users (workspace_pk, (external_id COLLATE "C"))
    WHERE deleted_at IS NULL AND external_id IS NOT NULL;
CREATE INDEX users_name_lower_c ON users (workspace_pk, (lower(name) COLLATE "C"))
    WHERE deleted_at IS NULL;
CREATE INDEX users_updated_at ON users (workspace_pk, updated_at) WHERE deleted_at IS NULL;
CREATE INDEX users_created_at ON users (workspace_pk, created_at) WHERE deleted_at IS NULL;
CREATE INDEX users_user_name_trgm ON users USING gin (user_name gin_trgm_ops)
    WITH (fastupdate = off);
-- SCIM's externalId of a group, kept as the identity provider sent it.
ALTER TABLE groups ADD COLUMN external_id TEXT;
