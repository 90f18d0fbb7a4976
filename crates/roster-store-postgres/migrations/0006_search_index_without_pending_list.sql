-- The trigram indexes take new entries straight into the index. With GIN's fast update on,
-- new entries wait in a pending list (up to 4 MB) that every search scans linearly: after a
-- bulk import that made a rare-substring search at a million users cost milliseconds of CPU
-- on its own. Inserts pay a little more instead.
ALTER INDEX users_name_trgm SET (fastupdate = off);
ALTER INDEX users_email_trgm SET (fastupdate = off);
