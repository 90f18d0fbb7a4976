//! The operations every surface calls. Each takes the caller's workspace, checks its input,
//! and goes through the store.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use crate::audit::{self, access_key_changes, workspace_changes, Action, AuditContext, NewEvent};
use crate::auth_cache::{AuthCaches, Config, LoadedKeyRing};
use crate::error::{Code, Error, Result};
use crate::ids;
use crate::keys::{self, ApiKey, IssuedKey, KeySpec};
use crate::listing::{Cursor, Page, UserFilter, UserListRequest};
use crate::password::Passwords;
use crate::plan::UserSideEffects;
use crate::ratelimit::{MemoryRateLimiter, RateLimiter};
use crate::scopes::Scope;
use crate::step::{Lookup, Step};
use crate::store::{Store, StoreError, UniqueKey, UserWrite};
use crate::user::{NewUser, User, UserPatch, UserStatus};
use crate::user_ref::UserRef;
use crate::workspace::{
    self, Workspace, DEFAULT_AUDIT_RETENTION_DAYS, DEFAULT_ROLES, DEFAULT_WORKSPACE,
};
use crate::{Clock, Random};

/// A key with every scope and no expiry or limit of its own.
pub(crate) fn admin_spec(name: &str) -> KeySpec {
    KeySpec {
        name: name.to_owned(),
        scopes: vec![Scope::Admin],
        expires_at: None,
        rate_limit_per_minute: None,
    }
}

/// One page of users and where the next starts.
#[derive(Debug, Clone)]
pub struct UserPage {
    pub users: Vec<User>,
    pub next_cursor: Option<Cursor>,
}

/// What the first start of an installation made.
#[derive(Debug, Clone)]
pub struct Bootstrapped {
    pub workspace: Workspace,
    pub key: IssuedKey,
}

/// The core: operations over a store, with an injected clock and source of randomness.
#[derive(Clone)]
pub struct Roster {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) random: Arc<dyn Random>,
    pub(crate) config: Arc<Config>,
    pub(crate) limiter: Arc<dyn RateLimiter>,
    pub(crate) caches: AuthCaches,
    pub(crate) keyring: Arc<RwLock<Option<LoadedKeyRing>>>,
    pub(crate) passwords: Passwords,
    pub(crate) throttle: crate::throttle::SignInThrottle,
    /// Set by failure-injection tests: every user write plans an [`UserWrite::Abort`] after
    /// its first primitive.
    abort_after_first_write: Arc<AtomicBool>,
}

