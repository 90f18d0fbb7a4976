//! The console's rules: who may use it (an active user with the workspace's `admin` role,
//! signed in with its password), its one-time setup links, and which workspaces a signed-in
//! admin may act in (its own; any, for an admin of the operator workspace).
//!
//! A setup link (`/console/setup?token=cst_…`) lets whoever holds it create one console
//! admin in the link's workspace, once, within 24 hours. The first start of an empty
//! installation issues one; `roster console setup-link` issues another. Only the token's
//! SHA-256 is stored, and using it is written in the new admin's own transaction, so two
//! uses of one link cannot both succeed.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::audit::{Action, AuditContext};
use crate::error::{Code, Error, Result};
use crate::listing::{Page, UserFilter};
use crate::plan::UserSideEffects;
use crate::query::QueryRequest;
use crate::roster::Roster;
use crate::signin::{IssuedSession, SignIn, SignedIn};
use crate::user::{NewUser, User};
use crate::workspace::Workspace;

/// The role a console user must have.
pub const CONSOLE_ROLE: &str = "admin";
/// What a console admin holds when it grants or revokes a key or a client: the console's
/// role is the `admin` scope.
pub const CONSOLE_GRANTS: &[crate::scopes::Scope] = &[crate::scopes::Scope::Admin];
/// How long a setup link stays usable.
pub const SETUP_LINK_HOURS: i64 = 24;
const TOKEN_PREFIX: &str = "cst_";
const TOKEN_BYTES: usize = 32;
const MAX_TOKEN_LEN: usize = 100;

pub use crate::store::SetupToken;

/// A new setup link's token (shown once) and when it stops working.
#[derive(Debug, Clone)]
pub struct SetupLink {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub workspace: Workspace,
}

/// The first admin a setup link creates.
#[derive(Debug, Clone, Default)]
pub struct SetupAdmin {
    pub name: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
}

/// Past this many matches a filtered count says "more than".
pub const COUNT_CAP: u32 = 500;

/// How many users match a filter: exactly, or at least `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserCount {
    pub count: u64,
    pub exact: bool,
}

/// A signed-in console user: its session, itself, and its own workspace.
pub type ConsoleAdmin = SignedIn;

