-- SCIM's userName: how a user signs in to the organisation's identity provider. Unique per
-- workspace among live users, compared case-insensitively (user_name_key is its lower-cased
-- form); existing users take their email. The columns go last: the user row is read by
-- position.
ALTER TABLE users ADD COLUMN user_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN user_name_key TEXT NOT NULL DEFAULT '';
UPDATE users SET user_name = email, user_name_key = email_key;
CREATE UNIQUE INDEX users_user_name_key ON users (workspace_pk, user_name_key)
    WHERE deleted_at IS NULL;
-- SQLite checks a table's unique indexes newest first. A new user whose user name is its
-- email collides on both when the email is taken: the email's index is made anew after the
-- user name's, so the email is the conflict reported (as PostgreSQL, which checks oldest
-- first, reports it). The external id's is made anew last, keeping its place before both.
DROP INDEX users_email_key;
CREATE UNIQUE INDEX users_email_key ON users (workspace_pk, email_key) WHERE deleted_at IS NULL;
DROP INDEX users_external_id;
CREATE UNIQUE INDEX users_external_id ON users (workspace_pk, external_id)
    WHERE external_id IS NOT NULL;
