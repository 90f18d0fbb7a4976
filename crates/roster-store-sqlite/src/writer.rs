//! The one connection that writes.
//!
//! SQLite lets one writer in at a time, so Roster gives writes a thread of their own that
//! owns a rusqlite connection. A write is a closure that the thread runs inside a
//! `BEGIN IMMEDIATE` transaction; the caller awaits its result. A write therefore costs one
//! hop between threads however many statements it runs (through an async driver every
//! statement is a hop of its own), and writers queue in-process instead of meeting
//! SQLITE_BUSY. Another process on the same file (the CLI beside a running server) waits on
//! the busy timeout.
//!
//! **Group commit.** The writes that queued while the thread was busy run together in one
//! transaction, and every caller hears its own result only once the group's COMMIT is done:
//! under load, one commit (and one write of each page the group touched) serves many writes.
//! If one write of a group fails (or panics), the whole transaction is rolled back and the
//! group runs again without it, so a failed write leaves nothing behind and the others are
//! unaffected; writes are therefore closures that can run more than once. Savepoints would
//! avoid the rerun, but each one makes FTS5 write its pending terms to disk, which turned
//! every user created under load into an index segment to merge; and a big write (an import
//! batch) always runs alone.
//!
//! **Upkeep.** After each group, once its callers have their answers, the thread runs one
//! bounded step of upkeep in a transaction of its own (the search index's merging, see
//! `user_search::merge_step`): work that would otherwise land, in larger pieces, inside some
//! write's commit.
//!
//! **Checkpoints** copy the write-ahead log back into the database file. SQLite runs them
//! inside the commit that crosses its threshold, which stalls that commit (and every write
//! queued behind it) for the copy and an fsync; here a thread of their own runs them, in
//! PASSIVE mode, beside the writer.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{mpsc, Arc, Weak};
use std::time::Duration;

use roster_core::store::StoreError;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use tokio::sync::oneshot;

use crate::error::sql_error;

/// Statements kept prepared on the writer connection.
const STATEMENT_CACHE: usize = 64;

/// At most this many writes share a transaction.
const MAX_GROUP: usize = 256;

/// How often the checkpointer copies the log back into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// The log length, in frames (pages), past which the writer rewinds it: 64 MiB of 4 KiB
/// pages. A PASSIVE checkpoint copies pages but never rewinds the log while readers keep
/// coming, and a long log slows every read (its index is searched on each page read) and
/// every commit.
const WAL_CAP_FRAMES: i64 = 16_384;
/// After this long without a write, the writer empties the log (TRUNCATE): readers of a
/// log that still holds frames, even frames all copied back, read about half as fast (after
/// an import, `bench/console`'s searches ran at 134 req/s with the log full and 310 with it
/// emptied). An idle writer delays no write by truncating.
const IDLE_BEFORE_TRUNCATE: Duration = Duration::from_secs(1);
/// The log file's size kept after a rewind (SQLite's `journal_size_limit`): a log that an
/// import made longer shrinks back to the cap, and one within it is written over in place.
const WAL_FILE_LIMIT_BYTES: i64 = 64 * 1024 * 1024;

