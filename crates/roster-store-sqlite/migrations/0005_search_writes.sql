-- The search index is written by the store's own statements, not by triggers: a trigger makes
-- its statement open a statement journal, and FTS5 writes its pending terms to disk at every
-- savepoint, so a batch of inserts made one index segment per row (and merged them all).
DROP TRIGGER users_search_insert;
DROP TRIGGER users_search_update;
