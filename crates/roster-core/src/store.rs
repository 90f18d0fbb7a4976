//! The persistence boundary. Each backend (SQLite, PostgreSQL) implements [`Store`] and
//! passes the shared conformance suite; the core never sees SQL.

use async_trait::async_trait;

use chrono::{DateTime, Utc};

use crate::audit::{AuditEvent, AuditHead, AuditQuery, NewEvent};
use crate::clients::ApiClient;
use crate::group::{Group, Membership};
use crate::invitation::{Invitation, InvitationSettings};
use crate::keys::ApiKey;
use crate::listing::UserListRequest;
use crate::outbox::{Delivery, Mail, OutboxQuery};
use crate::session::{AuthSettings, EndSessions, Session};
use crate::signing::SigningKey;
use crate::user::User;
use crate::workspace::Workspace;

pub use crate::error::{StoreError, UniqueKey};

/// One user written by an import: a new user (`expected_version` is `None`) or an update of
/// the stored row at `expected_version`.
#[derive(Debug, Clone)]
pub struct ImportWrite {
    pub user: User,
    pub expected_version: Option<i64>,
    /// A password hash to store (argon2id or bcrypt, already checked); `None` leaves it.
    pub password_hash: Option<String>,
    /// What else the write does for this user, in the batch's transaction (a new user's
    /// invitation and its mail), in order.
    pub plan: Vec<UserWrite>,
}

/// One primitive write about a user, executed in the user write's transaction in the order
/// the core planned it (see [`crate::plan`]). A backend executes each as it stands and
/// decides nothing: which primitives go together, and in what order, is the core's rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserWrite {
    /// Mark the user's pending invitations revoked at the write's time.
    RevokeInvitations,
    /// Withdraw the user's invitation mail still pending in the outbox (its text dropped).
    WithdrawInvitationMail,
    /// Mark this pending invitation of the user accepted at the write's time; if it is not
    /// pending (accepted, revoked, another user's), fail the whole write with `Stale`.
    AcceptInvitation(String),
    /// Store this invitation for the user.
    InsertInvitation(Invitation),
    /// Queue this mail about the user.
    QueueMail(Mail),
    /// Set the user's password hash.
    SetPasswordHash(String),
    /// End the user's live sign-in sessions at the write's time (the personal token stays).
    EndSessions,
    /// Revoke the user's personal token at the write's time.
    RevokePersonalToken,
    /// Take the user out of every group.
    LeaveGroups,
    /// Put the user in a group (the membership's `user_key` is the written user's; a group
    /// that is gone fails the whole write with `Stale`).
    JoinGroup(Membership),
    /// Fail the whole write with a backend error. Only failure-injection tests plan it, to
    /// prove that what was written before it is rolled back.
    Abort,
}

/// How a sign-in names its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInName {
    /// The lower-cased email.
    EmailKey(String),
    ExternalId(String),
}

/// A sign-in to write: the new session, the sessions it ends to stay within the user's
/// limit, and the sign-in times.
#[derive(Debug, Clone)]
pub struct SessionStart {
    pub session: Session,
    /// How many live sign-in sessions the user had when the caller decided on `evict`; if
    /// another sign-in changed that meanwhile, nothing is written and the call fails `Stale`.
    pub expected_live: u64,
    /// Keys of the sessions to end (reason: the limit).
    pub evict: Vec<i64>,
    /// A fresh hash replacing an outdated one (bcrypt, other argon2 parameters).
    pub rehash: Option<String>,
}

