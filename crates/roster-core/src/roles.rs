//! Workspace configuration a workspace's own admins set: its role set (default `admin`,
//! `editor`, `viewer`) and its invitation settings. Each change is one `config.update`
//! event. A role some user has (soft-deleted users included, since restoring them must give
//! back a valid user) cannot be removed.

use serde_json::json;

use crate::audit::{Action, AuditContext};
use crate::error::{Code, Error, Result};
use crate::invitation::InvitationSettings;
use crate::roster::Roster;
use crate::workspace::Workspace;

pub const MAX_ROLES: usize = 50;
pub const MAX_ROLE_CHARS: usize = 64;

/// Role names are 1 to 64 characters of letters, digits, `_`, `-` and `.`, starting with a
/// letter or digit.
pub fn validate_role_name(name: &str) -> Result<String> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.len() <= MAX_ROLE_CHARS
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(name.to_owned())
    } else {
        Err(Error::field(
            Code::InvalidRole,
            "roles",
            format!(
                "'{}' is not a valid role name: use 1 to {MAX_ROLE_CHARS} letters, digits, '_', '-' or '.', starting with a letter or digit.",
                name.chars().take(32).collect::<String>()
            ),
        ))
    }
}

impl Roster {
    /// Replace the workspace's role set (order kept, as given).
    pub async fn set_roles(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        roles: &[String],
    ) -> Result<Workspace> {
        if roles.is_empty() || roles.len() > MAX_ROLES {
            return Err(Error::field(
                Code::InvalidRole,
                "roles",
                format!("A workspace has 1 to {MAX_ROLES} roles."),
            ));
        }
        let mut valid: Vec<String> = Vec::with_capacity(roles.len());
        for role in roles {
            let role = validate_role_name(role)?;
            if valid.contains(&role) {
                return Err(Error::field(
                    Code::InvalidRole,
                    "roles",
                    format!("The role '{role}' is listed twice."),
                ));
            }
            valid.push(role);
        }
        if valid == workspace.roles {
            return Ok(workspace.clone());
        }
        let removed: Vec<String> = workspace
            .roles
            .iter()
            .filter(|r| !valid.contains(r))
            .cloned()
            .collect();
        let event = self.event(
            ctx,
            Action::ConfigUpdate,
            None,
            json!({"roles": {"before": workspace.roles, "after": valid}}),
        );
        if let Some(in_use) = self
            .store
            .set_workspace_roles(workspace.key, &valid, &removed, &event)
            .await?
        {
            return Err(Error::field(
                Code::RoleInUse,
                "roles",
                format!("The role '{in_use}' cannot be removed: users have it. Give them another role first."),
            ));
        }
        self.caches.forget_workspaces();
        Ok(Workspace {
            roles: valid,
            ..workspace.clone()
        })
    }

    /// Replace the workspace's invitation settings (unset fields take the defaults).
    pub async fn set_invitation_settings(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        settings: InvitationSettings,
    ) -> Result<Workspace> {
        let settings = settings.validate()?;
        if settings == workspace.invitations {
            return Ok(workspace.clone());
        }
        let event = self.event(
            ctx,
            Action::ConfigUpdate,
            None,
            json!({"invitations": {"before": workspace.invitations, "after": settings}}),
        );
        self.store
            .set_invitation_settings(workspace.key, &settings, &event)
            .await?;
        self.caches.forget_workspaces();
        Ok(Workspace {
            invitations: settings,
            ..workspace.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_plain_words() {
        assert_eq!(validate_role_name(" analyst ").unwrap(), "analyst");
        assert!(validate_role_name("report.viewer-2").is_ok());
        for bad in ["", "-x", "two words", "é", &"r".repeat(65)] {
            assert_eq!(validate_role_name(bad).unwrap_err().code, Code::InvalidRole);
        }
    }
}
