-- Audit events are sealed after their change commits, not by it.
--
-- Until now a change's statement moved its workspace's chain head: the head row stayed
-- locked until the change committed, so every write of a workspace waited for the one
-- before it to reach the disk (its commit's WAL flush), and at a few hundred writes a
-- second a slow flush (a checkpoint) queued them all behind it for seconds.
--
-- Now a change writes its event here, in its own transaction, and takes no lock the next
-- change needs; the sealer (the store's `audit::seal`: a server's upkeep a few times a
-- second, and every read of a workspace's audit log first) moves pending events into
-- `audit_events` in the order they arrived, giving each its sequence number and hash,
-- many in one transaction under the head's lock.
--
-- No reference to workspaces: the change beside the event already names the workspace,
-- and the key-share lock of a reference would be one more lock per write on one row.
CREATE TABLE audit_pending (
    arrival         BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_pk    BIGINT      NOT NULL,
    id              TEXT        NOT NULL,
    occurred_at     TIMESTAMPTZ NOT NULL,
    action          TEXT        NOT NULL,
    actor_kind      TEXT        NOT NULL,
    actor_id        TEXT,
    target_user_id  TEXT,
    request_id      TEXT,
    ip              TEXT,
    user_agent      TEXT,
    changes         TEXT        NOT NULL
);
CREATE INDEX audit_pending_workspace ON audit_pending (workspace_pk, arrival);

-- The link before the head's hash was kept only so the statement that moved the head could
-- hand it to the event row it wrote; the sealer knows it.
ALTER TABLE audit_heads DROP COLUMN prev_hash;

-- The sealer hashes events with roster-core's `AuditEvent::computed_hash`; the copy of it
-- in SQL that the change's statement called (migration 0004) has no caller left.
DROP FUNCTION roster_audit_hash(text, bigint, bigint, text, bigint, text, text, text, text,
                                text, text, text, text);
DROP FUNCTION roster_hash_field(bytea);
