//! Signing users in, and what follows: introspection, signing out, session admin, forced
//! logout, admin password changes and personal tokens.
//!
//! A sign-in answers the same, after the same work, whether the email is unknown, the
//! password wrong, or the user invited, inactive or without a password: a password is
//! always verified (against a decoy hash when there is none), and the answer is always 401
//! `invalid_credentials`. The audit event (`user.login_failed`) records the real reason.
//! Repeated failures for one name or one address are slowed down: after 5, each further
//! attempt must wait 1 s, 2 s, 4 s, … up to 15 minutes after the last failure (429
//! `too_many_attempts` with a retry time). Failure counts are kept per node. The same
//! per-address backoff guards the other doors that check a secret without a credential:
//! the client-token exchange and invitation acceptance ([`Roster::guard_by_address`]).
//!
//! A sign-in runs to its end as a task of its own: a client that disconnects while its
//! password is being verified still has its attempt counted and audited.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::audit::Actor;
use crate::audit::{Action, AuditContext};
use crate::error::{Code, Error, ErrorKind, Result};
use crate::ids;
use crate::password::{self, validate_attempt};
use crate::plan::UserSideEffects;
use crate::roster::Roster;
use crate::session::{
    self, AuthSettings, EndSessions, LimitPolicy, Session, SessionKind, TOUCH_EVERY_SECONDS,
};
use crate::step::{Lookup, Step};
use crate::store::{SessionStart, SignInName, StoreError};
use crate::user::{email_key, User, UserStatus};
use crate::user_ref::UserRef;
use crate::workspace::Workspace;

/// How often a sign-in is retried when a concurrent one changed the user's sessions.
const START_ATTEMPTS: usize = 8;

/// A sign-in as a surface received it.
#[derive(Debug, Clone, Default)]
pub struct SignIn {
    pub email: Option<String>,
    pub external_id: Option<String>,
    pub password: Option<String>,
    /// The end user's address and agent, as the caller's backend saw them (the connection
    /// is the backend's); they are recorded on the session and used for throttling.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Only a user with this role may sign in (the console asks for `admin`); any other is
    /// refused like a wrong password, and its audit event says `missing_role`.
    pub role: Option<String>,
}

/// A new session and its token (shown once).
#[derive(Debug, Clone)]
pub struct IssuedSession {
    pub session: Session,
    pub token: String,
    pub user: User,
}

/// What a presented session token stands for.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: Session,
    pub user: User,
    pub workspace: Workspace,
}

/// A stored sessions limit as a count: the store refuses 0, and were one to slip through,
/// it would count as 1, never as "no session at all".
fn session_limit(stored: u32) -> usize {
    usize::try_from(stored).unwrap_or(usize::MAX).max(1)
}

/// How many of `live` sessions (oldest first) a sign-in under `limit` (at least 1) ends so
/// that, with its own, `limit` remain.
fn sessions_to_end(live: usize, limit: usize) -> usize {
    (live + 1).saturating_sub(limit.max(1)).min(live)
}

/// Why a sign-in that found `found` (a user and its password hash) is refused, if it is.
/// A sign-in that asks for `role` refuses a user without it.
fn refusal(
    found: &Option<(User, Option<String>)>,
    password_matches: bool,
    role: Option<&str>,
) -> Option<&'static str> {
    match found {
        None => Some("unknown_user"),
        Some((_, None)) => Some("no_password"),
        Some(_) if !password_matches => Some("wrong_password"),
        Some((user, _)) => match user.status {
            UserStatus::Invited => Some("invited"),
            UserStatus::Inactive => Some("inactive"),
            UserStatus::Active if role.is_some_and(|role| user.role != role) => {
                Some("missing_role")
            }
            UserStatus::Active => None,
        },
    }
}

/// How a sign-in names its user (its email, else its external id) and how its audit event
/// shows that name.
fn sign_in_name(input: &SignIn) -> Result<(SignInName, String)> {
    let given = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    match (given(&input.email), given(&input.external_id)) {
        (Some(email), _) => Ok((SignInName::EmailKey(email_key(&email)), email_key(&email))),
        (None, Some(external_id)) => Ok((
            SignInName::ExternalId(external_id.clone()),
            format!("external_id:{external_id}"),
        )),
        (None, None) => Err(Error::field(
            Code::FieldRequired,
            "email",
            "email (or external_id) is required.",
        )),
    }
}

