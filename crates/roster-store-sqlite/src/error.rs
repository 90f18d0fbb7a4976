//! SQLite errors in the store's terms, from either driver: rusqlite on the writer thread,
//! sqlx for reads and migrations.

use roster_core::store::{StoreError, UniqueKey};
use rusqlite::ErrorCode;

/// SQLite names the columns of a broken unique index, not the index:
/// "UNIQUE constraint failed: users.workspace_pk, users.email_key".
fn unique_key(message: &str) -> UniqueKey {
    if message.contains("users.email_key") {
        UniqueKey::UserEmail
    } else if message.contains("users.external_id") {
        UniqueKey::UserExternalId
    } else if message.contains("users.user_name_key") {
        UniqueKey::UserName
    } else if message.contains("groups.name_key") {
        UniqueKey::GroupName
    } else if message.contains("workspaces.name") {
        UniqueKey::WorkspaceName
    } else {
        UniqueKey::Other
    }
}

pub(crate) fn db_error(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Unique(unique_key(db.message()))
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
            StoreError::Unavailable(err.to_string())
        }
        sqlx::Error::Database(db) if db.code().as_deref() == Some("5") => {
            StoreError::Unavailable(format!("database is locked: {}", db.message()))
        }
        _ => StoreError::Backend(err.to_string()),
    }
}

pub(crate) fn sql_error(err: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(failure, message) = &err {
        match failure.code {
            ErrorCode::ConstraintViolation
                if matches!(
                    failure.extended_code,
                    rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                        | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                ) =>
            {
                return StoreError::Unique(unique_key(message.as_deref().unwrap_or_default()));
            }
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                return StoreError::Unavailable(format!("database is locked: {err}"));
            }
            ErrorCode::CannotOpen | ErrorCode::SystemIoFailure | ErrorCode::DiskFull => {
                return StoreError::Unavailable(err.to_string());
            }
            _ => {}
        }
    }
    StoreError::Backend(err.to_string())
}
