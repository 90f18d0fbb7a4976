-- Sealing an event in the database, so that a change, its event and the chain's new head are
-- written by one statement (one round trip) however many writers a workspace has.

-- Both functions are STABLE, not IMMUTABLE, because convert_to is: a SQL function is only
-- inlined into the statement that calls it (instead of run as a sub-query, ~0.3 ms a call)
-- when it claims no more than its body.

-- One field of an event's hash input, exactly as roster-core's `AuditEvent::computed_hash`
-- writes it: the length as 8 big-endian bytes then the bytes, or 8 0xff bytes for no value.
CREATE FUNCTION roster_hash_field(value bytea) RETURNS bytea
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN value IS NULL THEN '\xffffffffffffffff'::bytea
                      ELSE int8send(octet_length(value)::bigint) || value END $$;

-- The hash of an event with link `prev_hash` (hex SHA-256, as `computed_hash`).
CREATE FUNCTION roster_audit_hash(
    prev_hash text, seq bigint, workspace_pk bigint, id text, occurred_micros bigint,
    action text, actor_kind text, actor_id text, target_user_id text, request_id text,
    ip text, user_agent text, changes text
) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT encode(sha256(
        roster_hash_field(convert_to('roster.audit.v1', 'UTF8'))
        || roster_hash_field(convert_to(prev_hash, 'UTF8'))
        || roster_hash_field(int8send(seq))
        || roster_hash_field(int8send(workspace_pk))
        || roster_hash_field(convert_to(id, 'UTF8'))
        || roster_hash_field(int8send(occurred_micros))
        || roster_hash_field(convert_to(action, 'UTF8'))
        || roster_hash_field(convert_to(actor_kind, 'UTF8'))
        || roster_hash_field(convert_to(actor_id, 'UTF8'))
        || roster_hash_field(convert_to(target_user_id, 'UTF8'))
        || roster_hash_field(convert_to(request_id, 'UTF8'))
        || roster_hash_field(convert_to(ip, 'UTF8'))
        || roster_hash_field(convert_to(user_agent, 'UTF8'))
        || roster_hash_field(convert_to(changes, 'UTF8'))
    ), 'hex') $$;

-- The link before `last_hash`: moving the head returns it, so the new event row can carry it
-- (UPDATE … RETURNING sees only new values).
ALTER TABLE audit_heads ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';

-- Every workspace has a head from its creation on (appends require it).
INSERT INTO audit_heads (workspace_pk, last_seq, last_hash)
    SELECT pk, 0, '' FROM workspaces ON CONFLICT (workspace_pk) DO NOTHING;