fn too_many_attempts(wait: Duration) -> Error {
    let seconds = wait.num_seconds().max(1);
    Error::new(
        Code::TooManyAttempts,
        format!("Too many failed attempts; try again in {seconds} s."),
    )
    .with_retry_after(seconds)
}

fn invalid_credentials() -> Error {
    Error::new(
        Code::InvalidCredentials,
        "The email, external id or password is incorrect.",
    )
}

fn session_error(code: Code) -> Error {
    let message = match code {
        Code::SessionExpired => "This session has expired; sign in again.",
        Code::SessionEnded => "This session has ended; sign in again.",
        _ => "This session token is not valid.",
    };
    Error::new(code, message)
}

impl Roster {
    /// Run `work` as a task of its own, so that it ends (and is counted and audited) even
    /// when the request that started it is abandoned.
    pub(crate) async fn to_the_end<T: Send + 'static>(
        work: impl std::future::Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        tokio::spawn(work)
            .await
            .map_err(|e| Error::new(Code::Internal, format!("task failed: {e}")))?
    }

    /// For a door that checks a secret without a credential (`what` names it): refuse while
    /// the caller's address backs off, and count a failure (an unknown, wrong, expired or
    /// used secret) against the address.
    pub(crate) async fn guard_by_address<T>(
        &self,
        what: &str,
        ip: Option<&str>,
        work: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let keys: Vec<String> = ip
            .map(|ip| format!("{what}:ip:{}", ip.chars().take(64).collect::<String>()))
            .into_iter()
            .collect();
        if let Some(wait) = self.throttle.wait(&keys, self.clock.now()) {
            return Err(too_many_attempts(wait));
        }
        let result = work.await;
        if let Err(err) = &result {
            if matches!(
                err.kind(),
                ErrorKind::Unauthenticated | ErrorKind::NotFound | ErrorKind::Gone
            ) {
                self.throttle.fail(&keys, self.clock.now());
            }
        }
        result
    }

    /// Sign a user of `workspace` in with its email (or external id) and password.
    pub async fn sign_in(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        input: SignIn,
    ) -> Result<IssuedSession> {
        let (this, workspace, ctx) = (self.clone(), workspace.clone(), ctx.clone());
        Self::to_the_end(async move { this.sign_in_now(&workspace, &ctx, input).await }).await
    }

    async fn sign_in_now(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        input: SignIn,
    ) -> Result<IssuedSession> {
        let (name, shown) = sign_in_name(&input)?;
        let password = input.password.clone().unwrap_or_default();
        let clipped = |given: &Option<String>, seen: &Option<String>, max: usize| {
            given
                .clone()
                .or_else(|| seen.clone())
                .map(|text| text.chars().take(max).collect::<String>())
        };
        let ip = clipped(&input.ip, &ctx.ip, 64);
        let user_agent = clipped(&input.user_agent, &ctx.user_agent, 512);
        let now = self.clock.now();
        let name_key = format!(
            "{}:{}",
            workspace.key,
            shown.chars().take(300).collect::<String>()
        );
        let mut keys = vec![name_key.clone()];
        if let Some(ip) = &ip {
            keys.push(format!("ip:{ip}"));
        }
        let failed = |reason: &'static str, user: Option<&User>| {
            self.event(
                ctx,
                Action::UserLoginFailed,
                user.map(|u| u.id.clone()),
                json!({"reason": reason, "name": shown, "ip": ip}),
            )
        };
        if let Err(err) = validate_attempt(&password) {
            self.store
                .append_event(workspace.key, &failed("malformed_password", None))
                .await?;
            return Err(err);
        }
        if let Some(wait) = self.throttle.wait(&keys, now) {
            self.store
                .append_event(workspace.key, &failed("throttled", None))
                .await?;
            return Err(too_many_attempts(wait));
        }
        let found = self.store.find_sign_in(workspace.key, &name).await?;
        let hash = found.as_ref().and_then(|(_, hash)| hash.as_deref());
        let verified = self.passwords.verify(&password, hash).await?;
        if let Some(reason) = refusal(&found, verified.matches, input.role.as_deref()) {
            self.throttle.fail(&keys, now);
            let user = found.as_ref().map(|(user, _)| user);
            self.store
                .append_event(workspace.key, &failed(reason, user))
                .await?;
            return Err(invalid_credentials());
        }
        let Some((user, _)) = found else {
            return Err(invalid_credentials());
        };
        self.throttle.succeed(&name_key);
        let rehash = if verified.needs_rehash {
            Some(self.rehash(&password).await?)
        } else {
            None
        };
        self.start_session(workspace, ctx, user, rehash, ip, user_agent)
            .await
    }

    async fn start_session(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        user: User,
        rehash: Option<String>,
        ip: Option<String>,
        user_agent: Option<String>,
    ) -> Result<IssuedSession> {
        for _ in 0..START_ATTEMPTS {
            let now = self.clock.now();
            let live: Vec<Session> = self
                .store
                .live_sessions(workspace.key, user.key, now)
                .await?
                .into_iter()
                .filter(|s| s.kind == SessionKind::Session)
                .collect();
            let evict = self.sessions_to_end(workspace, ctx, &user, &live).await?;
            let (token, session) = self.new_session(workspace, &user, now, &ip, &user_agent);
            let evicted: Vec<&str> = evict.iter().map(|s| s.id.as_str()).collect();
            let mut changes = json!({
                "session": {"before": null, "after": session.id},
                "current_sign_in_at": {"before": user.current_sign_in_at, "after": now},
            });
            if !evicted.is_empty() {
                changes["sessions_ended"] = json!({"before": evicted, "after": []});
            }
            if rehash.is_some() {
                changes["password"] = json!({"before": "outdated hash", "after": "rehashed"});
            }
            let event = self.event(ctx, Action::UserLogin, Some(user.id.clone()), changes);
            let start = SessionStart {
                session,
                expected_live: live.len() as u64,
                evict: evict.iter().map(|s| s.key).collect(),
                rehash: rehash.clone(),
            };
            match self.store.start_session(&start, &event).await {
                Ok(()) => {
                    let user = User {
                        last_sign_in_at: user.current_sign_in_at,
                        current_sign_in_at: Some(now),
                        ..user
                    };
                    return Ok(IssuedSession {
                        session: start.session,
                        token,
                        user,
                    });
                }
                Err(StoreError::Stale) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        Err(Error::new(
            Code::ConcurrentUpdate,
            "Other sign-ins of this user kept changing its sessions; try again.",
        ))
    }

    /// A fresh hash of `password` with today's parameters, replacing an outdated one.
    async fn rehash(&self, password: &str) -> Result<String> {
        let any_password = password::PasswordPolicy {
            min_chars: 1,
            refuse_common: false,
        };
        self.passwords
            .hash_with(password, any_password, self.random.as_ref())
            .await
    }

    /// The live sessions a new one ends to keep the user within its limit (the oldest
    /// first), or, under the `refuse` policy, a refusal (audited).
    async fn sessions_to_end(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        user: &User,
        live: &[Session],
    ) -> Result<Vec<Session>> {
        let Some(limit) = user.sessions_limit else {
            return Ok(Vec::new());
        };
        let limit = session_limit(limit);
        if live.len() < limit {
            return Ok(Vec::new());
        }
        if workspace.auth.limit_policy() == LimitPolicy::Refuse {
            let event = self.event(
                ctx,
                Action::UserLoginFailed,
                Some(user.id.clone()),
                json!({"reason": "session_limit", "sessions_limit": limit}),
            );
            self.store.append_event(workspace.key, &event).await?;
            return Err(Error::new(
                Code::SessionLimitReached,
                format!(
                    "This user has {limit} session(s) already, its limit; sign out of one first."
                ),
            ));
        }
        Ok(live[..sessions_to_end(live.len(), limit)].to_vec())
    }

    /// A new sign-in session of `user` and its token.
    fn new_session(
        &self,
        workspace: &Workspace,
        user: &User,
        now: DateTime<Utc>,
        ip: &Option<String>,
        user_agent: &Option<String>,
    ) -> (String, Session) {
        let (token, token_hash) = session::new_token(SessionKind::Session, self.random.as_ref());
        let session = Session {
            key: 0,
            id: ids::new_sortable_id("ses", now, self.random.as_ref()),
            workspace_key: workspace.key,
            user_key: user.key,
            kind: SessionKind::Session,
            token_hash,
            created_at: now,
            last_seen_at: now,
            expires_at: Some(now + workspace.auth.idle().min(workspace.auth.lifetime())),
            ip: ip.clone(),
            user_agent: user_agent.clone(),
            ended_at: None,
        };
        (token, session)
    }

    /// What a session token or personal token stands for; a live session slides.
    pub async fn introspect(&self, token: &str) -> Result<SignedIn> {
        let hash =
            session::token_hash_of(token).ok_or_else(|| session_error(Code::InvalidSession))?;
        let (mut session, user, workspace_id) = self
            .store
            .find_session(&hash)
            .await?
            .ok_or_else(|| session_error(Code::InvalidSession))?;
        let now = self.clock.now();
        if session.ended_at.is_some() {
            return Err(session_error(Code::SessionEnded));
        }
        if session.expires_at.is_some_and(|at| at <= now) {
            return Err(session_error(Code::SessionExpired));
        }
        if user.is_deleted() || user.status != UserStatus::Active {
            return Err(Error::new(
                Code::UserInactive,
                "This user cannot sign in: it is deactivated or deleted.",
            ));
        }
        let workspace = self.find_workspace(&workspace_id).await?;
        if (now - session.last_seen_at).num_seconds() >= TOUCH_EVERY_SECONDS {
            let expires_at = session.expires_at.map(|_| {
                (now + workspace.auth.idle()).min(session.created_at + workspace.auth.lifetime())
            });
            self.store
                .touch_session(session.key, now, expires_at)
                .await?;
            session.last_seen_at = now;
            session.expires_at = expires_at;
        }
        Ok(SignedIn {
            session,
            user,
            workspace,
        })
    }

    /// End the session (or personal token) `token` stands for.
    pub async fn sign_out(&self, origin: &AuditContext, token: &str) -> Result<()> {
        let signed_in = self.introspect(token).await?;
        let ctx = user_ctx(origin, &signed_in.user);
        let event = self.event(
            &ctx,
            Action::UserLogout,
            Some(signed_in.user.id.clone()),
            json!({"session": {"before": signed_in.session.id, "after": null}}),
        );
        self.store
            .end_sessions(
                signed_in.workspace.key,
                signed_in.user.key,
                &EndSessions::One(signed_in.session.id.clone()),
                self.clock.now(),
                &event,
            )
            .await?;
        Ok(())
    }

    /// A personal token for the user signed in with `session_token` (seed 003): only from a
    /// sign-in session, only if the user is allowed one, only one at a time.
    pub async fn create_personal_token(
        &self,
        origin: &AuditContext,
        session_token: &str,
    ) -> Result<(Session, String, User)> {
        let signed_in = self.introspect(session_token).await?;
        if signed_in.session.kind != SessionKind::Session {
            return Err(Error::new(
                Code::SessionRequired,
                "A personal token is made from a sign-in session, not from another token.",
            ));
        }
        let user = &signed_in.user;
        if !user.allow_authentication_token {
            return Err(Error::new(
                Code::TokenNotAllowed,
                "This user is not allowed a personal token; an admin can allow it (allow_authentication_token).",
            ));
        }
        let now = self.clock.now();
        let (token, token_hash) = session::new_token(SessionKind::Personal, self.random.as_ref());
        let personal = Session {
            key: 0,
            id: ids::new_sortable_id("ses", now, self.random.as_ref()),
            workspace_key: signed_in.workspace.key,
            user_key: user.key,
            kind: SessionKind::Personal,
            token_hash,
            created_at: now,
            last_seen_at: now,
            expires_at: None,
            ip: signed_in.session.ip.clone(),
            user_agent: signed_in.session.user_agent.clone(),
            ended_at: None,
        };
        let event = self.event(
            &user_ctx(origin, user),
            Action::UserTokenCreate,
            Some(user.id.clone()),
            json!({"has_authentication_token": {"before": false, "after": true}}),
        );
        if self.store.insert_personal_token(&personal, &event).await? {
            let user = User {
                has_authentication_token: true,
                ..signed_in.user
            };
            Ok((personal, token, user))
        } else {
            Err(Error::new(
                Code::TokenExists,
                "This user has a personal token already; revoke it first.",
            ))
        }
    }

    /// The live sessions and personal token of a user, oldest first.
    pub async fn list_user_sessions(
        &self,
        workspace: &Workspace,
        user_id: &str,
    ) -> Result<Vec<Session>> {
        let user = self.get_user(workspace, user_id).await?;
        Ok(self
            .store
            .live_sessions(workspace.key, user.key, self.clock.now())
            .await?)
    }

    /// End one of a user's sessions (or its personal token) by id.
    pub async fn end_user_session(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        user_id: &str,
        session_id: &str,
    ) -> Result<()> {
        let user = self.get_user(workspace, user_id).await?;
        let event = self.event(
            ctx,
            Action::UserSessionEnd,
            Some(user.id.clone()),
            json!({"session": {"before": session_id, "after": null}}),
        );
        let ended = self
            .store
            .end_sessions(
                workspace.key,
                user.key,
                &EndSessions::One(session_id.to_owned()),
                self.clock.now(),
                &event,
            )
            .await?;
        if ended == 0 {
            return Err(Error::new(
                Code::SessionNotFound,
                "This user has no live session with this id.",
            ));
        }
        Ok(())
    }

    /// End every sign-in session of a user at once (seed 004's force logout). Returns how
    /// many ended; its personal token stays.
    pub async fn force_logout(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        user: impl Into<UserRef<'_>>,
    ) -> Result<u64> {
        let user = self.find_user(workspace, user.into(), Lookup::Live).await?;
        let event = self.event(
            ctx,
            Action::UserForceLogout,
            Some(user.id.clone()),
            json!({"sessions": {"before": "live", "after": "ended"}}),
        );
        Ok(self
            .store
            .end_sessions(
                workspace.key,
                user.key,
                &EndSessions::AllSessions,
                self.clock.now(),
                &event,
            )
            .await?)
    }

    /// Revoke a user's personal token (seed 003); a user without one is left as it is.
    pub async fn revoke_personal_token(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        user: impl Into<UserRef<'_>>,
    ) -> Result<User> {
        let user = self.find_user(workspace, user.into(), Lookup::Live).await?;
        let event = self.event(
            ctx,
            Action::UserTokenRevoke,
            Some(user.id.clone()),
            json!({"has_authentication_token": {"before": true, "after": false}}),
        );
        self.store
            .end_sessions(
                workspace.key,
                user.key,
                &EndSessions::PersonalToken,
                self.clock.now(),
                &event,
            )
            .await?;
        self.get_user(workspace, &user.id).await
    }

    /// Set a user's password (an admin's reset): checked against the workspace's policy,
    /// stored as argon2id; the user's sessions end.
    pub async fn set_password(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        user: impl Into<UserRef<'_>>,
        password: &str,
    ) -> Result<User> {
        let hash = self
            .passwords
            .hash_with(
                password,
                workspace.auth.password_policy(),
                self.random.as_ref(),
            )
            .await?;
        self.change_user(workspace, ctx, user.into(), Lookup::Live, |_| {
            Ok(Step::Changed {
                action: Action::UserPasswordSet,
                effects: Box::new(UserSideEffects {
                    password_hash: Some(hash.clone()),
                    end_sessions: true,
                    ..UserSideEffects::default()
                }),
                more_changes: vec![("password", json!({"before": "…", "after": "set"}))],
            })
        })
        .await
    }

    /// Replace the workspace's password and session rules.
    pub async fn set_auth_settings(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        settings: AuthSettings,
    ) -> Result<Workspace> {
        let settings = settings.validate()?;
        if settings == workspace.auth {
            return Ok(workspace.clone());
        }
        let event = self.event(
            ctx,
            Action::ConfigUpdate,
            None,
            json!({"auth": {"before": workspace.auth, "after": settings}}),
        );
        self.store
            .set_auth_settings(workspace.key, &settings, &event)
            .await?;
        self.caches.forget_workspaces();
        Ok(Workspace {
            auth: settings,
            ..workspace.clone()
        })
    }
}

/// `origin` with `user` as the actor.
fn user_ctx(origin: &AuditContext, user: &User) -> AuditContext {
    AuditContext {
        actor: Actor::User {
            user_id: user.id.clone(),
        },
        ..origin.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sessions_limit_never_ends_more_sessions_than_there_are() {
        assert_eq!(session_limit(0), 1);
        assert_eq!(session_limit(3), 3);
        assert_eq!(sessions_to_end(0, 1), 0);
        assert_eq!(sessions_to_end(1, 1), 1);
        assert_eq!(sessions_to_end(3, 3), 1);
        assert_eq!(sessions_to_end(5, 3), 3);
        assert_eq!(sessions_to_end(2, 0), 2);
    }
}
