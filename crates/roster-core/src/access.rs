//! Who may call, and how much: authentication of secret keys and client tokens, the
//! management of keys, clients and signing keys, client-token issuance and rate limits.
//!
//! Verifying a credential is a hash (keys) or a signature check (tokens) plus a lookup in a
//! per-node cache. A revoked key or client stops working at once on the node that revoked
//! it and, on other nodes, once their cache entry expires: within [`Config::auth_cache_ttl`]
//! (10 seconds by default).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use subtle::ConstantTimeEq;

use crate::audit::{self, Action, AuditContext};
use crate::audit::{access_key_changes, client_fields, created, fields_of, revocation};
use crate::auth_cache::{CachedKey, LoadedKeyRing};
use crate::clients::{self, ApiClient, ClientPatch, ClientRequest, IssuedClient};
use crate::error::{Code, Error, Result};
use crate::keys::{self, ApiKey, IssuedKey, KeyRequest};
use crate::principal::{Credential, Principal};
use crate::ratelimit::RateDecision;
use crate::roster::Roster;
use crate::scopes::{self, Scope};
use crate::signing::{ClientClaims, Jwk, KeyRing, SigningKey, CLOCK_SKEW};
use crate::workspace::Workspace;
use crate::{ids, keys::hash_secret};

/// How often `last_used_at` is written for a key that keeps being used.
const TOUCH_EVERY_SECONDS: i64 = 60;
/// Keys are re-read from the store this often, so rotations by other nodes are seen.
const KEYRING_MAX_AGE: StdDuration = StdDuration::from_secs(60);
/// A token with an unknown `kid` makes the node re-read keys at most this often.
const KEYRING_RELOAD_THROTTLE: StdDuration = StdDuration::from_secs(5);

/// What `POST /v1/admin/token` receives.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// Must be `client` (seed 000: "always client").
    pub kind: Option<String>,
    /// The caller's address: wrong secrets from it back off as failed sign-ins do.
    pub ip: Option<String>,
}

/// A signed client token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub expires_in: i64,
}

