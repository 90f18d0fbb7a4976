//! Groups and memberships.

use super::writes::MembershipWrite;
use crate::audit::NewEvent;
use crate::error::StoreError;
use crate::group::{Group, Membership};
use crate::user::User;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Groups and memberships.
#[async_trait]
pub trait GroupStore: Send + Sync {
    async fn find_group(&self, workspace_key: i64, id: &str) -> Result<Option<Group>, StoreError>;

    /// A group by integer key (seed 004's plan id).
    async fn find_group_by_key(
        &self,
        workspace_key: i64,
        key: i64,
    ) -> Result<Option<Group>, StoreError>;

    /// Up to `limit` groups, newest first, with key below `before_key`.
    async fn list_groups(
        &self,
        workspace_key: i64,
        before_key: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Group>, StoreError>;

    /// Delete a group and its memberships; false if it does not exist.
    async fn delete_group(
        &self,
        workspace_key: i64,
        group_key: i64,
        event: &NewEvent,
    ) -> Result<bool, StoreError>;

    /// Add a membership, or replace the expiry of an existing one.
    async fn put_membership(
        &self,
        workspace_key: i64,
        membership: &Membership,
        event: &NewEvent,
    ) -> Result<(), StoreError>;

    /// Remove a membership; false (and no event) if there was none.
    async fn delete_membership(
        &self,
        workspace_key: i64,
        group_key: i64,
        user_key: i64,
        event: &NewEvent,
    ) -> Result<bool, StoreError>;

    /// Up to `limit` live users of the group whose membership counts at `now`, newest user
    /// first, with key below `before_user_key`.
    async fn list_members(
        &self,
        workspace_key: i64,
        group_key: i64,
        now: DateTime<Utc>,
        before_user_key: Option<i64>,
        limit: u32,
    ) -> Result<Vec<(User, Membership)>, StoreError>;

    /// For each of `user_keys` (a page of users, read in one query), the groups whose
    /// membership counts at `now`: `(user_key, group, membership)`, by user key and then
    /// group name. A key whose user is gone simply has none.
    async fn groups_of_users(
        &self,
        workspace_key: i64,
        user_keys: &[i64],
        now: DateTime<Utc>,
    ) -> Result<Vec<(i64, Group, Membership)>, StoreError>;

    /// Write a group with membership changes and their events in one transaction: a group
    /// with key 0 is inserted (a name taken in the workspace is `Unique(GroupName)`) (its key returned, and given to the memberships), any other
    /// updated — only while its `updated_at` is still `expected_updated_at` when that is
    /// given (`Stale` otherwise; `Ok(0)` when the group is gone). Memberships of users not
    /// in the workspace are skipped.
    async fn write_group(
        &self,
        group: &Group,
        expected_updated_at: Option<DateTime<Utc>>,
        memberships: &[MembershipWrite],
        events: &[NewEvent],
    ) -> Result<i64, StoreError>;
}
