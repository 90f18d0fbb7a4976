-- A user's sessions limit is 1 to 999,999 or none.
ALTER TABLE users ADD CONSTRAINT users_sessions_limit_range
    CHECK (sessions_limit IS NULL OR sessions_limit BETWEEN 1 AND 999999);
