-- No trigger on the tables every write touches. A trigger makes its statement open a
-- statement journal, and at each one FTS5 writes the terms it holds for the transaction to
-- disk as a segment of its own: with these triggers every user a write created or changed
-- (and every audit event after one) became a segment for the index to merge, which took
-- most of an import's time and stalled commits under load.

-- The chain head is moved by the store's own statement after each append.
DROP TRIGGER audit_events_head;

-- A user's sessions limit is 1 to 999,999 or none: a CHECK on a virtual column (SQLite
-- cannot add a CHECK to an existing table, but can add a generated column with one; it is
-- computed, never stored, and checked against every existing row as it is added).
DROP TRIGGER users_sessions_limit_insert;
DROP TRIGGER users_sessions_limit_update;
ALTER TABLE users ADD COLUMN sessions_limit_in_range INTEGER
    GENERATED ALWAYS AS (sessions_limit IS NULL OR sessions_limit BETWEEN 1 AND 999999) VIRTUAL
    CHECK (sessions_limit_in_range);
