-- FTS5 merges its segments inside the commit that crosses its work unit (64 leaf pages
-- written), 64 pages for each level of the index at once: at a million users one commit in
-- about twenty carried a merge of some 450 pages, and every write queued behind it waited
-- (POST /v1/users p99 150 ms). The writer now carries the merging on itself, a bounded step
-- after each group of writes once its callers have their answers (`user_search::merge_step`);
-- FTS5's crisis merge (16 segments on a level) still bounds the segments if writes outrun it.
INSERT INTO users_search (users_search, rank) VALUES ('automerge', 0);