/// What a conditional user update found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateOutcome {
    Updated,
    /// The row's version was not the expected one: someone else changed it first.
    VersionConflict,
    /// No such (live) row.
    Missing,
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
pub trait Store: Send + Sync + 'static {
    /// Apply pending schema migrations.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// Check that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// On an empty installation, create `workspace` and its first key in one transaction and
    /// return true; if any workspace exists already, change nothing and return false.
    async fn bootstrap(
        &self,
        workspace: &Workspace,
        key: &ApiKey,
        events: &[NewEvent],
    ) -> Result<bool, StoreError>;

    /// Insert a workspace; its `key` is assigned by the store and returned. The event starts
    /// the new workspace's chain.
    async fn insert_workspace(
        &self,
        workspace: &Workspace,
        event: &NewEvent,
    ) -> Result<i64, StoreError>;

    async fn list_workspaces(&self) -> Result<Vec<Workspace>, StoreError>;

    /// The workspace whose public id or name is `id_or_name`.
    async fn find_workspace(&self, id_or_name: &str) -> Result<Option<Workspace>, StoreError>;

    async fn insert_api_key(&self, key: &ApiKey, event: &NewEvent) -> Result<(), StoreError>;

    /// The unrevoked key with this secret hash, with its workspace.
    async fn find_api_key(
        &self,
        secret_hash: &[u8; 32],
    ) -> Result<Option<(ApiKey, Workspace)>, StoreError>;

    /// The workspace's unrevoked keys, oldest first.
    async fn list_api_keys(&self, workspace_key: i64) -> Result<Vec<ApiKey>, StoreError>;

    /// Revoke the workspace's key `id`; returns it if it was live.
    async fn revoke_api_key(
        &self,
        workspace_key: i64,
        id: &str,
        at: DateTime<Utc>,
        event: &NewEvent,
    ) -> Result<Option<ApiKey>, StoreError>;

    /// Record that key `id` authenticated a request at `at`.
    async fn touch_api_key(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError>;

    async fn insert_api_client(
        &self,
        client: &ApiClient,
        event: &NewEvent,
    ) -> Result<(), StoreError>;

    /// The unrevoked client `client_id`, with its workspace.
    async fn find_api_client(
        &self,
        client_id: &str,
    ) -> Result<Option<(ApiClient, Workspace)>, StoreError>;

    /// The workspace's unrevoked clients, oldest first.
    async fn list_api_clients(&self, workspace_key: i64) -> Result<Vec<ApiClient>, StoreError>;

    /// Write the mutable fields (name, scopes, admin API flag, rate limit) of an unrevoked
    /// client of its workspace; false if there is none.
    async fn update_api_client(
        &self,
        client: &ApiClient,
        event: &NewEvent,
    ) -> Result<bool, StoreError>;

    /// Revoke the workspace's client; false if there was no live one.
    async fn revoke_api_client(
        &self,
        workspace_key: i64,
        client_id: &str,
        at: DateTime<Utc>,
        event: &NewEvent,
    ) -> Result<bool, StoreError>;

    /// Change a workspace's default rate limit.
    async fn set_workspace_rate_limit(
        &self,
        workspace_key: i64,
        per_minute: Option<u32>,
        event: &NewEvent,
    ) -> Result<(), StoreError>;

    /// Change how many days a workspace keeps its audit events.
    async fn set_audit_retention(
        &self,
        workspace_key: i64,
        days: u32,
        event: &NewEvent,
    ) -> Result<(), StoreError>;

    /// Every signing key, retired ones included.
    async fn list_signing_keys(&self) -> Result<Vec<SigningKey>, StoreError>;

    /// Add `key` and, in the same transaction, set `retire_others_at` as the retirement time
    /// of every other key that has none.
    async fn rotate_signing_key(
        &self,
        key: &SigningKey,
        retire_others_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

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

    /// Replace a workspace's role set. If a user (soft-deleted ones included) has one of
    /// `removed`, write nothing and return that role.
    async fn set_workspace_roles(
        &self,
        workspace_key: i64,
        roles: &[String],
        removed: &[String],
        event: &NewEvent,
    ) -> Result<Option<String>, StoreError>;

    async fn set_invitation_settings(
        &self,
        workspace_key: i64,
        settings: &InvitationSettings,
        event: &NewEvent,
    ) -> Result<(), StoreError>;

    /// Mails of the outbox, newest first.
    async fn list_outbox(&self, query: &OutboxQuery) -> Result<Vec<Mail>, StoreError>;

    /// Up to `limit` pending mails of any workspace due at `now` (the longest due chosen
    /// first; returned in no particular order), each leased until `lease_until` (its next
    /// attempt moves there), so no other claimer gets it meanwhile. Safe to call from
    /// several nodes at once.
    async fn claim_due_mail(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Mail>, StoreError>;

    /// Record an attempt's outcome: one more attempt; sent (the text dropped), due again,
    /// or failed.
    async fn record_delivery(&self, mail_key: i64, outcome: &Delivery) -> Result<(), StoreError>;

    /// Insert a group; returns its key. A name taken in the workspace is `Unique(GroupName)`.
    async fn insert_group(&self, group: &Group, event: &NewEvent) -> Result<i64, StoreError>;

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

    /// Write a group's name and description; false if it does not exist.
    async fn update_group(&self, group: &Group, event: &NewEvent) -> Result<bool, StoreError>;

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

    /// Append an event that goes with no change (a failed sign-in).
    async fn append_event(&self, workspace_key: i64, event: &NewEvent) -> Result<(), StoreError>;

    async fn set_auth_settings(
        &self,
        workspace_key: i64,
        settings: &AuthSettings,
        event: &NewEvent,
    ) -> Result<(), StoreError>;

    /// The live (not soft-deleted) user of the workspace with this name, and its password
    /// hash.
    async fn find_sign_in(
        &self,
        workspace_key: i64,
        name: &SignInName,
    ) -> Result<Option<(User, Option<String>)>, StoreError>;

    /// The user's sessions and personal token that are live at `now`, oldest first.
    async fn live_sessions(
        &self,
        workspace_key: i64,
        user_key: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, StoreError>;

    /// Write a sign-in (see [`SessionStart`]): end the evicted sessions, insert the new one,
    /// move the user's `current_sign_in_at` to `last_sign_in_at` and set it to the session's
    /// creation, store a rehash, append the event.
    async fn start_session(&self, start: &SessionStart, event: &NewEvent)
        -> Result<(), StoreError>;

    /// The session or personal token with this token hash, its user, and its workspace's
    /// public id.
    async fn find_session(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<(Session, User, String)>, StoreError>;

    /// Record a use of a session, sliding its expiry.
    async fn touch_session(
        &self,
        session_key: i64,
        last_seen_at: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;

    /// End some of a user's live sessions at `at`; returns how many. The event is appended
    /// only if some ended; ending the personal token clears `has_authentication_token`.
    async fn end_sessions(
        &self,
        workspace_key: i64,
        user_key: i64,
        which: &EndSessions,
        at: DateTime<Utc>,
        event: &NewEvent,
    ) -> Result<u64, StoreError>;

    /// Store a personal token and set the user's `has_authentication_token`; false (nothing
    /// written) if the user has a live one already.
    async fn insert_personal_token(
        &self,
        token: &Session,
        event: &NewEvent,
    ) -> Result<bool, StoreError>;

    /// Events matching the query, newest first (by time, then sequence).
    async fn list_audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError>;

    /// Up to `limit` events of the workspace's chain with sequence above `after_seq`, in order.
    async fn audit_chain(
        &self,
        workspace_key: i64,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError>;

    /// The workspace's chain head and checkpoint; `None` before its first event.
    async fn audit_head(&self, workspace_key: i64) -> Result<Option<AuditHead>, StoreError>;

    /// Delete up to `batch` of the workspace's oldest events that occurred before `before`,
    /// moving the checkpoint to the last one deleted, in one transaction. Returns how many.
    async fn purge_audit_events(
        &self,
        workspace_key: i64,
        before: DateTime<Utc>,
        batch: u32,
    ) -> Result<u64, StoreError>;
}