/// One queued write.
trait Job: Send {
    /// Whether this write must have a transaction to itself.
    fn alone(&self) -> bool;
    /// Do the work inside the group's transaction; false if it failed. May be called again
    /// (in a new transaction) if another write of the group failed.
    fn run(&mut self, tx: &Transaction<'_>) -> bool;
    /// Tell the caller: its result if the group committed, else why not.
    fn finish(self: Box<Self>, group: Result<(), &StoreError>);
}

struct Write<T, F> {
    alone: bool,
    work: F,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Write<T, F>
where
    F: Fn(&Transaction<'_>) -> Result<T, StoreError> + Send,
    T: Send,
{
    fn alone(&self) -> bool {
        self.alone
    }

    fn run(&mut self, tx: &Transaction<'_>) -> bool {
        // Forget an earlier run's result first: if this run panics, none must be reported.
        self.result = None;
        let result = (self.work)(tx);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, group: Result<(), &StoreError>) {
        let answer = match (group, self.result) {
            (Err(err), _) => Err(err.clone()),
            (Ok(()), Some(result)) => result,
            (Ok(()), None) => Err(StoreError::Backend(
                "a write panicked; it was rolled back".into(),
            )),
        };
        // The caller may have gone (request cancelled); what committed stays committed.
        let _ = self.reply.send(answer);
    }
}

/// Work the writer does after each group (unless its transaction could not begin or commit),
/// in a transaction of its own and after the group's callers have their answers: a small,
/// bounded step of upkeep (the search index's merging), so that no write waits on a large one.
pub(crate) type Upkeep = fn(&Transaction<'_>) -> Result<(), StoreError>;

/// A handle on the writer thread; clones share it. The thread ends, closing its connection,
/// when the last handle is dropped.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
    /// Alive while any handle is: the checkpointer stops when it is gone.
    _alive: Arc<()>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Writer")
    }
}

impl Writer {
    /// Open `path` read-write (creating it), switch it to WAL, and start the thread.
    /// After each group, the thread runs `upkeep`.
    pub(crate) fn open(
        path: &Path,
        busy_timeout: Duration,
        upkeep: Upkeep,
    ) -> Result<Self, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql_error)?;
        conn.busy_timeout(busy_timeout).map_err(sql_error)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             PRAGMA cache_size = -65536;
             PRAGMA temp_store = MEMORY;
             PRAGMA wal_autocheckpoint = 0;",
        )
        .map_err(sql_error)?;
        conn.pragma_update(None, "journal_size_limit", WAL_FILE_LIMIT_BYTES)
            .map_err(sql_error)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        crate::substring::register(&conn).map_err(sql_error)?;
        let checkpoints = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql_error)?;
        checkpoints.busy_timeout(busy_timeout).map_err(sql_error)?;
        let alive = Arc::new(());
        let watch = Arc::downgrade(&alive);
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        let start = |name: &str, body: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(body)
                .map(|_| ())
                .map_err(|e| StoreError::Backend(format!("cannot start {name}: {e}")))
        };
        let log = Arc::new(Log::default());
        let seen = log.clone();
        start(
            "roster-sqlite-writer",
            Box::new(move || run(conn, &log, queue, IDLE_BEFORE_TRUNCATE, upkeep)),
        )?;
        start(
            "roster-sqlite-checkpointer",
            Box::new(move || checkpoint(checkpoints, watch, &seen, WAL_CAP_FRAMES)),
        )?;
        Ok(Self {
            jobs,
            _alive: alive,
        })
    }

    /// Run `work` in a write transaction on the writer thread. Its changes are committed if
    /// it returns `Ok` (and then only is the result returned), rolled back if it returns an
    /// error or panics. `work` may run more than once (see the module's group commit), each
    /// time in a fresh transaction, so it must not consume what it captures.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: Fn(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.submit(false, work).await
    }

    /// Like [`write`](Self::write), in a transaction of its own: for big writes.
    pub(crate) async fn write_alone<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: Fn(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.submit(true, work).await
    }

    async fn submit<T, F>(&self, alone: bool, work: F) -> Result<T, StoreError>
    where
        F: Fn(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, result) = oneshot::channel();
        let job = Box::new(Write {
            alone,
            work,
            result: None,
            reply,
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?;
        result.await.map_err(|_| {
            StoreError::Backend("a write transaction ended without an answer".into())
        })?
    }
}

/// What the checkpointer tells the writer about the log.
#[derive(Debug, Default)]
struct Log {
    /// How many frames it holds, at the last checkpoint (0 once rewound).
    frames: AtomicI64,
    /// A checkpoint has just copied a log longer than the cap (up to what was committed
    /// while it ran): the moment for the writer to rewind it.
    copied: AtomicBool,
}

