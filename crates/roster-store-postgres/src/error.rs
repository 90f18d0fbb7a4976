//! PostgreSQL errors in the store's terms.

use roster_core::store::{StoreError, UniqueKey};

pub(crate) fn db_error(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Unique(match db.constraint() {
                Some("users_email_key") => UniqueKey::UserEmail,
                Some("users_external_id") => UniqueKey::UserExternalId,
                Some("users_user_name_key") => UniqueKey::UserName,
                Some("workspaces_name_key") => UniqueKey::WorkspaceName,
                Some("groups_name_key") => UniqueKey::GroupName,
                _ => UniqueKey::Other,
            })
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
            StoreError::Unavailable(err.to_string())
        }
        _ => StoreError::Backend(err.to_string()),
    }
}
