//! What a node keeps in memory about credentials (caches of keys, clients and verified
//! tokens, and the signing keys as last read), and the access layer's settings. The
//! operations that fill and use them are in `access`.

use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;

use crate::clients::ApiClient;
use crate::keys::ApiKey;
use crate::ratelimit::DEFAULT_PER_MINUTE;
use crate::signing::{ClientClaims, KeyRing};
use crate::workspace::Workspace;

/// Settings of the access layer.
#[derive(Debug, Clone)]
pub struct Config {
    /// `iss` of client tokens.
    pub token_issuer: String,
    /// `aud` of client tokens.
    pub token_audience: String,
    /// Seed 000: `expires_in` 86400.
    pub token_lifetime: Duration,
    /// How long a node trusts a cached key or client before re-reading it: the bound on how
    /// late a revocation on another node takes effect here.
    pub auth_cache_ttl: StdDuration,
    /// Requests per minute per credential unless the credential or its workspace says
    /// otherwise (seed 002: 1,000).
    pub default_rate_limit_per_minute: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            token_issuer: "roster".to_owned(),
            token_audience: "roster-admin".to_owned(),
            token_lifetime: Duration::seconds(86_400),
            auth_cache_ttl: StdDuration::from_secs(10),
            default_rate_limit_per_minute: DEFAULT_PER_MINUTE,
        }
    }
}

pub(crate) struct CachedKey {
    pub(crate) key: ApiKey,
    pub(crate) workspace: Workspace,
    /// Unix seconds of the last `last_used_at` write from this node.
    pub(crate) touched: AtomicI64,
}

/// Per-node caches of credentials, keyed by what a request presents.
#[derive(Clone)]
pub(crate) struct AuthCaches {
    pub(crate) keys: moka::sync::Cache<[u8; 32], Arc<CachedKey>>,
    pub(crate) clients: moka::sync::Cache<String, Arc<(ApiClient, Workspace)>>,
    /// Tokens whose signature, issuer and audience checked out, by SHA-256 of the token: a
    /// client reuses one token for a day, and an RS256 verification costs far more than a
    /// hash. Expiry is checked on every use; the client is looked up (cached) on every use.
    pub(crate) tokens: moka::sync::Cache<[u8; 32], Arc<ClientClaims>>,
}

impl AuthCaches {
    pub(crate) fn new(ttl: StdDuration) -> Self {
        Self {
            keys: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ttl)
                .build(),
            clients: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ttl)
                .build(),
            tokens: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(StdDuration::from_secs(3_600))
                .build(),
        }
    }
}

impl AuthCaches {
    /// Drop every cached credential, so the next request of each reads its workspace
    /// afresh (after a workspace setting changed on this node).
    pub(crate) fn forget_workspaces(&self) {
        self.keys.invalidate_all();
        self.clients.invalidate_all();
    }
}

/// The signing keys as last read, and when.
#[derive(Clone)]
pub(crate) struct LoadedKeyRing {
    pub(crate) ring: Arc<KeyRing>,
    pub(crate) loaded: Instant,
}
