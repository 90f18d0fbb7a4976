//! What the store's methods take and give besides the domain types: the primitive writes a
//! user write executes, import writes, sign-in names and starts, update outcomes.

use crate::group::Membership;
use crate::invitation::Invitation;
use crate::outbox::Mail;
use crate::session::Session;
use crate::user::User;
use chrono::{DateTime, Utc};

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
/// the core planned it (the core's `plan` module builds the list). A backend executes each as it stands and
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
    /// Mark the console setup token with this hash used at the write's time; if it is not
    /// live (unknown, used, expired, or another workspace's), fail the whole write with
    /// `Stale`.
    ClaimSetupToken([u8; 32]),
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

/// A stored console setup token (`roster_core::console`): only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupToken {
    pub workspace_key: i64,
    pub token_hash: [u8; 32],
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
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

/// One membership change written with a group (`Roster::change_group`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembershipWrite {
    /// Add the membership (the group's key is the written group's), or replace its expiry.
    Put(Membership),
    /// End the user's membership of the written group.
    Delete { user_key: i64 },
}