impl Roster {
    /// A core with the default [`Config`] and per-node rate limits.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, random: Arc<dyn Random>) -> Self {
        let config = Config::default();
        Self {
            store,
            clock,
            random,
            caches: AuthCaches::new(config.auth_cache_ttl),
            config: Arc::new(config),
            limiter: Arc::new(MemoryRateLimiter::default()),
            keyring: Arc::new(RwLock::new(None)),
            passwords: Passwords::default(),
            throttle: crate::throttle::SignInThrottle::new(),
            abort_after_first_write: Arc::new(AtomicBool::new(false)),
        }
    }

    /// From now on, every user write of this core (and its clones) fails after its first
    /// planned primitive, so a test can show that nothing of it stays written.
    #[cfg(feature = "testing")]
    pub fn abort_user_writes_after_first_primitive(&self) {
        self.abort_after_first_write.store(true, Ordering::Relaxed);
    }

    /// The primitive writes of `effects`, in order (see [`crate::plan`]).
    pub(crate) fn plan(&self, effects: UserSideEffects) -> Vec<UserWrite> {
        let mut plan = effects.plan();
        if self.abort_after_first_write.load(Ordering::Relaxed) {
            plan.insert(plan.len().min(1), UserWrite::Abort);
        }
        plan
    }

    pub fn with_config(mut self, config: Config) -> Self {
        self.caches = AuthCaches::new(config.auth_cache_ttl);
        self.config = Arc::new(config);
        self
    }

    /// At most `concurrency` password hashes or verifications at once (default: the
    /// machine's cores).
    pub fn with_password_concurrency(mut self, concurrency: usize) -> Self {
        self.passwords = Passwords::new(concurrency);
        self
    }

    /// How many password verifications this core has performed (each failed or successful
    /// sign-in performs exactly one, against a decoy hash when there is no password).
    pub fn password_verifications(&self) -> u64 {
        self.passwords.verifications()
    }

    pub fn with_rate_limiter(mut self, limiter: Arc<dyn RateLimiter>) -> Self {
        self.limiter = limiter;
        self
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The current time, from the injected clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    pub(crate) fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// How many audit events the workspace keeps (since its retention checkpoint): what an
    /// export of its whole log will write.
    pub async fn audit_event_count(&self, workspace: &Workspace) -> Result<u64> {
        Ok(match self.store.audit_head(workspace.key).await? {
            Some(head) => u64::try_from(head.last_seq - head.checkpoint_seq).unwrap_or(0),
            None => 0,
        })
    }

    /// Check that the store answers.
    pub async fn ready(&self) -> Result<()> {
        Ok(self.store.ping().await?)
    }

    /// On an empty installation, create the `default` workspace and its first admin key
    /// (`supplied_secret` if given, else a random one). Returns `None` when the installation
    /// was already set up; safe to call from several nodes starting at once.
    pub async fn bootstrap(&self, supplied_secret: Option<&str>) -> Result<Option<Bootstrapped>> {
        if let Some(secret) = supplied_secret {
            keys::validate_supplied_secret(secret)?;
        }
        let workspace = Workspace {
            is_operator: true,
            ..self.new_workspace(DEFAULT_WORKSPACE.to_owned())
        };
        let secret = supplied_secret
            .map(str::to_owned)
            .unwrap_or_else(|| keys::new_secret(self.random.as_ref()));
        let key = keys::key_for_secret(
            &secret,
            0,
            admin_spec("bootstrap admin key"),
            self.clock.now(),
            self.random.as_ref(),
        );
        let ctx = AuditContext::system();
        let events = [
            self.event(
                &ctx,
                Action::WorkspaceCreate,
                None,
                workspace_changes(&workspace),
            ),
            self.event(&ctx, Action::ApiKeyCreate, None, access_key_changes(&key)),
        ];
        if !self.store.bootstrap(&workspace, &key, &events).await? {
            return Ok(None);
        }
        // The store assigned the workspace's key; read both back as stored.
        let workspace = self.find_workspace(&workspace.id).await?;
        let key = ApiKey {
            workspace_key: workspace.key,
            ..key
        };
        Ok(Some(Bootstrapped {
            workspace,
            key: IssuedKey { key, secret },
        }))
    }

    /// Create a workspace, with its own rate limit per credential if given: one insert, one
    /// `workspace.create` event.
    pub async fn create_workspace(
        &self,
        ctx: &AuditContext,
        name: &str,
        rate_limit_per_minute: Option<u32>,
    ) -> Result<Workspace> {
        let mut workspace = Workspace {
            rate_limit_per_minute: keys::validate_rate_limit(rate_limit_per_minute)?,
            ..self.new_workspace(workspace::validate_name(name)?)
        };
        let event = self.event(
            ctx,
            Action::WorkspaceCreate,
            None,
            workspace_changes(&workspace),
        );
        workspace.key = self.store.insert_workspace(&workspace, &event).await?;
        Ok(workspace)
    }

    pub async fn list_workspaces(&self) -> Result<Vec<Workspace>> {
        Ok(self.store.list_workspaces().await?)
    }

    /// A workspace by public id or name.
    pub async fn find_workspace(&self, id_or_name: &str) -> Result<Workspace> {
        self.store
            .find_workspace(id_or_name.trim())
            .await?
            .ok_or_else(|| {
                Error::new(
                    Code::WorkspaceNotFound,
                    format!("No workspace has the id or name '{}'.", id_or_name.trim()),
                )
            })
    }

    pub async fn create_user(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        input: NewUser,
    ) -> Result<User> {
        self.create_user_with(workspace, ctx, input, UserSideEffects::default())
            .await
    }

    /// [`Roster::create_user`], with `extra` written in the same transaction (a console
    /// setup link claimed).
    pub(crate) async fn create_user_with(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        mut input: NewUser,
        extra: UserSideEffects,
    ) -> Result<User> {
        let password = input.password.take();
        let grants = std::mem::take(&mut input.groups);
        let valid = input.validate(workspace)?;
        let join_groups = self.memberships(workspace, &grants).await?;
        let password_hash = self.hash_password(workspace, password.as_deref()).await?;
        let now = self.clock.now();
        let mut user = User {
            key: 0,
            id: ids::new_sortable_id("usr", now, self.random.as_ref()),
            uuid: ids::new_uuid_v7(now, self.random.as_ref()),
            workspace_key: workspace.key,
            external_id: valid.external_id,
            user_name: valid.user_name,
            email: valid.email,
            name: valid.name,
            given_name: valid.given_name,
            family_name: valid.family_name,
            role: valid.role,
            status: valid.status,
            attributes: valid.attributes,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            version: 1,
            sessions_limit: valid.sessions_limit,
            allow_authentication_token: valid.allow_authentication_token,
            has_authentication_token: false,
            current_sign_in_at: None,
            last_sign_in_at: None,
        };
        let mut changes = audit::user_changes(None, &user);
        if !grants.is_empty() {
            changes["groups"] = serde_json::json!({"before": null, "after": grants
                .iter()
                .map(|g| serde_json::json!({"group_id": g.group_id, "expires_at": g.expires_at}))
                .collect::<Vec<_>>()});
        }
        let event = self.event(ctx, Action::UserCreate, Some(user.id.clone()), changes);
        let mut effects = if user.status == UserStatus::Invited {
            self.invitation_effects(workspace, &user, valid.message.as_deref())
        } else {
            UserSideEffects::default()
        };
        effects.claim_setup_token = extra.claim_setup_token;
        effects.password_hash = password_hash;
        effects.join_groups = join_groups;
        match self
            .store
            .insert_user(&user, &event, &self.plan(effects))
            .await
        {
            Ok(key) => {
                user.key = key;
                Ok(user)
            }
            Err(err) => Err(self.explain_conflict(workspace, &user, err).await),
        }
    }

    /// The memberships `grants` ask for: each group the workspace's, each expiry in the
    /// future. The user's key is the store's to fill in.
    pub(crate) async fn memberships(
        &self,
        workspace: &Workspace,
        grants: &[crate::user::GroupGrant],
    ) -> Result<Vec<crate::group::Membership>> {
        let now = self.clock.now();
        let mut joined = Vec::with_capacity(grants.len());
        for grant in grants {
            crate::group::check_expiry("expires_at", grant.expires_at, now)?;
            let group = self.get_group(workspace, &grant.group_id).await?;
            joined.push(crate::group::Membership {
                group_key: group.key,
                user_key: 0,
                added_at: now,
                expires_at: grant.expires_at,
            });
        }
        Ok(joined)
    }

    /// A user that is not soft-deleted.
    pub async fn get_user(&self, workspace: &Workspace, id: &str) -> Result<User> {
        // Ids that cannot be a user's are answered without a store round trip.
        if !ids::is_well_formed("usr", id) {
            return Err(Error::user_not_found());
        }
        match self.store.get_user(workspace.key, id).await? {
            Some(user) if !user.is_deleted() => Ok(user),
            Some(_) => Err(Error::user_not_found()),
            // A purged id answers 410 `user_purged` on every read and write, as documented.
            None => Err(self.not_found_or_purged(workspace, id).await),
        }
    }

    pub async fn list_users(
        &self,
        workspace: &Workspace,
        filter: &UserFilter,
        page: &Page,
    ) -> Result<UserPage> {
        self.list_users_from(workspace, filter, page, 0).await
    }

    /// Page `number` (from 1) of `size` users matching `filter`, newest first, read in one
    /// query whatever the number (seed 004's `page=N`). `next_cursor` is set when a page
    /// follows.
    pub async fn list_users_numbered(
        &self,
        workspace: &Workspace,
        filter: &UserFilter,
        number: u32,
        size: u32,
    ) -> Result<UserPage> {
        let page = Page {
            limit: Some(size),
            cursor: None,
        };
        let offset = u64::from(number.saturating_sub(1)) * u64::from(size);
        self.list_users_from(workspace, filter, &page, offset).await
    }

    async fn list_users_from(
        &self,
        workspace: &Workspace,
        filter: &UserFilter,
        page: &Page,
        offset: u64,
    ) -> Result<UserPage> {
        let mut request = self.user_list_request(workspace, filter, page).await?;
        request.offset = offset;
        let mut users = self.store.list_users(&request).await?;
        let size = request.page_size();
        let next_cursor = if users.len() > size {
            users.truncate(size);
            users.last().map(|last| request.cursor_after(last.key))
        } else {
            None
        };
        Ok(UserPage { users, next_cursor })
    }

    /// The store's request for a list of `workspace`'s users under `filter` (its group
    /// found), one page of `page`.
    pub(crate) async fn user_list_request(
        &self,
        workspace: &Workspace,
        filter: &UserFilter,
        page: &Page,
    ) -> Result<crate::listing::UserListRequest> {
        let group_key = match filter.group.as_deref().map(str::trim) {
            Some(group) if !group.is_empty() => Some(
                self.get_group(workspace, group)
                    .await
                    .map_err(|err| match err.code {
                        Code::GroupNotFound => Error::field(
                            Code::UnknownGroup,
                            "group",
                            "No group of this workspace has this id.",
                        ),
                        _ => err,
                    })?
                    .key,
            ),
            _ => None,
        };
        UserListRequest::build(workspace, filter, page, group_key, self.clock.now())
    }

    /// The live user with this email (case-insensitive): one unique-index lookup.
    pub async fn find_user_by_email(
        &self,
        workspace: &Workspace,
        email: &str,
    ) -> Result<Option<User>> {
        let filter = UserFilter {
            email: Some(email.to_owned()),
            ..UserFilter::default()
        };
        let page = Page {
            limit: Some(1),
            cursor: None,
        };
        let found = self.list_users(workspace, &filter, &page).await?;
        Ok(found.users.into_iter().next())
    }

    /// Apply a partial update. Concurrent updates of the same user do not lose each other's
    /// fields: the write is conditional on the version read, and retried on a conflict.
    /// A status change out of `invited` revokes the pending invitation; a role change with
    /// `remove_groups` takes the user out of every group.
    pub async fn update_user(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        user: impl Into<UserRef<'_>>,
        patch: &UserPatch,
    ) -> Result<User> {
        let user = user.into();
        let groups_before = if patch.remove_groups {
            let user = self.find_user(workspace, user, Lookup::Live).await?;
            self.store
                .groups_of_users(workspace.key, &[user.key], self.clock.now())
                .await?
                .into_iter()
                .map(|(_, group, _)| group.id)
                .collect()
        } else {
            Vec::new()
        };
        // Everything the write needs is checked and prepared before it: the password hashed,
        // the groups found. The change is then one write of the user and all of it.
        let password_hash = self
            .hash_password(workspace, patch.password.as_deref())
            .await?;
        let join_groups = self.memberships(workspace, &patch.join_groups).await?;
        self.change_user(workspace, ctx, user, Lookup::Live, |user| {
            let before = user.clone();
            let fields_changed = patch.apply(workspace, user)?;
            if !fields_changed && password_hash.is_none() && join_groups.is_empty() {
                return Ok(Step::Unchanged);
            }
            let leave_groups = patch.remove_groups && before.role != user.role;
            let effects = UserSideEffects {
                leave_groups,
                password_hash: password_hash.clone(),
                join_groups: join_groups.clone(),
                ..update_effects(&before, user, password_hash.is_some())
            };
            let mut more_changes = Vec::new();
            if leave_groups {
                more_changes.push((
                    "groups",
                    serde_json::json!({"before": groups_before, "after": []}),
                ));
            }
            if !patch.join_groups.is_empty() {
                let joined: Vec<serde_json::Value> = patch
                    .join_groups
                    .iter()
                    .map(
                        |g| serde_json::json!({"group_id": g.group_id, "expires_at": g.expires_at}),
                    )
                    .collect();
                more_changes.push(("groups_joined", serde_json::json!(joined)));
            }
            if password_hash.is_some() {
                more_changes.push((
                    "password",
                    serde_json::json!({"before": "…", "after": "set"}),
                ));
            }
            Ok(Step::Changed {
                action: audit::user_update_action(&before, user),
                effects: Box::new(effects),
                more_changes,
            })
        })
        .await
    }

    /// `password` hashed under the workspace's password policy (refused if it breaks it).
    pub(crate) async fn hash_password(
        &self,
        workspace: &Workspace,
        password: Option<&str>,
    ) -> Result<Option<String>> {
        match password {
            Some(password) => self
                .passwords
                .hash_with(
                    password,
                    workspace.auth.password_policy(),
                    self.random.as_ref(),
                )
                .await
                .map(Some),
            None => Ok(None),
        }
    }

    /// An event of `ctx` at the injected clock's time.
    pub(crate) fn event(
        &self,
        ctx: &AuditContext,
        action: Action,
        target_user_id: Option<String>,
        changes: serde_json::Value,
    ) -> NewEvent {
        NewEvent::new(
            ctx,
            action,
            target_user_id,
            changes,
            self.clock.now(),
            self.random.as_ref(),
        )
    }

    pub(crate) fn new_workspace(&self, name: String) -> Workspace {
        Workspace {
            key: 0,
            id: ids::new_id("ws", self.random.as_ref()),
            name,
            roles: DEFAULT_ROLES.iter().map(|r| (*r).to_owned()).collect(),
            created_at: self.clock.now(),
            is_operator: false,
            rate_limit_per_minute: None,
            audit_retention_days: DEFAULT_AUDIT_RETENTION_DAYS,
            invitations: Default::default(),
            auth: Default::default(),
        }
    }

    /// Turn a store error into the core's; an external id held by a soft-deleted user is
    /// retired (seed 000: re-creating it is forbidden), not merely taken.
    pub(crate) async fn explain_conflict(
        &self,
        workspace: &Workspace,
        user: &User,
        err: StoreError,
    ) -> Error {
        if let (StoreError::Unique(UniqueKey::UserExternalId), Some(external_id)) =
            (&err, user.external_id.as_deref())
        {
            if let Ok(Some(holder)) = self
                .store
                .find_user_by_external_id(workspace.key, external_id)
                .await
            {
                if holder.is_deleted() {
                    return Error::field(
                        Code::ExternalIdRetired,
                        "external_id",
                        "This external_id belonged to a deleted user and cannot be reused; restore that user or choose another external_id.",
                    );
                }
            }
        }
        Error::from(err)
    }
}

/// What an update from `before` to `after` does besides the row: a user leaving `invited`
/// (activated by an admin, or deactivated) has no use for its invitation any more; a new
/// password or a deactivation ends the sessions; a withdrawn token permission revokes the
/// personal token.
fn update_effects(before: &User, after: &User, new_password: bool) -> UserSideEffects {
    UserSideEffects {
        revoke_invitations: before.status != after.status && before.status == UserStatus::Invited,
        end_sessions: new_password
            || (after.status == UserStatus::Inactive && before.status != UserStatus::Inactive),
        revoke_personal_token: before.allow_authentication_token
            && !after.allow_authentication_token,
        ..UserSideEffects::default()
    }
}
