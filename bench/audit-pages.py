"""How many pages a SQLite commit writes to the log for a user alone and for a user with its
audit event: `python3 bench/audit-pages.py` (after `cargo build --release -p roster`).

The audit cost on SQLite follows the number of WAL frames (dirty 4 KiB pages) each commit
writes (`perf` puts roughly half of all time in `pagerWalFrames`). This script makes Roster's
schema with `roster migrate`, then commits N users alone and N users each with an audit event
row (the event table, its four filter indexes and the chain head via its trigger), in turns,
and prints the frames per commit of each.
"""

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROSTER = os.path.join(ROOT, "target", "release", "roster")
N = 200


def main():
    work = tempfile.mkdtemp(prefix="roster-pages-")
    db = os.path.join(work, "roster.db")
    env = dict(os.environ, ROSTER_DATABASE_URL=f"sqlite://{db}")
    subprocess.run([ROSTER, "workspaces", "create", "pages"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    workspace = conn.execute("SELECT pk FROM workspaces WHERE name = 'pages'").fetchone()[0]
    seq = [conn.execute("SELECT last_seq FROM audit_heads WHERE workspace_pk = ?",
                        (workspace,)).fetchone()[0]]

    def frames():
        try:
            return (os.path.getsize(db + "-wal") - 32) // (4096 + 24)
        except FileNotFoundError:
            return 0

    def user(n):
        now = int(time.time() * 1e6)
        conn.execute(
            "INSERT INTO users (id, uuid, workspace_pk, email, email_key, name, role, status,"
            " attributes, created_at, updated_at, version)"
            " VALUES (?, ?, ?, ?, ?, ?, 'viewer', 'active', '{}', ?, ?, 1)",
            (f"usr_{n:012d}", str(uuid.uuid4()), workspace, f"u{n}@example.com",
             f"u{n}@example.com", f"User {n}", now, now))
        pk = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
        conn.execute("INSERT INTO users_search (rowid, name, email) VALUES (?, ?, ?)",
                     (pk, f"User {n}", f"u{n}@example.com"))

    def event(n):
        seq[0] += 1
        changes = json.dumps({"email": {"after": f"u{n}@example.com", "before": None},
                              "name": {"after": f"User {n}", "before": None},
                              "role": {"after": "viewer", "before": None},
                              "status": {"after": "active", "before": None}})
        conn.execute(
            "INSERT INTO audit_events (id, workspace_pk, seq, occurred_at, action, actor_kind,"
            " actor_id, target_user_id, request_id, ip, user_agent, changes, prev_hash, hash)"
            " VALUES (?, ?, ?, ?, 'user.create', 'api_key', 'key_abcdefgh', ?, 'req_abcdefgh',"
            " '127.0.0.1', 'curl/8', ?, ?, ?)",
            (f"evt_{n:016d}", workspace, seq[0], int(time.time() * 1e6), f"usr_{n:012d}",
             changes, "a" * 64, "b" * 64))

    n = 0
    results = {"user alone": [], "user + audit event": []}
    for _ in range(3):
        for name in results:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            start = frames()
            for _ in range(N):
                n += 1
                conn.execute("BEGIN IMMEDIATE")
                user(n)
                if name != "user alone":
                    event(n)
                conn.execute("COMMIT")
            results[name].append((frames() - start) / N)
    for name, runs in results.items():
        print(f"{name}: {min(runs):.1f}–{max(runs):.1f} WAL frames per commit "
              f"(SQLite {sqlite3.sqlite_version})")


if __name__ == "__main__":
    sys.exit(main())
