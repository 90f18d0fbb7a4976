//! Groups: named sets of a workspace's users. A membership may carry an expiry after which
//! it no longer counts (seed 004's plans with `valid_to` are memberships with an expiry).

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::error::{Code, Error, Result};
use crate::listing::Cursor;
use crate::user::User;

pub const MAX_GROUP_NAME_CHARS: usize = 128;
pub const MAX_DESCRIPTION_CHARS: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub key: i64,
    /// `grp_…`.
    pub id: String,
    pub workspace_key: i64,
    /// Unique in the workspace, case-insensitively.
    pub name: String,
    pub description: Option<String>,
    /// The identity provider's id for the group (SCIM's `externalId`), kept as sent.
    pub external_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Group {
    /// The key names are kept unique by.
    pub fn name_key(&self) -> String {
        self.name.to_lowercase()
    }
}

/// A user's place in a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub group_key: i64,
    pub user_key: i64,
    pub added_at: DateTime<Utc>,
    /// After this the membership no longer counts; `None` for never.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A group as a surface received it: on create, `name` is required; on update, `None`
/// leaves a field alone and `description: Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct GroupInput {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    /// `Some(None)` clears it.
    pub external_id: Option<Option<String>>,
}

/// One page of groups, or of a group's members.
#[derive(Debug, Clone)]
pub struct GroupPage {
    pub groups: Vec<Group>,
    pub next_cursor: Option<Cursor>,
}

#[derive(Debug, Clone)]
pub struct MemberPage {
    pub members: Vec<(User, Membership)>,
    pub next_cursor: Option<Cursor>,
}

pub(crate) fn validate_group_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::field(
            Code::FieldRequired,
            "name",
            "name is required.",
        ));
    }
    if name.chars().count() > MAX_GROUP_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Error::field(
            Code::InvalidField,
            "name",
            format!("A group name is 1 to {MAX_GROUP_NAME_CHARS} characters, without control characters."),
        ));
    }
    Ok(name.to_owned())
}

pub(crate) fn validate_description(text: Option<&str>) -> Result<Option<String>> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.chars().count() > MAX_DESCRIPTION_CHARS => Err(Error::field(
            Code::FieldTooLong,
            "description",
            format!("description may be at most {MAX_DESCRIPTION_CHARS} characters."),
        )),
        Some(t) => Ok(Some(t.to_owned())),
    }
}

pub(crate) fn group_fields(group: &Group) -> serde_json::Map<String, serde_json::Value> {
    let mut map = serde_json::Map::new();
    map.insert("id".into(), json!(group.id));
    map.insert("name".into(), json!(group.name));
    map.insert("description".into(), json!(group.description));
    map.insert("external_id".into(), json!(group.external_id));
    map
}

/// A membership's expiry must lie in the future (`field` names it in the caller's terms).
pub fn check_expiry(
    field: &'static str,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    if expires_at.is_some_and(|at| at <= now) {
        return Err(Error::field(
            Code::InvalidExpiry,
            field,
            format!("{field} must lie in the future."),
        ));
    }
    Ok(())
}

/// `changes` with the group's id recorded (it does not change, but names the group).
pub(crate) fn with_group_id(mut changes: serde_json::Value, id: &str) -> serde_json::Value {
    if let serde_json::Value::Object(map) = &mut changes {
        map.insert("id".into(), json!({"before": id, "after": id}));
    }
    changes
}

pub(crate) fn group_not_found() -> Error {
    Error::new(Code::GroupNotFound, "No group with this id exists.")
}
