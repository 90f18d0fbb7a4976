//! What a credential may do.
//!
//! | scope | allows |
//! | --- | --- |
//! | `users:read` | list and read users |
//! | `users:write` | create, update and delete users (and read them) |
//! | `audit:read` | read and export the audit log |
//! | `credentials:manage` | create, list and revoke secret keys and API clients, up to the scopes the caller holds |
//! | `scim` | the SCIM 2.0 surface (`/scim/v2`): read and write users and groups there |
//! | `admin` | everything, including workspaces when the key belongs to the operator workspace |
//!
//! Seed 000's client tokens name the user scopes `appuser:read` and `appuser:write`; those
//! names are accepted as aliases and used in the tokens Roster signs.

use serde::{Deserialize, Serialize};

use crate::error::{Code, Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    #[serde(rename = "users:read")]
    UsersRead,
    #[serde(rename = "users:write")]
    UsersWrite,
    #[serde(rename = "audit:read")]
    AuditRead,
    #[serde(rename = "credentials:manage")]
    CredentialsManage,
    #[serde(rename = "scim")]
    Scim,
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 6] = [
        Scope::UsersRead,
        Scope::UsersWrite,
        Scope::AuditRead,
        Scope::CredentialsManage,
        Scope::Scim,
        Scope::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::UsersRead => "users:read",
            Scope::UsersWrite => "users:write",
            Scope::AuditRead => "audit:read",
            Scope::CredentialsManage => "credentials:manage",
            Scope::Scim => "scim",
            Scope::Admin => "admin",
        }
    }

    /// The name seed 000's client tokens use for this scope.
    pub fn token_name(self) -> &'static str {
        match self {
            Scope::UsersRead => "appuser:read",
            Scope::UsersWrite => "appuser:write",
            other => other.as_str(),
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text || s.token_name() == text)
            .ok_or_else(|| {
                Error::field(
                    Code::UnknownScope,
                    "scopes",
                    format!(
                        "Unknown scope '{}'; scopes are users:read, users:write, audit:read, credentials:manage, scim and admin.",
                        text.chars().take(40).collect::<String>()
                    ),
                )
            })
    }

    /// The error for a caller that lacks this scope; its code names the scope.
    pub fn missing(self) -> Error {
        let code = match self {
            Scope::UsersRead => Code::MissingScopeUsersRead,
            Scope::UsersWrite => Code::MissingScopeUsersWrite,
            Scope::AuditRead => Code::MissingScopeAuditRead,
            Scope::CredentialsManage => Code::MissingScopeCredentialsManage,
            Scope::Scim => Code::MissingScopeScim,
            Scope::Admin => Code::MissingScopeAdmin,
        };
        Error::new(
            code,
            format!("This credential lacks the '{}' scope.", self.as_str()),
        )
    }
}

/// Parse a list of scope names, sorted and without repeats; empty lists are refused.
pub fn parse_all<S: AsRef<str>>(names: &[S]) -> Result<Vec<Scope>> {
    let mut scopes = names
        .iter()
        .map(|n| Scope::parse(n.as_ref()))
        .collect::<Result<Vec<_>>>()?;
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(Error::field(
            Code::UnknownScope,
            "scopes",
            "A credential needs at least one scope.",
        ));
    }
    Ok(scopes)
}

/// Whether holding `held` allows what `needed` guards. `admin` allows everything and
/// `users:write` includes `users:read`.
pub fn grants(held: &[Scope], needed: Scope) -> bool {
    held.contains(&Scope::Admin)
        || held.contains(&needed)
        || (needed == Scope::UsersRead && held.contains(&Scope::UsersWrite))
}

/// Check that a caller holding `held` may hand out `wanted` (no one grants more than they
/// have).
pub fn check_delegation(held: &[Scope], wanted: &[Scope]) -> Result<()> {
    match wanted.iter().find(|w| !grants(held, **w)) {
        None => Ok(()),
        Some(w) => Err(Error::field(
            Code::ScopeNotDelegable,
            "scopes",
            format!(
                "A credential cannot grant the '{}' scope it does not hold itself.",
                w.as_str()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_parse() {
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()).unwrap(), scope);
            assert_eq!(Scope::parse(scope.token_name()).unwrap(), scope);
        }
        assert_eq!(
            Scope::parse("users:delete").unwrap_err().code,
            Code::UnknownScope
        );
        assert_eq!(
            parse_all(&["users:write", "appuser:write", "admin"]).unwrap(),
            vec![Scope::UsersWrite, Scope::Admin]
        );
        assert!(parse_all::<&str>(&[]).is_err());
    }

    #[test]
    fn admin_grants_all_and_write_grants_read() {
        for scope in Scope::ALL {
            assert!(grants(&[Scope::Admin], scope));
        }
        assert!(grants(&[Scope::UsersWrite], Scope::UsersRead));
        assert!(!grants(&[Scope::UsersRead], Scope::UsersWrite));
        assert!(!grants(&[Scope::CredentialsManage], Scope::AuditRead));
    }

    #[test]
    fn missing_scope_codes_name_the_scope() {
        for scope in Scope::ALL {
            let code = scope.missing().code.as_str();
            assert!(code.ends_with(&scope.as_str().replace(':', "_")), "{code}");
        }
    }

    #[test]
    fn delegation_never_escalates() {
        assert!(check_delegation(&[Scope::Admin], &[Scope::Admin]).is_ok());
        assert!(check_delegation(
            &[Scope::CredentialsManage, Scope::UsersWrite],
            &[Scope::UsersRead]
        )
        .is_ok());
        let err = check_delegation(&[Scope::CredentialsManage], &[Scope::Admin]).unwrap_err();
        assert_eq!(err.code, Code::ScopeNotDelegable);
    }
}
