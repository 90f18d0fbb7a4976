//! Users, their invitations and imports.

use super::writes::{ImportWrite, UpdateOutcome, UserWrite};
use crate::audit::NewEvent;
use crate::error::StoreError;
use crate::invitation::Invitation;
use crate::listing::UserListRequest;
use crate::query::UserQuery;
use crate::user::User;
use async_trait::async_trait;

/// Users, their invitations and imports.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Insert a user, execute `plan` after it and append `event`, in one transaction; the
    /// user's integer `key` is assigned by the store and returned.
    async fn insert_user(
        &self,
        user: &User,
        event: &NewEvent,
        plan: &[UserWrite],
    ) -> Result<i64, StoreError>;

    /// A user by public id, soft-deleted ones included.
    async fn get_user(&self, workspace_key: i64, id: &str) -> Result<Option<User>, StoreError>;

    /// A user by UUID (seeds 000 and 001 show it as `humanId`), soft-deleted ones included.
    async fn find_user_by_uuid(
        &self,
        workspace_key: i64,
        uuid: uuid::Uuid,
    ) -> Result<Option<User>, StoreError>;

    /// A user by integer key (seeds 003 and 004 show it as `id`), soft-deleted included.
    async fn find_user_by_key(
        &self,
        workspace_key: i64,
        key: i64,
    ) -> Result<Option<User>, StoreError>;

    /// A user by external id, soft-deleted ones included.
    async fn find_user_by_external_id(
        &self,
        workspace_key: i64,
        external_id: &str,
    ) -> Result<Option<User>, StoreError>;

    /// Up to `request.limit` users matching the filter, newest first, strictly after the
    /// cursor.
    async fn list_users(&self, request: &UserListRequest) -> Result<Vec<User>, StoreError>;

    /// How many users [`list_users`](UserStore::list_users) would return for `request`:
    /// its matches after the cursor, at most `request.limit` (a count that stops). A store
    /// that can count without reading whole users overrides this.
    async fn count_users_upto(&self, request: &UserListRequest) -> Result<u64, StoreError> {
        Ok(self.list_users(request).await?.len() as u64)
    }

    /// Write every mutable field of `user` if the stored row still has version
    /// `expected_version`; the stored version becomes `user.version`. `plan` and the event
    /// are written only with the change, in its transaction.
    async fn update_user(
        &self,
        user: &User,
        expected_version: i64,
        event: &NewEvent,
        plan: &[UserWrite],
    ) -> Result<UpdateOutcome, StoreError>;

    /// Erase the user `user_key` of the workspace with its memberships, invitations and
    /// mails, and append `event`; false (and nothing written) if there is no such user.
    async fn purge_user(
        &self,
        workspace_key: i64,
        user_key: i64,
        event: &NewEvent,
    ) -> Result<bool, StoreError>;

    /// The invitation with this token hash, its user, and its workspace's public id.
    async fn find_invitation(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<(Invitation, User, String)>, StoreError>;

    /// The workspace's users an import batch may touch: those (soft-deleted included) with
    /// one of `external_ids`, and live ones with one of `email_keys` (one found both ways may
    /// be listed twice).
    async fn find_import_matches(
        &self,
        workspace_key: i64,
        external_ids: &[String],
        email_keys: &[String],
    ) -> Result<Vec<User>, StoreError>;

    /// Write an import batch and its one event, all or nothing: a unique violation fails the
    /// batch with `Unique`, an update whose row moved past its expected version with `Stale`.
    async fn import_users(
        &self,
        workspace_key: i64,
        writes: &[ImportWrite],
        event: &NewEvent,
    ) -> Result<(), StoreError>;

    /// The live users with these public ids (any order; unknown ids are left out).
    async fn find_users_by_ids(
        &self,
        workspace_key: i64,
        ids: &[String],
    ) -> Result<Vec<User>, StoreError>;

    /// One page of the users matching a query (live users only), in the query's order.
    async fn query_users(&self, query: &UserQuery) -> Result<Vec<User>, StoreError>;

    /// How many live users match a query's condition.
    async fn count_users(&self, query: &UserQuery) -> Result<u64, StoreError>;

    /// One small step of background upkeep of the search index (merging what bulk writes
    /// left in pieces on SQLite, emptying the trigram indexes' pending lists on
    /// PostgreSQL), outside any request's commit. `true` when more steps are due now;
    /// a store whose index needs no upkeep answers `false`.
    async fn tidy_search_index(&self) -> Result<bool, StoreError> {
        Ok(false)
    }
}
