-- The audit log: one hash chain of events per workspace.

ALTER TABLE workspaces ADD COLUMN audit_retention_days INTEGER NOT NULL DEFAULT 90;

-- Keyed by its place in the chain; no rowid, so an append writes one table B-tree and the
-- four filter indexes, nothing else.
CREATE TABLE audit_events (
    workspace_pk    INTEGER NOT NULL REFERENCES workspaces (pk),
    seq             INTEGER NOT NULL,
    id              TEXT    NOT NULL,
    occurred_at     INTEGER NOT NULL,
    action          TEXT    NOT NULL,
    actor_kind      TEXT    NOT NULL,
    actor_id        TEXT,
    target_user_id  TEXT,
    request_id      TEXT,
    ip              TEXT,
    user_agent      TEXT,
    changes         TEXT    NOT NULL,
    prev_hash       TEXT    NOT NULL,
    hash            TEXT    NOT NULL,
    PRIMARY KEY (workspace_pk, seq)
) WITHOUT ROWID;
-- Newest first within a time range, for each filter.
CREATE INDEX audit_events_time ON audit_events (workspace_pk, occurred_at, seq);
CREATE INDEX audit_events_action ON audit_events (workspace_pk, action, occurred_at, seq);
CREATE INDEX audit_events_user ON audit_events (workspace_pk, target_user_id, occurred_at, seq);
CREATE INDEX audit_events_actor ON audit_events (workspace_pk, actor_id, occurred_at, seq);

-- The end of each workspace's chain, and where it starts after retention purged its head.
CREATE TABLE audit_heads (
    workspace_pk     INTEGER PRIMARY KEY REFERENCES workspaces (pk),
    last_seq         INTEGER NOT NULL,
    last_hash        TEXT    NOT NULL,
    checkpoint_seq   INTEGER NOT NULL DEFAULT 0,
    checkpoint_hash  TEXT    NOT NULL DEFAULT ''
);

-- Every workspace has a head from its creation on.
INSERT INTO audit_heads (workspace_pk, last_seq, last_hash) SELECT pk, 0, '' FROM workspaces;

-- The head follows the chain inside the engine: appending an event is one statement.
CREATE TRIGGER audit_events_head AFTER INSERT ON audit_events BEGIN
    UPDATE audit_heads SET last_seq = new.seq, last_hash = new.hash
    WHERE workspace_pk = new.workspace_pk;
END;
