//! Sign-in, sessions and personal tokens.

use super::writes::{SessionStart, SignInName};
use crate::audit::NewEvent;
use crate::error::StoreError;
use crate::session::{EndSessions, Session};
use crate::user::User;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Sign-in, sessions and personal tokens.
#[async_trait]
pub trait SessionStore: Send + Sync {
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
}