/// A key or a client, by id: what [`Roster::keep_an_admin`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held<'a> {
    Key(&'a str),
    Client(&'a str),
}

fn invalid_key() -> Error {
    Error::new(
        Code::InvalidApiKey,
        "The provided API key is invalid or has been revoked.",
    )
}

fn client_not_found() -> Error {
    Error::new(
        Code::ApiClientNotFound,
        "No API client with this id exists.",
    )
}

impl Roster {
    /// The caller presenting `credential`: a secret key (`sk_live_…`) or a client token.
    pub async fn authenticate(&self, credential: &str) -> Result<Principal> {
        if credential.starts_with(keys::SECRET_PREFIX) {
            self.authenticate_key(credential).await
        } else if credential.split('.').count() == 3 {
            self.authenticate_token(credential).await
        } else {
            Err(invalid_key())
        }
    }

    async fn authenticate_key(&self, secret: &str) -> Result<Principal> {
        if secret.len() > 256 {
            return Err(invalid_key());
        }
        let hash = hash_secret(secret);
        let cached = match self.caches.keys.get(&hash) {
            Some(cached) => cached,
            None => {
                let (key, workspace) = self
                    .store
                    .find_api_key(&hash)
                    .await?
                    .ok_or_else(invalid_key)?;
                let touched = key.last_used_at.map_or(0, |at| at.timestamp());
                let cached = Arc::new(CachedKey {
                    key,
                    workspace,
                    touched: AtomicI64::new(touched),
                });
                self.caches.keys.insert(hash, cached.clone());
                cached
            }
        };
        let now = self.clock.now();
        if cached.key.is_expired(now) {
            return Err(invalid_key());
        }
        let last = cached.touched.load(Ordering::Relaxed);
        if now.timestamp() - last >= TOUCH_EVERY_SECONDS
            && cached
                .touched
                .compare_exchange(last, now.timestamp(), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            // Bookkeeping must not fail the request it is about.
            if let Err(err) = self.store.touch_api_key(&cached.key.id, now).await {
                tracing::warn!(key = cached.key.id, error = %err, "cannot record key use");
            }
        }
        Ok(Principal {
            credential: Credential::SecretKey {
                key_id: cached.key.id.clone(),
            },
            rate_limit_per_minute: self
                .effective_limit(cached.key.rate_limit_per_minute, &cached.workspace),
            scopes: cached.key.scopes.clone(),
            workspace: cached.workspace.clone(),
        })
    }

    async fn authenticate_token(&self, token: &str) -> Result<Principal> {
        let claims = self.verify_token(token).await?;
        let found = self.live_client(&claims.cid).await?.ok_or_else(|| {
            Error::new(
                Code::InvalidToken,
                "The client token's client has been revoked.",
            )
        })?;
        let (client, workspace) = (&found.0, &found.1);
        if !client.admin_api_enabled {
            return Err(admin_api_disabled());
        }
        // What the token was granted, as far as the client still holds it.
        let scopes = claims
            .scp
            .iter()
            .filter_map(|name| Scope::parse(name).ok())
            .filter(|s| scopes::grants(&client.scopes, *s))
            .collect();
        Ok(Principal {
            credential: Credential::ApiClient {
                client_id: client.client_id.clone(),
            },
            rate_limit_per_minute: self.effective_limit(client.rate_limit_per_minute, workspace),
            scopes,
            workspace: workspace.clone(),
        })
    }

    async fn verify_token(&self, token: &str) -> Result<Arc<ClientClaims>> {
        let now = self.clock.now();
        let hash = hash_secret(token);
        if let Some(claims) = self.caches.tokens.get(&hash) {
            KeyRing::check_times(&claims, now)?;
            return Ok(claims);
        }
        let (issuer, audience) = (&self.config.token_issuer, &self.config.token_audience);
        let loaded = self.keyring(false).await?;
        let kid = jsonwebtoken::decode_header(token).ok().and_then(|h| h.kid);
        let ring = match kid {
            // Another node may have rotated: look again, but not on every bad token.
            Some(kid)
                if !loaded.ring.knows(&kid)
                    && loaded.loaded.elapsed() >= KEYRING_RELOAD_THROTTLE =>
            {
                self.keyring(true).await?.ring
            }
            _ => loaded.ring,
        };
        let claims = Arc::new(ring.verify(token, issuer, audience, now)?);
        self.caches.tokens.insert(hash, claims.clone());
        Ok(claims)
    }

    async fn live_client(&self, client_id: &str) -> Result<Option<Arc<(ApiClient, Workspace)>>> {
        if let Some(found) = self.caches.clients.get(client_id) {
            return Ok(Some(found));
        }
        match self.store.find_api_client(client_id).await? {
            Some(found) => {
                let found = Arc::new(found);
                self.caches
                    .clients
                    .insert(client_id.to_owned(), found.clone());
                Ok(Some(found))
            }
            None => Ok(None),
        }
    }

    fn effective_limit(&self, own: Option<u32>, workspace: &Workspace) -> u32 {
        own.or(workspace.rate_limit_per_minute)
            .unwrap_or(self.config.default_rate_limit_per_minute)
    }

    /// Take one request from the caller's budget.
    pub async fn admit(&self, principal: &Principal) -> RateDecision {
        self.limiter
            .check(principal.credential_id(), principal.rate_limit_per_minute)
            .await
    }

    // ---- secret keys ----------------------------------------------------------------

    /// Make a key for `workspace`; its secret is returned once. `granter` is what the maker
    /// holds: nobody hands out a scope they lack.
    pub async fn create_api_key(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        request: KeyRequest,
        granter: &[Scope],
    ) -> Result<IssuedKey> {
        let now = self.clock.now();
        let spec = request.validate(now)?;
        scopes::check_delegation(granter, &spec.scopes)?;
        let secret = keys::new_secret(self.random.as_ref());
        let key = keys::key_for_secret(&secret, workspace.key, spec, now, self.random.as_ref());
        let event = self.event(ctx, Action::ApiKeyCreate, None, access_key_changes(&key));
        self.store.insert_api_key(&key, &event).await?;
        Ok(IssuedKey { key, secret })
    }

    pub async fn list_api_keys(&self, workspace: &Workspace) -> Result<Vec<ApiKey>> {
        Ok(self.store.list_api_keys(workspace.key).await?)
    }

    /// Revoke a key: at once on this node, within the cache TTL on others. `granter` is
    /// what the revoker holds: nobody revokes a key wider than themselves, and the last
    /// admin credential of the operator workspace is never revoked.
    pub async fn revoke_api_key(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        id: &str,
        granter: &[Scope],
    ) -> Result<()> {
        let not_found = || Error::new(Code::ApiKeyNotFound, "No API key with this id exists.");
        if !ids::is_well_formed("key", id) {
            return Err(not_found());
        }
        let now = self.clock.now();
        let keys = self.store.list_api_keys(workspace.key).await?;
        let key = keys.iter().find(|k| k.id == id).ok_or_else(not_found)?;
        scopes::check_delegation(granter, &key.scopes)?;
        self.keep_an_admin(workspace, Held::Key(id), &keys, now)
            .await?;
        let event = self.event(ctx, Action::ApiKeyRevoke, None, revocation(id, now));
        let revoked = self
            .store
            .revoke_api_key(workspace.key, id, now, &event)
            .await?
            .ok_or_else(not_found)?;
        self.caches.keys.invalidate(&revoked.secret_hash);
        Ok(())
    }

    /// Refuse to take away `leaving` when it is the operator workspace's last live admin
    /// credential (a key with `admin`, or a client with `admin` and the admin API on): with
    /// none left, only the database's shell could make another.
    async fn keep_an_admin(
        &self,
        workspace: &Workspace,
        leaving: Held<'_>,
        keys: &[ApiKey],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        if !workspace.is_operator {
            return Ok(());
        }
        let clients = self.store.list_api_clients(workspace.key).await?;
        let admin_keys = keys
            .iter()
            .filter(|k| k.scopes.contains(&Scope::Admin) && !k.is_expired(now))
            .map(|k| Held::Key(&k.id));
        let admin_clients = clients
            .iter()
            .filter(|c| c.scopes.contains(&Scope::Admin) && c.admin_api_enabled)
            .map(|c| Held::Client(&c.client_id));
        let admins: Vec<Held<'_>> = admin_keys.chain(admin_clients).collect();
        if admins.contains(&leaving) && admins.len() == 1 {
            return Err(Error::new(
                Code::LastAdminCredential,
                "This is the operator workspace's last admin credential; create another admin key or client first.",
            ));
        }
        Ok(())
    }

    // ---- API clients ----------------------------------------------------------------

    pub async fn create_api_client(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        request: ClientRequest,
        granter: &[Scope],
    ) -> Result<IssuedClient> {
        let issued = clients::new_client(
            request,
            workspace.key,
            self.clock.now(),
            self.random.as_ref(),
        )?;
        scopes::check_delegation(granter, &issued.client.scopes)?;
        let event = self.event(
            ctx,
            Action::ApiClientCreate,
            None,
            created(client_fields(&issued.client)),
        );
        self.store.insert_api_client(&issued.client, &event).await?;
        Ok(issued)
    }

    pub async fn list_api_clients(&self, workspace: &Workspace) -> Result<Vec<ApiClient>> {
        Ok(self.store.list_api_clients(workspace.key).await?)
    }

    pub async fn get_api_client(
        &self,
        workspace: &Workspace,
        client_id: &str,
    ) -> Result<ApiClient> {
        if !clients::is_client_id(client_id) {
            return Err(client_not_found());
        }
        match self.store.find_api_client(client_id).await? {
            Some((client, _)) if client.workspace_key == workspace.key => Ok(client),
            _ => Err(client_not_found()),
        }
    }

    /// Change a client. `granter` is what the caller holds: nobody changes a client wider
    /// than themselves, nor makes it wider, and the operator workspace keeps an admin.
    pub async fn update_api_client(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        client_id: &str,
        patch: &ClientPatch,
        granter: &[Scope],
    ) -> Result<ApiClient> {
        let before = self.get_api_client(workspace, client_id).await?;
        scopes::check_delegation(granter, &before.scopes)?;
        let mut client = before.clone();
        patch.apply(&mut client)?;
        scopes::check_delegation(granter, &client.scopes)?;
        let stays_admin = client.scopes.contains(&Scope::Admin) && client.admin_api_enabled;
        if !stays_admin {
            let keys = self.store.list_api_keys(workspace.key).await?;
            self.keep_an_admin(workspace, Held::Client(client_id), &keys, self.clock.now())
                .await?;
        }
        let changes = audit::diff(
            &fields_of(client_fields(&before)),
            &fields_of(client_fields(&client)),
        );
        let event = self.event(ctx, Action::ApiClientUpdate, None, changes);
        if !self.store.update_api_client(&client, &event).await? {
            return Err(client_not_found());
        }
        self.caches.clients.invalidate(client_id);
        Ok(client)
    }

    /// Revoke a client, under the same rules as [`Roster::update_api_client`].
    pub async fn revoke_api_client(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        client_id: &str,
        granter: &[Scope],
    ) -> Result<()> {
        let client = self.get_api_client(workspace, client_id).await?;
        scopes::check_delegation(granter, &client.scopes)?;
        let now = self.clock.now();
        let keys = self.store.list_api_keys(workspace.key).await?;
        self.keep_an_admin(workspace, Held::Client(client_id), &keys, now)
            .await?;
        let event = self.event(
            ctx,
            Action::ApiClientRevoke,
            None,
            revocation(client_id, now),
        );
        if !self
            .store
            .revoke_api_client(workspace.key, client_id, now, &event)
            .await?
        {
            return Err(client_not_found());
        }
        self.caches.clients.invalidate(client_id);
        Ok(())
    }

    /// Exchange a client's id and secret for a signed client token (seed 000). Wrong
    /// secrets count against the caller's address, which then backs off as a failing
    /// sign-in does.
    pub async fn issue_client_token(&self, request: TokenRequest) -> Result<IssuedToken> {
        let ip = request.ip.clone();
        self.guard_by_address("token", ip.as_deref(), self.issue_client_token_now(request))
            .await
    }

    async fn issue_client_token_now(&self, request: TokenRequest) -> Result<IssuedToken> {
        let required = |value: Option<String>, field: &'static str| {
            value.filter(|v| !v.trim().is_empty()).ok_or_else(|| {
                Error::field(Code::FieldRequired, field, format!("{field} is required."))
            })
        };
        let client_id = required(request.client_id, "client_id")?;
        let secret = required(request.client_secret, "client_secret")?;
        let kind = required(request.kind, "type")?;
        if kind != "client" {
            return Err(Error::field(
                Code::InvalidTokenRequest,
                "type",
                "type must be \"client\".",
            ));
        }
        let wrong = || {
            Error::new(
                Code::InvalidClientCredentials,
                "The client_id or client_secret is wrong, or the client has been revoked.",
            )
        };
        let found = match clients::is_client_id(&client_id) {
            true => self.store.find_api_client(&client_id).await?,
            false => None,
        };
        // Hash and compare even for unknown clients, so timing does not tell them apart.
        let presented = hash_secret(&secret);
        let stored = found.as_ref().map_or([0u8; 32], |(c, _)| c.secret_hash);
        let matches: bool = presented.ct_eq(&stored).into();
        let (client, _) = found.filter(|_| matches).ok_or_else(wrong)?;
        if !client.admin_api_enabled {
            return Err(admin_api_disabled());
        }
        let now = self.clock.now();
        let lifetime = self.config.token_lifetime;
        let claims = ClientClaims {
            ver: 1,
            jti: ids::new_id("tok", self.random.as_ref()),
            iss: self.config.token_issuer.clone(),
            aud: self.config.token_audience.clone(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: (now + lifetime).timestamp(),
            cid: client.client_id.clone(),
            scp: client
                .scopes
                .iter()
                .map(|s| s.token_name().to_owned())
                .collect(),
            sub: client.client_id.clone(),
        };
        let ring = self.keyring(false).await?.ring;
        let ring = if ring.can_sign() {
            ring
        } else {
            self.ensure_signing_key().await?;
            self.keyring(true).await?.ring
        };
        Ok(IssuedToken {
            token: ring.sign(&claims)?,
            expires_in: lifetime.num_seconds(),
        })
    }

    // ---- signing keys ---------------------------------------------------------------

    /// The public keys that verify client tokens now.
    pub async fn jwks(&self) -> Result<Vec<Jwk>> {
        Ok(self.keyring(false).await?.ring.jwks().to_vec())
    }

    /// Make a signing key if none can sign (first start).
    pub async fn ensure_signing_key(&self) -> Result<()> {
        let keys = self.store.list_signing_keys().await?;
        if !KeyRing::new(&keys, self.clock.now())?.can_sign() {
            self.rotate_signing_key().await?;
        }
        Ok(())
    }

    /// Make a new signing key; older keys keep verifying for one token lifetime (plus the
    /// allowed clock skew), so no token in flight is cut short.
    pub async fn rotate_signing_key(&self) -> Result<SigningKey> {
        let now = self.clock.now();
        let key = SigningKey::generate(now)?;
        let retire_at = now + self.config.token_lifetime + CLOCK_SKEW;
        self.store.rotate_signing_key(&key, retire_at).await?;
        self.keyring(true).await?;
        Ok(key)
    }

    pub async fn list_signing_keys(&self) -> Result<Vec<SigningKey>> {
        Ok(self.store.list_signing_keys().await?)
    }

    async fn keyring(&self, reload: bool) -> Result<LoadedKeyRing> {
        if !reload {
            let current = self
                .keyring
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone();
            if let Some(loaded) = current.filter(|l| l.loaded.elapsed() < KEYRING_MAX_AGE) {
                return Ok(loaded);
            }
        }
        let keys = self.store.list_signing_keys().await?;
        let loaded = LoadedKeyRing {
            ring: Arc::new(KeyRing::new(&keys, self.clock.now())?),
            loaded: Instant::now(),
        };
        *self
            .keyring
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(loaded.clone());
        Ok(loaded)
    }

    // ---- workspaces -----------------------------------------------------------------

    /// Set a workspace's default rate limit (`None`: the server's default).
    pub async fn set_workspace_rate_limit(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        per_minute: Option<u32>,
    ) -> Result<Workspace> {
        let per_minute = keys::validate_rate_limit(per_minute)?;
        let changes = serde_json::json!({
            "rate_limit_per_minute": {"before": workspace.rate_limit_per_minute, "after": per_minute}
        });
        let event = self.event(ctx, Action::ConfigUpdate, None, changes);
        self.store
            .set_workspace_rate_limit(workspace.key, per_minute, &event)
            .await?;
        // Cached credentials carry their workspace's limit: read it afresh on this node.
        self.caches.forget_workspaces();
        Ok(Workspace {
            rate_limit_per_minute: per_minute,
            ..workspace.clone()
        })
    }
}

fn admin_api_disabled() -> Error {
    Error::new(
        Code::AdminApiDisabled,
        "The Admin API is not enabled for this client; enable it with `roster clients enable-admin-api` or PATCH /v1/api-clients/{client_id}.",
    )
}
