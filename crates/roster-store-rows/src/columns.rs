//! Reading one value of a row, whatever the backend.

use chrono::{DateTime, Utc};
use roster_core::store::StoreError;

/// A column: its name, and, for tables read with `SELECT *`, its position (a backend may
/// read by position, which spares a scan of the column names per field on the hottest
/// reads; migrations only ever add columns at the end, so positions hold).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Col {
    pub name: &'static str,
    pub at: Option<usize>,
}

impl Col {
    /// A column read by name.
    pub const fn named(name: &'static str) -> Self {
        Self { name, at: None }
    }

    /// A column of a `SELECT *` row, at its position in the table.
    pub const fn at(name: &'static str, at: usize) -> Self {
        Self { name, at: Some(at) }
    }
}

/// A backend's row, one typed value at a time. A value of the wrong type, or out of its
/// domain, is a [`StoreError::Backend`].
pub trait Columns {
    fn int(&self, col: Col) -> Result<i64, StoreError>;
    fn opt_int(&self, col: Col) -> Result<Option<i64>, StoreError>;
    fn text(&self, col: Col) -> Result<String, StoreError>;
    fn opt_text(&self, col: Col) -> Result<Option<String>, StoreError>;
    fn flag(&self, col: Col) -> Result<bool, StoreError>;
    fn bytes(&self, col: Col) -> Result<Vec<u8>, StoreError>;
    fn time(&self, col: Col) -> Result<DateTime<Utc>, StoreError>;
    fn opt_time(&self, col: Col) -> Result<Option<DateTime<Utc>>, StoreError>;
    fn uuid(&self, col: Col) -> Result<uuid::Uuid, StoreError>;
    fn json<T: serde::de::DeserializeOwned>(&self, col: Col) -> Result<T, StoreError>;

    /// A 32-byte hash.
    fn hash(&self, col: Col) -> Result<[u8; 32], StoreError> {
        self.bytes(col)?
            .try_into()
            .map_err(|_| StoreError::Backend(format!("stored {} is not 32 bytes", col.name)))
    }

    /// A count or limit the domain keeps as `u32`.
    fn opt_u32(&self, col: Col) -> Result<Option<u32>, StoreError> {
        self.opt_int(col)?.map(|n| to_u32(col, n)).transpose()
    }

    fn u32(&self, col: Col) -> Result<u32, StoreError> {
        to_u32(col, self.int(col)?)
    }
}

fn to_u32(col: Col, n: i64) -> Result<u32, StoreError> {
    u32::try_from(n)
        .map_err(|_| StoreError::Backend(format!("stored {} out of range: {n}", col.name)))
}
