-- The trigram indexes' pending lists are capped by each connection's
-- `gin_pending_list_limit` instead of by the indexes themselves (0014 set 1 MB on each
-- index, which overrides every connection's setting). Roster's connections set 1 MB, so
-- searches scan no longer a list than before; an import batch's transaction sets 16 MB
-- for itself (`users::import`), so its entries are merged into the indexes in a few large
-- sorted runs rather than one every few hundred rows (a million users imported over HTTP
-- on one two-core host: 119-127 s in seven runs with a 16 or 64 MB cap, 123-158 s, 142 s
-- on average, in four with 1 MB).
ALTER INDEX users_name_trgm RESET (gin_pending_list_limit);
ALTER INDEX users_email_trgm RESET (gin_pending_list_limit);
ALTER INDEX users_user_name_trgm RESET (gin_pending_list_limit);
