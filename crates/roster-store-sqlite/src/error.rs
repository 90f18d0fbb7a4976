//! SQLite errors in the store's terms.

use roster_core::store::{StoreError, UniqueKey};

pub(crate) fn db_error(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            // SQLite names the columns, not the index: "UNIQUE constraint failed: users.email_key".
            let message = db.message();
            let key = if message.contains("users.email_key") {
                UniqueKey::UserEmail
            } else if message.contains("users.external_id") {
                UniqueKey::UserExternalId
            } else if message.contains("workspaces.name") {
                UniqueKey::WorkspaceName
            } else {
                UniqueKey::Other
            };
            StoreError::Unique(key)
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