/// Copy the log into the database every [`CHECKPOINT_EVERY`] until the writer is gone, and
/// tell the writer how long the log is. Past `cap_frames`, copy again at once (only what was
/// committed during the first copy) and tell the writer the log is `copied`: its rewind then
/// has little left to copy.
/// PASSIVE never waits for readers or the writer; what it cannot copy yet, a later one will.
fn checkpoint(conn: Connection, alive: Weak<()>, log: &Log, cap_frames: i64) {
    let passive = || {
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            row.get::<_, i64>(1)
        })
    };
    while alive.strong_count() > 0 {
        std::thread::sleep(CHECKPOINT_EVERY);
        match passive() {
            Ok(frames) if frames > cap_frames => {
                let frames = passive().unwrap_or(frames);
                log.frames.store(frames, Ordering::Relaxed);
                log.copied.store(true, Ordering::Relaxed);
            }
            Ok(frames) => log.frames.store(frames, Ordering::Relaxed),
            Err(err) => tracing::warn!(error = %err, "WAL checkpoint failed; retrying"),
        }
    }
}

/// Past [`WAL_CAP_FRAMES`], rewind the log from the writer itself, between two groups (the
/// only moment no write holds the lock, so it cannot starve), right after the checkpointer
/// has copied it (`copied`, which this takes): writes wait only for the copy of what was
/// committed since and one fsync. Rewinding at any group instead copied up to a checkpoint
/// interval of writes (16 MB under `bench/run`'s POSTs) inside the stall, 20–40 ms about once
/// a second, which was most of that load's p99. RESTART, not TRUNCATE: the next group writes
/// over the log from its start, and the file keeps its size (at most the cap and a group).
/// Truncating gave the blocks of 64 MiB back to the file system inside the writer, a 70 ms
/// `ftruncate` that stalled every write (and `bench/soak`'s p99) every two seconds under a
/// steady load. A busy reader makes it fail; the next group tries again.
fn rewind_long_log(conn: &Connection, log: &Log, cap_frames: i64) {
    if log.frames.load(Ordering::Relaxed) > cap_frames && log.copied.swap(false, Ordering::Relaxed)
    {
        rewind(conn, &log.frames, "RESTART");
    }
}

/// With no write waiting, empty a log that holds frames (TRUNCATE, so the file and its
/// index shrink too). A busy reader makes it fail; the next idle moment tries again.
fn empty_idle_log(conn: &Connection, log_frames: &AtomicI64) {
    if log_frames.load(Ordering::Relaxed) > 0 {
        rewind(conn, log_frames, "TRUNCATE");
    }
}

/// A checkpoint that starts the log over (`mode` RESTART or TRUNCATE); on success the log
/// is empty. A reader still on the log makes it fail; the caller's next turn tries again.
fn rewind(conn: &Connection, log_frames: &AtomicI64, mode: &str) {
    // The first column is 1 when a reader kept the log from being rewound.
    let sql = format!("PRAGMA wal_checkpoint({mode})");
    match conn.query_row(&sql, [], |row| row.get::<_, i64>(0)) {
        Ok(0) => log_frames.store(0, Ordering::Relaxed),
        Ok(_) => {}
        Err(err) => tracing::warn!(error = %err, mode, "WAL rewind failed; retrying"),
    }
}

