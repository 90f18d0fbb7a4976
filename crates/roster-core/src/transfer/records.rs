//! Users and audit events as Roster shows them to programs: the native API's objects, and
//! the lines of an NDJSON export (an export is a valid import). One definition serves both.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::audit::AuditEvent;
use crate::user::User;

/// A timestamp as Roster shows it: RFC 3339 in UTC, to the second
/// (`2024-11-15T08:30:00Z`, as in seed 002).
pub fn rfc3339<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// [`rfc3339`], or null.
pub fn rfc3339_opt<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => rfc3339(at, s),
        None => s.serialize_none(),
    }
}

/// A user as the native API shows it.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = UserBody))]
pub struct UserRecord {
    #[cfg_attr(feature = "openapi", schema(example = "usr_2x9k3m4n5p"))]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(example = "Jane Cooper"))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(example = "jane@example.com"))]
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(example = "admin"))]
    pub role: String,
    /// `invited`, `active` or `inactive`.
    #[cfg_attr(feature = "openapi", schema(example = "active"))]
    pub status: &'static str,
    pub external_id: Option<String>,
    /// How the user signs in to the organisation's identity provider (SCIM's `userName`):
    /// unique per workspace, case-insensitively; the email unless set.
    #[cfg_attr(feature = "openapi", schema(example = "jane@example.com"))]
    pub user_name: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub attributes: Value,
    #[serde(serialize_with = "rfc3339")]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = String, format = DateTime, example = "2024-11-15T08:30:00Z")
    )]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: DateTime<Utc>,
    /// At most this many sessions at once (seed 004); null for no limit.
    pub sessions_limit: Option<u32>,
    /// Whether the user may create a personal token (seed 003).
    pub allow_authentication_token: bool,
    /// Whether the user has a live personal token (seed 003).
    pub has_authentication_token: bool,
    /// The latest sign-in, and the one before it (seed 003).
    #[serde(serialize_with = "rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub current_sign_in_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// Set when the user is soft-deleted (only `include_deleted` reads show such users).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "rfc3339_opt"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub deleted_at: Option<DateTime<Utc>>,
}

impl From<User> for UserRecord {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            name: user.name,
            email: user.email,
            role: user.role,
            status: user.status.as_str(),
            external_id: user.external_id,
            user_name: user.user_name,
            given_name: user.given_name,
            family_name: user.family_name,
            attributes: Value::Object(user.attributes),
            created_at: user.created_at,
            updated_at: user.updated_at,
            deleted_at: user.deleted_at,
            sessions_limit: user.sessions_limit,
            allow_authentication_token: user.allow_authentication_token,
            has_authentication_token: user.has_authentication_token,
            current_sign_in_at: user.current_sign_in_at,
            last_sign_in_at: user.last_sign_in_at,
        }
    }
}

/// Who made a change, as an audit event shows it.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Actor))]
pub struct EventActor {
    /// `api_key`, `api_client`, `operator` (the CLI), `system` or `user` (a user acting
    /// for itself, e.g. accepting its invitation).
    #[cfg_attr(feature = "openapi", schema(example = "api_key"))]
    pub kind: String,
    /// The key's, client's or user's id.
    pub id: Option<String>,
}

/// An audit event as the native API shows it (seed 002).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = AuditEventBody))]
pub struct EventRecord {
    #[cfg_attr(feature = "openapi", schema(example = "evt_0f9a8b7c6d5e4f3a2b1c"))]
    pub id: String,
    #[serde(serialize_with = "rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub occurred_at: DateTime<Utc>,
    #[cfg_attr(feature = "openapi", schema(example = "user.delete"))]
    pub action: String,
    pub actor: EventActor,
    /// The user the change was about, if any.
    pub user_id: Option<String>,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// `{"field": {"before": …, "after": …}}`; secrets never appear.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub changes: Value,
    /// Position in the workspace's hash chain, and the chain's hashes.
    pub seq: i64,
    pub prev_hash: String,
    pub hash: String,
}

impl From<AuditEvent> for EventRecord {
    fn from(e: AuditEvent) -> Self {
        Self {
            id: e.id,
            occurred_at: e.occurred_at,
            action: e.action,
            actor: EventActor {
                kind: e.actor_kind,
                id: e.actor_id,
            },
            user_id: e.target_user_id,
            request_id: e.request_id,
            ip: e.ip,
            user_agent: e.user_agent,
            changes: serde_json::from_str(&e.changes).unwrap_or(Value::Null),
            seq: e.seq,
            prev_hash: e.prev_hash,
            hash: e.hash,
        }
    }
}
