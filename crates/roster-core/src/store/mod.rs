//! The persistence boundary. Each backend (SQLite, PostgreSQL) implements [`Store`] and
//! passes the shared conformance suite; the core never sees SQL.

use async_trait::async_trait;

pub use crate::error::{StoreError, UniqueKey};

mod audit;
mod credentials;
mod groups;
mod outbox;
mod sessions;
mod users;
mod workspaces;
mod writes;

pub use audit::AuditStore;
pub use credentials::CredentialStore;
pub use groups::GroupStore;
pub use outbox::OutboxStore;
pub use sessions::SessionStore;
pub use users::UserStore;
pub use workspaces::WorkspaceStore;
pub use writes::{
    ImportWrite, MembershipWrite, SessionStart, SetupToken, SignInName, UpdateOutcome, UserWrite,
};

/// Every role trait, for a file that calls the store: `use crate::store::prelude::*;`.
pub mod prelude {
    pub use super::AuditStore;
    pub use super::CredentialStore;
    pub use super::GroupStore;
    pub use super::OutboxStore;
    pub use super::SessionStore;
    pub use super::Store;
    pub use super::UserStore;
    pub use super::WorkspaceStore;
}

/// The storage of one Roster installation.
///
/// Every method that changes a workspace's records takes the audit event of the change and
/// appends it to the workspace's chain in the same transaction: the change and its event
/// commit together or not at all.
///
/// Users are always addressed within a workspace (`workspace_key`); no method reads or
/// writes across workspaces except those that list workspaces themselves.
#[async_trait]
pub trait Store:
    WorkspaceStore
    + CredentialStore
    + UserStore
    + GroupStore
    + SessionStore
    + AuditStore
    + OutboxStore
    + 'static
{
    /// Apply pending schema migrations.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// Check that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Gather the query planner's statistics again for the tables whose rows changed by
    /// more than a tenth since it last did (a bulk import), so their queries are planned
    /// for the rows there are; the names of the tables done. A store whose planner keeps no
    /// statistics answers none.
    async fn refresh_statistics(&self) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }
}
