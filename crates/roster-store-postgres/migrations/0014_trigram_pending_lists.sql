-- The trigram indexes take new entries through GIN's pending list again (0006 turned it
-- off), kept small. Without it every user written is some 75 separate insertions into the
-- three trigram indexes, which held an import of a million users to about 3,000 rows a
-- second; with it the entries are sorted and merged into each index a list at a time.
-- A search scans the pending list linearly, so the list is capped at 1 MB (not the default
-- 4 MB), and the store's background upkeep (`tidy_search_index`) empties it every few
-- seconds, so after an import or between bursts of writes searches read the index alone.
ALTER INDEX users_name_trgm SET (fastupdate = on, gin_pending_list_limit = 1024);
ALTER INDEX users_email_trgm SET (fastupdate = on, gin_pending_list_limit = 1024);
ALTER INDEX users_user_name_trgm SET (fastupdate = on, gin_pending_list_limit = 1024);
