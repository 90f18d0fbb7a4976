//! The authenticated caller of a request, whatever the credential.

use crate::audit::Actor;
use crate::error::{Code, Error, Result};
use crate::scopes::{self, Scope};
use crate::workspace::Workspace;

/// Which credential authenticated the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    SecretKey {
        key_id: String,
    },
    /// A client token (seed 000), signed for this client.
    ApiClient {
        client_id: String,
    },
}

/// A caller: its credential, the one workspace the credential is bound to, what it may do,
/// and its request budget.
#[derive(Debug, Clone)]
pub struct Principal {
    pub credential: Credential,
    pub workspace: Workspace,
    pub scopes: Vec<Scope>,
    pub rate_limit_per_minute: u32,
}

impl Principal {
    /// A stable id of the credential, for rate limits and logs.
    pub fn credential_id(&self) -> &str {
        match &self.credential {
            Credential::SecretKey { key_id } => key_id,
            Credential::ApiClient { client_id } => client_id,
        }
    }

    pub fn actor(&self) -> Actor {
        match &self.credential {
            Credential::SecretKey { key_id } => Actor::ApiKey {
                key_id: key_id.clone(),
            },
            Credential::ApiClient { client_id } => Actor::ApiClient {
                client_id: client_id.clone(),
            },
        }
    }

    /// Fail with the scope's own `missing_scope_…` code unless the caller holds it.
    pub fn require(&self, scope: Scope) -> Result<()> {
        if scopes::grants(&self.scopes, scope) {
            Ok(())
        } else {
            Err(scope.missing())
        }
    }

    /// Workspaces are managed by `admin` credentials of the operator workspace only.
    pub fn require_operator(&self) -> Result<()> {
        self.require(Scope::Admin)?;
        if self.workspace.is_operator {
            Ok(())
        } else {
            Err(Error::new(
                Code::OperatorWorkspaceRequired,
                "Only admin credentials of the operator workspace may manage workspaces.",
            ))
        }
    }
}
