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
//! transaction, each inside a savepoint of its own: a write that fails (or panics) is rolled
//! back to its savepoint alone, the others commit together, and every caller hears its own
//! result only once the group's COMMIT is done. Under load, one commit (and one write of each
//! page the group touched) serves many writes. A group of one needs no savepoint, and a big
//! write (an import batch) always runs alone: SQLite's statement journals inside a savepoint
//! cost time in proportion to what the savepoint has journaled so far, so a thousand-row
//! write inside one would slow down quadratically.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use roster_core::store::StoreError;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use tokio::sync::oneshot;

use crate::error::sql_error;

/// Statements kept prepared on the writer connection.
const STATEMENT_CACHE: usize = 64;

/// At most this many writes share a transaction.
const MAX_GROUP: usize = 256;

/// One queued write.
trait Job: Send {
    /// Whether this write must have a transaction to itself.
    fn alone(&self) -> bool;
    /// Do the work inside the group's transaction; false if it failed (its savepoint is then
    /// rolled back).
    fn run(&mut self, tx: &Transaction<'_>) -> bool;
    /// Tell the caller: its result if the group committed, else why not.
    fn finish(self: Box<Self>, group: Result<(), &StoreError>);
}

struct Write<T, F> {
    alone: bool,
    work: Option<F>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Write<T, F>
where
    F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send,
    T: Send,
{
    fn alone(&self) -> bool {
        self.alone
    }

    fn run(&mut self, tx: &Transaction<'_>) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let result = work(tx);
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

/// A handle on the writer thread; clones share it. The thread ends, closing its connection,
/// when the last handle is dropped.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Writer")
    }
}

impl Writer {
    /// Open `path` read-write (creating it), switch it to WAL, and start the thread.
    pub(crate) fn open(path: &Path, busy_timeout: Duration) -> Result<Self, StoreError> {
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
             PRAGMA temp_store = MEMORY;",
        )
        .map_err(sql_error)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        std::thread::Builder::new()
            .name("roster-sqlite-writer".into())
            .spawn(move || run(conn, queue))
            .map_err(|e| StoreError::Backend(format!("cannot start the SQLite writer: {e}")))?;
        Ok(Self { jobs })
    }

    /// Run `work` in a write transaction on the writer thread. Its changes are committed if
    /// it returns `Ok` (and then only is the result returned), rolled back if it returns an
    /// error or panics.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.submit(false, work).await
    }

    /// Like [`write`](Self::write), in a transaction of its own: for big writes.
    pub(crate) async fn write_alone<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.submit(true, work).await
    }

    async fn submit<T, F>(&self, alone: bool, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, result) = oneshot::channel();
        let job = Box::new(Write {
            alone,
            work: Some(work),
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

fn run(mut conn: Connection, queue: mpsc::Receiver<Box<dyn Job>>) {
    // A job taken from the queue that could not join the group before it.
    let mut next: Option<Box<dyn Job>> = None;
    loop {
        let first = match next.take() {
            Some(job) => job,
            None => match queue.recv() {
                Ok(job) => job,
                Err(_) => return,
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
    }
}

fn commit_group(conn: &mut Connection, group: &mut [Box<dyn Job>]) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql_error)?;
    let run = |job: &mut Box<dyn Job>| {
        catch_unwind(AssertUnwindSafe(|| job.run(&tx))).unwrap_or_else(|_| {
            tracing::error!("a SQLite write panicked; it was rolled back");
            false
        })
    };
    if let [job] = group {
        // Alone: the transaction is the job's, and rolling it back undoes the job.
        if !run(job) {
            return tx.rollback().map_err(sql_error);
        }
        return tx.commit().map_err(sql_error);
    }
    for job in group.iter_mut() {
        tx.execute_batch("SAVEPOINT job").map_err(sql_error)?;
        let end = if run(job) {
            "RELEASE job"
        } else {
            "ROLLBACK TO job; RELEASE job"
        };
        tx.execute_batch(end).map_err(sql_error)?;
    }
    tx.commit().map_err(sql_error)
}
