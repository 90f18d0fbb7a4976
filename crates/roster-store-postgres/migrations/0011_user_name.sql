-- SCIM's userName: how a user signs in to the organisation's identity provider. Unique per
-- workspace among live users, compared case-insensitively (user_name_key is its lower-cased
-- form); existing users take their email.
ALTER TABLE users ADD COLUMN user_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN user_name_key TEXT NOT NULL DEFAULT '';
UPDATE users SET user_name = email, user_name_key = email_key;
CREATE UNIQUE INDEX users_user_name_key ON users (workspace_pk, user_name_key)
    WHERE deleted_at IS NULL;
