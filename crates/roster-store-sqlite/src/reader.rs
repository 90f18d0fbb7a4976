//! The connections that read: read-only rusqlite connections, taken from a small pool and
//! used right on the calling task. Reads in WAL mode never wait for the writer, and the
//! queries Roster runs (point lookups, index range scans of one page) take microseconds to a
//! millisecond, less than handing them to another thread would cost.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use roster_core::store::StoreError;
use rusqlite::{Connection, OpenFlags, Params, Row};

use crate::error::sql_error;

/// Connections kept open between reads.
const IDLE_MAX: usize = 4;
/// Page cache per reading connection, in KiB (SQLite's negative `cache_size`).
const CACHE_KIB: i64 = 8 * 1024;
/// Statements kept prepared per connection.
const STATEMENT_CACHE: usize = 64;

#[derive(Debug)]
pub(crate) struct Reader {
    path: PathBuf,
    busy_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
}

impl Reader {
    /// Readers of `path`, which must exist (the writer creates it).
    pub(crate) fn open(path: &Path, busy_timeout: Duration) -> Result<Self, StoreError> {
        let reader = Self {
            path: path.to_owned(),
            busy_timeout,
            idle: Mutex::new(Vec::new()),
        };
        let first = reader.connect()?;
        reader.idle().push(first);
        Ok(reader)
    }

    fn connect(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql_error)?;
        conn.busy_timeout(self.busy_timeout).map_err(sql_error)?;
        conn.execute_batch(&format!(
            "PRAGMA cache_size = -{CACHE_KIB}; PRAGMA temp_store = MEMORY;"
        ))
        .map_err(sql_error)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        crate::substring::register(&conn).map_err(sql_error)?;
        Ok(conn)
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Run `read` on an idle connection (a new one if none is idle).
    pub(crate) fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let idle = self.idle().pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.connect()?,
        };
        let result = read(&conn);
        let mut idle = self.idle();
        if idle.len() < IDLE_MAX {
            idle.push(conn);
        }
        result
    }

    /// Every row `sql` returns, mapped.
    pub(crate) fn rows<T>(
        &self,
        sql: &str,
        params: impl Params,
        map: impl Fn(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(sql).map_err(sql_error)?;
            let mut rows = statement.query(params).map_err(sql_error)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(sql_error)? {
                out.push(map(row)?);
            }
            Ok(out)
        })
    }

    /// The first row `sql` returns, mapped.
    pub(crate) fn row<T>(
        &self,
        sql: &str,
        params: impl Params,
        map: impl Fn(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(sql).map_err(sql_error)?;
            let mut rows = statement.query(params).map_err(sql_error)?;
            match rows.next().map_err(sql_error)? {
                Some(row) => map(row).map(Some),
                None => Ok(None),
            }
        })
    }
}
