-- A user's sessions limit is 1 to 999,999 or none (SQLite cannot add a CHECK to an existing
-- table; these triggers are the same constraint).
CREATE TRIGGER users_sessions_limit_insert BEFORE INSERT ON users
WHEN NEW.sessions_limit IS NOT NULL AND (NEW.sessions_limit < 1 OR NEW.sessions_limit > 999999)
BEGIN
    SELECT RAISE(ABORT, 'sessions_limit must be between 1 and 999999');
END;
CREATE TRIGGER users_sessions_limit_update BEFORE UPDATE OF sessions_limit ON users
WHEN NEW.sessions_limit IS NOT NULL AND (NEW.sessions_limit < 1 OR NEW.sessions_limit > 999999)
BEGIN
    SELECT RAISE(ABORT, 'sessions_limit must be between 1 and 999999');
END;
