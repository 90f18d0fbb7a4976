-- Password hashes, first written by imports (argon2id PHC strings or bcrypt hashes moved in
-- from other systems). Never returned by any API, never in an audit event.
ALTER TABLE users ADD COLUMN password_hash TEXT;