fn run(
    mut conn: Connection,
    log: &Log,
    queue: mpsc::Receiver<Box<dyn Job>>,
    idle: Duration,
    upkeep: Upkeep,
) {
    let mut upkeep_failing = false;
    // A job taken from the queue that could not join the group before it.
    let mut next: Option<Box<dyn Job>> = None;
    loop {
        let first = match next.take() {
            Some(job) => job,
            None => match queue.recv_timeout(idle) {
                Ok(job) => job,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    empty_idle_log(&conn, &log.frames);
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            },
        };
        let mut group = vec![first];
        while group.len() < MAX_GROUP && !group[0].alone() {
            match queue.try_recv() {
                Ok(job) if job.alone() => {
                    next = Some(job);
                    break;
                }
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let outcome = commit_group(&mut conn, &mut group);
        for job in group {
            job.finish(outcome.as_ref().map(|_| ()));
        }
        if outcome.is_ok() {
            upkeep_step(&mut conn, upkeep, &mut upkeep_failing);
        }
        rewind_long_log(&conn, log, WAL_CAP_FRAMES);
    }
}

/// One step of `upkeep` in a transaction of its own. A failure is logged when it starts (not
/// at every group while it lasts) and the step is tried again after the next group.
fn upkeep_step(conn: &mut Connection, upkeep: Upkeep, failing: &mut bool) {
    let step = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql_error)
        .and_then(|tx| {
            upkeep(&tx)?;
            tx.commit().map_err(sql_error)
        });
    match step {
        Ok(()) => *failing = false,
        Err(err) if !*failing => {
            tracing::warn!(error = %err, "the writer's upkeep step failed; retrying after each write");
            *failing = true;
        }
        Err(_) => {}
    }
}

/// Run the group in one transaction and commit it. A write that fails is left out and the
/// others run again in a new transaction, until all that remain succeed.
fn commit_group(conn: &mut Connection, group: &mut [Box<dyn Job>]) -> Result<(), StoreError> {
    let mut left_out = vec![false; group.len()];
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_error)?;
        let mut failed = None;
        for (i, job) in group.iter_mut().enumerate() {
            if left_out[i] {
                continue;
            }
            let ok = catch_unwind(AssertUnwindSafe(|| job.run(&tx))).unwrap_or_else(|_| {
                tracing::error!("a SQLite write panicked; it was rolled back");
                false
            });
            if !ok {
                failed = Some(i);
                break;
            }
        }
        match failed {
            None => return tx.commit().map_err(sql_error),
            Some(i) => {
                // Some errors (SQLITE_FULL, an I/O error) end the transaction themselves;
                // then there is nothing left to roll back.
                if tx.is_autocommit() {
                    drop(tx);
                } else {
                    tx.rollback().map_err(sql_error)?;
                }
                left_out[i] = true;
                if left_out.iter().all(|out| *out) {
                    return Ok(());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_length(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))
            .unwrap_or(-1)
    }

    /// A database `name` in `dir` whose log holds 20 writes of 8 KiB, not checkpointed.
    fn with_a_long_log(
        dir: &Path,
        name: &str,
    ) -> Result<(std::path::PathBuf, Connection), Box<dyn std::error::Error>> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(name);
        let conn = Connection::open(&path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
             CREATE TABLE t (v BLOB);",
        )?;
        for _ in 0..20 {
            conn.execute("INSERT INTO t VALUES (zeroblob(8192))", [])?;
        }
        Ok((path, conn))
    }

    #[test]
    fn a_long_log_is_rewound_in_place_not_truncated() -> Result<(), Box<dyn std::error::Error>> {
        let dir = std::env::temp_dir().join(format!("roster-wal-{}", std::process::id()));
        let (_, conn) = with_a_long_log(&dir, "rewind.db")?;
        let frames = log_length(&conn);
        let wal = dir.join("rewind.db-wal");
        let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        assert!(frames > 20, "the log holds the inserts: {frames} frames");
        let seen = Log {
            frames: AtomicI64::new(frames),
            copied: AtomicBool::new(true),
        };

        // Within the cap: left alone.
        rewind_long_log(&conn, &seen, frames);
        assert_eq!(seen.frames.load(Ordering::Relaxed), frames);
        assert_eq!(log_length(&conn), frames);

        // Past it, but no checkpoint has just copied it: left for the moment one has.
        seen.copied.store(false, Ordering::Relaxed);
        rewind_long_log(&conn, &seen, frames - 1);
        assert_eq!(seen.frames.load(Ordering::Relaxed), frames);

        // Past it, just copied: rewound, and the next write starts the log over in the same
        // file. The copy is taken: the next rewind waits for the next one.
        seen.copied.store(true, Ordering::Relaxed);
        rewind_long_log(&conn, &seen, frames - 1);
        assert_eq!(seen.frames.load(Ordering::Relaxed), 0);
        assert!(!seen.copied.load(Ordering::Relaxed));
        assert_eq!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0), size);
        conn.execute("INSERT INTO t VALUES (1)", [])?;
        let after = log_length(&conn);
        assert!(
            after < frames,
            "a rewound log starts over: {after} frames after one write"
        );
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }

    #[test]
    fn the_checkpointer_tells_when_a_long_log_is_copied() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = std::env::temp_dir().join(format!("roster-wal-copy-{}", std::process::id()));
        let (path, conn) = with_a_long_log(&dir, "copy.db")?;
        let frames = log_length(&conn);
        let (alive, log) = (Arc::new(()), Arc::new(Log::default()));
        let (watch, told) = (Arc::downgrade(&alive), log.clone());
        let checkpoints = Connection::open(&path)?;
        let thread = std::thread::spawn(move || checkpoint(checkpoints, watch, &told, frames - 1));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !log.copied.load(Ordering::Relaxed) {
            assert!(
                std::time::Instant::now() < deadline,
                "a log past the cap was never reported copied"
            );
            std::thread::yield_now();
        }
        assert_eq!(log.frames.load(Ordering::Relaxed), frames);
        drop(alive);
        thread.join().map_err(|_| "the checkpointer panicked")?;
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }

    #[test]
    fn the_upkeep_runs_after_each_group_that_committed() -> Result<(), Box<dyn std::error::Error>> {
        let dir = std::env::temp_dir().join(format!("roster-upkeep-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("upkeep.db");
        let conn = Connection::open(&path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE t (v INTEGER); CREATE TABLE steps (seen INTEGER);",
        )?;
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        let (writer, log) = (Connection::open(&path)?, Arc::new(Log::default()));
        // The step records how many rows the groups before it committed.
        let thread = std::thread::spawn(move || {
            run(writer, &log, queue, Duration::from_secs(60), |tx| {
                tx.execute("INSERT INTO steps SELECT count(*) FROM t", [])
                    .map(|_| ())
                    .map_err(sql_error)
            })
        });
        let runtime = tokio::runtime::Builder::new_current_thread().build()?;
        let writer = Writer {
            jobs,
            _alive: Arc::new(()),
        };
        runtime.block_on(async {
            for _ in 0..3 {
                writer
                    .write(|tx| {
                        tx.execute("INSERT INTO t VALUES (1)", [])
                            .map_err(sql_error)
                    })
                    .await?;
            }
            // A group whose writes all failed left nothing behind; the step after it sees
            // the same rows.
            let failed = writer
                .write(|tx| {
                    tx.execute("INSERT INTO nowhere VALUES (1)", [])
                        .map_err(sql_error)
                })
                .await;
            assert!(failed.is_err());
            writer.write(|_| Ok(())).await
        })?;
        drop(writer);
        thread.join().map_err(|_| "the writer thread panicked")?;
        let seen: Vec<i64> = conn
            .prepare("SELECT seen FROM steps ORDER BY rowid")?
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        assert_eq!(seen, vec![1, 2, 3, 3, 3]);
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }

    #[test]
    fn an_idle_writer_empties_the_log() -> Result<(), Box<dyn std::error::Error>> {
        let dir = std::env::temp_dir().join(format!("roster-wal-idle-{}", std::process::id()));
        let (path, conn) = with_a_long_log(&dir, "idle.db")?;
        let frames = log_length(&conn);
        assert!(frames > 20, "the log holds the inserts: {frames} frames");
        let wal = dir.join("idle.db-wal");
        let seen = Arc::new(Log {
            frames: AtomicI64::new(frames),
            copied: AtomicBool::new(false),
        });
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        let (writer, told) = (Connection::open(&path)?, seen.clone());
        let thread =
            std::thread::spawn(move || run(writer, &told, queue, Duration::ZERO, |_| Ok(())));
        // Nothing is written: the writer finds itself idle and empties the log.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while seen.frames.load(Ordering::Relaxed) != 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the log was never emptied"
            );
            std::thread::yield_now();
        }
        assert_eq!(std::fs::metadata(&wal)?.len(), 0, "truncated");
        assert_eq!(log_length(&conn), 0);
        drop(jobs);
        thread.join().map_err(|_| "the writer thread panicked")?;
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }
}