/// The stored hash of a presented setup token, if it has a token's shape.
pub fn setup_token_hash(token: &str) -> Option<[u8; 32]> {
    let token = token.trim();
    (token.starts_with(TOKEN_PREFIX)
        && token.len() > TOKEN_PREFIX.len()
        && token.len() <= MAX_TOKEN_LEN
        && token[TOKEN_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then(|| Sha256::digest(token.as_bytes()).into())
}

fn link_error(code: Code) -> Error {
    let message = match code {
        Code::SetupLinkUsed => "This setup link was used already; ask the operator for a new one (roster console setup-link).",
        Code::SetupLinkExpired => "This setup link has expired; ask the operator for a new one (roster console setup-link).",
        _ => "This setup link is not valid; check that it was copied whole.",
    };
    Error::new(code, message)
}

fn not_console_user() -> Error {
    Error::new(
        Code::ConsoleForbidden,
        "Only active users with the admin role may use the console.",
    )
}

impl Roster {
    /// A new one-time setup link for `workspace`'s console (`console.setup_link` event).
    pub async fn issue_console_setup_link(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
    ) -> Result<SetupLink> {
        let mut bytes = [0u8; TOKEN_BYTES];
        self.random.fill(&mut bytes);
        use base64::Engine;
        let token = format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        );
        let now = self.clock.now();
        let stored = SetupToken {
            workspace_key: workspace.key,
            token_hash: Sha256::digest(token.as_bytes()).into(),
            created_at: now,
            expires_at: now + Duration::hours(SETUP_LINK_HOURS),
            used_at: None,
        };
        let event = self.event(
            ctx,
            Action::ConsoleSetupLink,
            None,
            json!({"setup_link": {"before": null, "after": {"expires_at": stored.expires_at}}}),
        );
        self.store.insert_setup_token(&stored, &event).await?;
        Ok(SetupLink {
            token,
            expires_at: stored.expires_at,
            workspace: workspace.clone(),
        })
    }

    /// The workspace a live setup token belongs to; a used, expired or unknown token is
    /// refused with its own code.
    pub async fn console_setup_workspace(&self, token: &str) -> Result<Workspace> {
        let hash = setup_token_hash(token).ok_or_else(|| link_error(Code::SetupLinkInvalid))?;
        let (stored, workspace_id) = self
            .store
            .find_setup_token(&hash)
            .await?
            .ok_or_else(|| link_error(Code::SetupLinkInvalid))?;
        if stored.used_at.is_some() {
            return Err(link_error(Code::SetupLinkUsed));
        }
        if stored.expires_at <= self.clock.now() {
            return Err(link_error(Code::SetupLinkExpired));
        }
        self.find_workspace(&workspace_id).await
    }

    /// Use a setup link: create an active admin with a password in the link's workspace,
    /// and mark the link used in the same transaction.
    pub async fn set_up_console(
        &self,
        ctx: &AuditContext,
        token: &str,
        admin: SetupAdmin,
    ) -> Result<(Workspace, User)> {
        let (this, token, ctx) = (self.clone(), token.to_owned(), ctx.clone());
        Self::to_the_end(async move {
            let guarded = this.guard_by_address("console_setup", ctx.ip.as_deref(), async {
                this.console_setup_workspace(&token).await
            });
            let workspace = guarded.await?;
            if !workspace.has_role(CONSOLE_ROLE) {
                return Err(Error::new(
                    Code::UnknownRole,
                    "This workspace has no admin role, so it cannot have console users.",
                ));
            }
            let hash =
                setup_token_hash(&token).ok_or_else(|| link_error(Code::SetupLinkInvalid))?;
            let input = NewUser {
                name: admin.name,
                email: admin.email,
                role: Some(CONSOLE_ROLE.to_owned()),
                send_invitation: Some(false),
                password: Some(admin.password.unwrap_or_default()),
                ..NewUser::default()
            };
            let effects = UserSideEffects {
                claim_setup_token: Some(hash),
                ..UserSideEffects::default()
            };
            match this
                .create_user_with(&workspace, &ctx, input, effects)
                .await
            {
                Ok(user) => Ok((workspace, user)),
                Err(err) if err.code == Code::ConcurrentUpdate => {
                    Err(link_error(Code::SetupLinkUsed))
                }
                Err(err) => Err(err),
            }
        })
        .await
    }

    /// Sign a console user in: [`Roster::sign_in`] that refuses users without the admin role.
    pub async fn console_sign_in(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        email: Option<String>,
        password: Option<String>,
    ) -> Result<IssuedSession> {
        let input = SignIn {
            email,
            password,
            role: Some(CONSOLE_ROLE.to_owned()),
            ..SignIn::default()
        };
        self.sign_in(workspace, ctx, input).await
    }

    /// The console user a session token stands for, if it still may use the console (a
    /// live session of an active user who still has the admin role).
    pub async fn console_admin(&self, token: &str) -> Result<ConsoleAdmin> {
        let signed_in = self.introspect(token).await?;
        if signed_in.user.role != CONSOLE_ROLE || !signed_in.workspace.has_role(CONSOLE_ROLE) {
            return Err(not_console_user());
        }
        Ok(signed_in)
    }

    /// The workspace a console user acts in: its own when `chosen` is none or names it;
    /// another only for an admin of the operator workspace (anyone else is told there is no
    /// such workspace).
    pub async fn console_workspace(
        &self,
        admin: &ConsoleAdmin,
        chosen: Option<&str>,
    ) -> Result<Workspace> {
        let home = &admin.workspace;
        match chosen.map(str::trim).filter(|c| !c.is_empty()) {
            None => Ok(home.clone()),
            Some(id) if id == home.id || id == home.name => Ok(home.clone()),
            Some(id) if home.is_operator => self.find_workspace(id).await,
            Some(_) => Err(Error::new(
                Code::WorkspaceNotFound,
                "No such workspace (or not yours).",
            )),
        }
    }

    /// How many users match `filter`, cheaply at any size: the exact number of live users
    /// when nothing filters them (kept by the store, not counted); else counted up to
    /// [`COUNT_CAP`], past which it is "more than" (not exact).
    pub async fn console_user_count(
        &self,
        workspace: &Workspace,
        filter: &UserFilter,
    ) -> Result<UserCount> {
        let given = |text: &Option<String>| text.as_deref().is_some_and(|t| !t.trim().is_empty());
        let filtered = given(&filter.role)
            || given(&filter.status)
            || given(&filter.search)
            || given(&filter.email)
            || given(&filter.group)
            || filter.include_deleted;
        if !filtered {
            let request = QueryRequest {
                limit: 0,
                ..QueryRequest::default()
            };
            let total = self.query_users(workspace, request).await?.total;
            return Ok(UserCount {
                count: total,
                exact: true,
            });
        }
        let mut request = self
            .user_list_request(workspace, filter, &Page::default())
            .await?;
        request.limit = COUNT_CAP + 1;
        let found = self.store.count_users_upto(&request).await?;
        Ok(UserCount {
            count: found.min(u64::from(COUNT_CAP)),
            exact: found <= u64::from(COUNT_CAP),
        })
    }

    /// The workspaces a console user may switch between.
    pub async fn console_workspaces(&self, admin: &ConsoleAdmin) -> Result<Vec<Workspace>> {
        if admin.workspace.is_operator {
            self.list_workspaces().await
        } else {
            Ok(vec![admin.workspace.clone()])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_token_shaped_text_has_a_hash() {
        assert!(setup_token_hash("cst_abcDEF-_123").is_some());
        assert!(setup_token_hash(" cst_abc ").is_some());
        for bad in ["", "cst_", "ses_abc", "cst_a b", "cst_a/b"] {
            assert_eq!(setup_token_hash(bad), None, "{bad}");
        }
        assert_eq!(setup_token_hash(&format!("cst_{}", "a".repeat(100))), None);
    }
}
