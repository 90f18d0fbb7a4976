//! API clients (seed 000): a `client_id` and a `client_secret`, exchanged at
//! `POST /v1/admin/token` for a signed client token. The admin API is off for a client until
//! enabled. Only a SHA-256 of the secret is kept (the secret is 256 random bits).

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::keys::{hash_secret, validate_credential_name, validate_rate_limit};
use crate::scopes::{self, Scope};
use crate::Random;

/// A stored API client (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiClient {
    /// 40 lowercase hex characters, as seed 000 shows client ids.
    pub client_id: String,
    pub workspace_key: i64,
    pub name: String,
    pub secret_hash: [u8; 32],
    pub scopes: Vec<Scope>,
    /// Off by default (seed 000: "Admin API is disabled by default").
    pub admin_api_enabled: bool,
    pub rate_limit_per_minute: Option<u32>,
    pub created_at: DateTime<Utc>,
}

/// A client just made, with its secret: the only time the secret exists outside the caller.
#[derive(Debug, Clone)]
pub struct IssuedClient {
    pub client: ApiClient,
    pub secret: String,
}

/// What a caller asks for when making a client. Scopes default to seed 000's
/// `appuser:read` and `appuser:write`.
#[derive(Debug, Clone, Default)]
pub struct ClientRequest {
    pub name: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub admin_api_enabled: bool,
    pub rate_limit_per_minute: Option<u32>,
}

/// A change to a client.
#[derive(Debug, Clone, Default)]
pub struct ClientPatch {
    pub name: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub admin_api_enabled: Option<bool>,
    pub rate_limit_per_minute: Option<Option<u32>>,
}

pub(crate) fn default_scopes() -> Vec<Scope> {
    vec![Scope::UsersRead, Scope::UsersWrite]
}

pub(crate) fn new_client(
    request: ClientRequest,
    workspace_key: i64,
    now: DateTime<Utc>,
    random: &dyn Random,
) -> Result<IssuedClient> {
    let scopes = match request.scopes {
        Some(names) => scopes::parse_all(&names)?,
        None => default_scopes(),
    };
    let client = ApiClient {
        client_id: hex(random, 20),
        workspace_key,
        name: validate_credential_name(request.name.as_deref())?,
        secret_hash: [0; 32],
        scopes,
        admin_api_enabled: request.admin_api_enabled,
        rate_limit_per_minute: validate_rate_limit(request.rate_limit_per_minute)?,
        created_at: now,
    };
    let secret = hex(random, 32);
    Ok(IssuedClient {
        client: ApiClient {
            secret_hash: hash_secret(&secret),
            ..client
        },
        secret,
    })
}

impl ClientPatch {
    pub(crate) fn apply(&self, client: &mut ApiClient) -> Result<()> {
        if let Some(name) = &self.name {
            client.name = validate_credential_name(Some(name))?;
        }
        if let Some(names) = &self.scopes {
            client.scopes = scopes::parse_all(names)?;
        }
        if let Some(enabled) = self.admin_api_enabled {
            client.admin_api_enabled = enabled;
        }
        if let Some(limit) = self.rate_limit_per_minute {
            client.rate_limit_per_minute = validate_rate_limit(limit)?;
        }
        Ok(())
    }
}

/// True when `id` has the shape of a client id.
pub fn is_client_id(id: &str) -> bool {
    id.len() == 40
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn hex(random: &dyn Random, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    random.fill(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededRandom;

    #[test]
    fn clients_get_seed_shaped_ids_and_default_scopes() {
        let issued = new_client(
            ClientRequest::default(),
            1,
            Utc::now(),
            &SeededRandom::new(1),
        )
        .unwrap();
        assert!(is_client_id(&issued.client.client_id));
        assert_eq!(issued.secret.len(), 64);
        assert_eq!(issued.client.secret_hash, hash_secret(&issued.secret));
        assert!(!issued.client.admin_api_enabled);
        assert_eq!(issued.client.scopes, default_scopes());
        assert!(!is_client_id("ABC"));
    }
}
