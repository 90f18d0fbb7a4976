//! Workspaces: the tenants. Every other record belongs to exactly one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Code, Error, Result};
use crate::invitation_settings::InvitationSettings;
use crate::session::AuthSettings;

/// The workspace created on first start.
pub const DEFAULT_WORKSPACE: &str = "default";

/// The role set a new workspace starts with.
/// Seed 002: "Events are retained for 90 days."
pub const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 90;

pub const DEFAULT_ROLES: [&str; 3] = ["admin", "editor", "viewer"];

const MAX_NAME_LEN: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    /// Internal integer key, assigned by the store; never shown.
    pub key: i64,
    /// Public id, `ws_…`.
    pub id: String,
    pub name: String,
    /// The role names users of this workspace may have.
    pub roles: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// The operator workspace's admin keys may manage all workspaces.
    pub is_operator: bool,
    /// Requests per minute per credential, unless a credential sets its own; `None` is the
    /// server's default.
    pub rate_limit_per_minute: Option<u32>,
    /// How many days audit events are kept (seed 002: 90).
    pub audit_retention_days: u32,
    /// How long invitations last and what their mail says.
    pub invitations: InvitationSettings,
    /// Password and session rules.
    pub auth: AuthSettings,
}

impl Workspace {
    /// The role a user gets when a surface makes one without naming a role (SCIM): the
    /// last of the workspace's roles, by convention its least privileged.
    pub fn default_role(&self) -> &str {
        self.roles.last().map_or("viewer", String::as_str)
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// Workspace names are slugs: 1 to 64 characters of `a-z`, `0-9`, `-` and `_`, starting
/// with a letter or digit, so they can stand in URLs and CLI arguments unquoted.
pub fn validate_name(name: &str) -> Result<String> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(name.to_owned())
    } else {
        Err(Error::field(
            Code::InvalidWorkspaceName,
            "name",
            "Workspace names are 1 to 64 characters of a-z, 0-9, '-' and '_', starting with a letter or digit.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_slugs() {
        assert_eq!(validate_name(" acme-2 ").unwrap(), "acme-2");
        for bad in ["", "Acme", "-acme", "a b", &"a".repeat(65)] {
            assert_eq!(
                validate_name(bad).unwrap_err().code,
                Code::InvalidWorkspaceName
            );
        }
    }
}
