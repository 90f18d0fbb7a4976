//! A user's lifecycle after creation:
//!
//! ```text
//!             accept invitation
//!   invited ───────────────────▶ active ◀──── reactivate ────┐
//!      │  ▲ resend (new token)     │                          │
//!      │  └──┘                     └──── deactivate ─────▶ inactive
//!      └──────────────── deactivate ─────────────────────────▲
//!
//!   any of them ── delete ──▶ soft-deleted ── restore ──▶ as it was
//!   any of them, deleted or not ── purge ──▶ gone (an audit tombstone remains)
//! ```
//!
//! Every step is one conditional write of the user with its audit event and side effects
//! (invitation issued or revoked, mail queued, groups left) in the same transaction; a step
//! that changes nothing writes nothing.

use serde_json::{json, Value};

use crate::audit::Actor;
use crate::audit::{self, Action, AuditContext, AuditQuery};
use crate::error::{Code, Error, Result};
use crate::ids;
use crate::invitation::{self, IssuedInvitation};
use crate::outbox::{Mail, MailStatus};
use crate::plan::UserSideEffects;
use crate::roster::Roster;
use crate::step::{Lookup, Step};
use crate::store::UpdateOutcome;
use crate::user::{self, User, UserStatus};
use crate::user_ref::UserRef;
use crate::workspace::Workspace;

/// How often a step is retried when another writer changed the user in between.
const ATTEMPTS: usize = 16;

/// An invitation to accept, as a surface received it.
#[derive(Debug, Clone, Default)]
pub struct Acceptance {
    pub token: Option<String>,
    /// A new name for the user, if given.
    pub name: Option<String>,
    /// The user's first password, if given.
    pub password: Option<String>,
}

impl Roster {
    /// Run `step` on the user `id` and write what it changed, conditional on the version
    /// read; retried from a fresh read on a conflict.
    pub(crate) async fn change_user<F>(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        user: UserRef<'_>,
        lookup: Lookup,
        step: F,
    ) -> Result<User>
    where
        F: Fn(&mut User) -> Result<Step>,
    {
        for _ in 0..ATTEMPTS {
            let before = self.find_user(workspace, user, lookup).await?;
            let mut user = before.clone();
            let (action, mut effects, more_changes) = match step(&mut user)? {
                Step::Unchanged => return Ok(before),
                Step::Changed {
                    action,
                    effects,
                    more_changes,
                } => (action, effects, more_changes),
            };
            let expected = user.version;
            user.version += 1;
            user.updated_at = self.clock.now();
            let mut changes = audit::user_changes(Some(&before), &user);
            if let Value::Object(map) = &mut changes {
                for (field, value) in more_changes {
                    map.insert(field.to_owned(), value);
                }
            }
            if let Some(mail) = &mut effects.mail {
                mail.user_key = Some(user.key);
            }
            let event = self.event(ctx, action, Some(user.id.clone()), changes);
            let revokes_personal_token = effects.revoke_personal_token;
            let plan = self.plan(*effects);
            match self.store.update_user(&user, expected, &event, &plan).await {
                Ok(UpdateOutcome::Updated) => {
                    if revokes_personal_token {
                        user.has_authentication_token = false;
                    }
                    return Ok(user);
                }
                Ok(UpdateOutcome::VersionConflict) => continue,
                Ok(UpdateOutcome::Missing) => return Err(Error::user_not_found()),
                // Only a conditional side effect fails this way: an invitation accepted or
                // revoked by another request since it was read.
                Err(crate::StoreError::Stale) => {
                    return Err(Error::new(
                        Code::InvitationRevoked,
                        "This invitation was used or replaced meanwhile.",
                    ))
                }
                Err(err) => return Err(self.explain_conflict(workspace, &user, err).await),
            }
        }
        Err(Error::new(
            Code::ConcurrentUpdate,
            "The user kept changing while this change was applied; try again.",
        ))
    }

    /// A live user by UUID (seeds 000 and 001's `humanId`).
    pub async fn get_user_by_uuid(&self, workspace: &Workspace, uuid: uuid::Uuid) -> Result<User> {
        self.find_user(workspace, UserRef::Uuid(uuid), Lookup::Live)
            .await
    }

    /// A user by integer key, soft-deleted or not (seed 003's restore).
    pub async fn get_user_by_key_any_state(&self, workspace: &Workspace, key: i64) -> Result<User> {
        self.find_user(workspace, UserRef::Key(key), Lookup::AnyState)
            .await
    }

    /// A live user by external id.
    pub async fn get_user_by_external_id(
        &self,
        workspace: &Workspace,
        external_id: &str,
    ) -> Result<User> {
        self.find_user(workspace, UserRef::ExternalId(external_id), Lookup::Live)
            .await
    }

    /// A live user by integer key (seeds 003 and 004's `id`).
    pub async fn get_user_by_key(&self, workspace: &Workspace, key: i64) -> Result<User> {
        self.find_user(workspace, UserRef::Key(key), Lookup::Live)
            .await
    }

    /// A user by id, soft-deleted or not (for admins, restore and purge).
    pub async fn get_user_any_state(&self, workspace: &Workspace, id: &str) -> Result<User> {
        if !ids::is_well_formed("usr", id) {
            return Err(Error::user_not_found());
        }
        match self.store.get_user(workspace.key, id).await? {
            Some(user) => Ok(user),
            None => Err(self.not_found_or_purged(workspace, id).await),
        }
    }

    /// 410 `user_purged` for a user whose erasure the audit log records, else 404.
    pub(crate) async fn not_found_or_purged(&self, workspace: &Workspace, id: &str) -> Error {
        let query = AuditQuery {
            workspace_key: workspace.key,
            action: Some(Action::UserPurge.as_str().to_owned()),
            user_id: Some(id.to_owned()),
            actor_id: None,
            start: None,
            end: None,
            before: None,
            limit: 1,
        };
        match self.store.list_audit_events(&query).await {
            Ok(events) if !events.is_empty() => Error::new(
                Code::UserPurged,
                "This user's personal data was erased; the user cannot be read or changed.",
            ),
            Ok(_) => Error::user_not_found(),
            Err(err) => err.into(),
        }
    }

    /// The side effects of inviting `user`: a new invitation (any pending one dies) and its
    /// mail.
    pub(crate) fn invitation_effects(
        &self,
        workspace: &Workspace,
        user: &User,
        message: Option<&str>,
    ) -> UserSideEffects {
        let now = self.clock.now();
        let issued: IssuedInvitation =
            invitation::issue(workspace, user, now, self.random.as_ref());
        let (subject, text) = invitation::mail_content(workspace, user, &issued, message);
        UserSideEffects {
            mail: Some(Mail {
                key: 0,
                id: ids::new_sortable_id("mail", now, self.random.as_ref()),
                workspace_key: workspace.key,
                user_key: Some(user.key),
                kind: "invitation".to_owned(),
                recipient: user.email.clone(),
                subject,
                text: Some(text),
                status: MailStatus::Pending,
                attempts: 0,
                next_attempt_at: now,
                last_error: None,
                created_at: now,
                sent_at: None,
            }),
            invitation: Some(issued.invitation),
            ..UserSideEffects::default()
        }
    }

    /// Send an invited user a new invitation (seed 003's resend); the old token dies.
    pub async fn resend_invitation(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        user: impl Into<UserRef<'_>>,
        message: Option<&str>,
    ) -> Result<User> {
        let message = invitation::validate_message(message)?;
        self.change_user(workspace, ctx, user.into(), Lookup::Live, |user| {
            if user.status != UserStatus::Invited {
                return Err(Error::new(
                    Code::UserNotInvited,
                    format!(
                        "This user is {}; only invited users can be sent an invitation.",
                        user.status.as_str()
                    ),
                ));
            }
            let effects = self.invitation_effects(workspace, user, message.as_deref());
            Ok(Step::with_effects(Action::UserInvite, effects))
        })
        .await
    }

    /// Accept an invitation: the user becomes active, with the name and password given.
    /// The token is the credential; the event's actor is the user, its request `origin`.
    ///
    /// Unknown, expired, used and revoked tokens count against the caller's address, which
    /// then backs off as a failing sign-in does; an acceptance runs to its end even if the
    /// request is abandoned while its password is hashed.
    pub async fn accept_invitation(
        &self,
        origin: &AuditContext,
        input: Acceptance,
    ) -> Result<User> {
        let (this, origin) = (self.clone(), origin.clone());
        Self::to_the_end(async move {
            this.guard_by_address(
                "accept",
                origin.ip.as_deref(),
                this.accept_invitation_now(&origin, input),
            )
            .await
        })
        .await
    }

    /// The pending invitation `token` stands for, its user, and its workspace's id.
    async fn pending_invitation(
        &self,
        token: Option<&str>,
    ) -> Result<(crate::invitation::Invitation, User, String)> {
        let unknown = || {
            Error::new(
                Code::InvitationNotFound,
                "This invitation token is not valid.",
            )
        };
        let token = token.map(str::trim).unwrap_or("");
        if token.is_empty() {
            return Err(Error::field(
                Code::FieldRequired,
                "token",
                "token is required.",
            ));
        }
        let hash = invitation::token_hash_of(token).ok_or_else(unknown)?;
        let (found, user, workspace_id) = self
            .store
            .find_invitation(&hash)
            .await?
            .ok_or_else(unknown)?;
        match found.refusal(self.clock.now()) {
            Some(refusal) => Err(refusal),
            None => Ok((found, user, workspace_id)),
        }
    }

    async fn accept_invitation_now(
        &self,
        origin: &AuditContext,
        input: Acceptance,
    ) -> Result<User> {
        let (found, user, workspace_id) = self.pending_invitation(input.token.as_deref()).await?;
        let workspace = self.find_workspace(&workspace_id).await?;
        let name = input.name.as_deref().map(accepted_name).transpose()?;
        let password_hash = self
            .hash_password(&workspace, input.password.as_deref())
            .await?;
        let ctx = AuditContext {
            actor: Actor::User {
                user_id: user.id.clone(),
            },
            ..origin.clone()
        };
        self.change_user(
            &workspace,
            &ctx,
            UserRef::Id(&user.id),
            Lookup::Live,
            |user| {
                if user.status != UserStatus::Invited {
                    return Err(Error::new(
                        Code::InvitationUsed,
                        "This user has already accepted an invitation.",
                    ));
                }
                user.status = UserStatus::Active;
                if let Some(name) = &name {
                    user.name = name.clone();
                }
                let effects = UserSideEffects {
                    accept_invitation: Some(found.id.clone()),
                    password_hash: password_hash.clone(),
                    ..UserSideEffects::default()
                };
                Ok(Step::Changed {
                    action: Action::UserActivate,
                    effects: Box::new(effects),
                    more_changes: password_hash
                        .as_ref()
                        .map(|_| ("password", json!({"before": null, "after": "set"})))
                        .into_iter()
                        .collect(),
                })
            },
        )
        .await
    }

    /// Deactivate a user (seed 004): it can no longer sign in, its sessions end, and a
    /// pending invitation dies (its personal token is refused while it is inactive). Deactivating an inactive user changes nothing.
    pub async fn deactivate_user(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        user: impl Into<UserRef<'_>>,
    ) -> Result<User> {
        self.change_user(workspace, ctx, user.into(), Lookup::Live, |user| {
            if user.status == UserStatus::Inactive {
                return Ok(Step::Unchanged);
            }
            user.status = UserStatus::Inactive;
            Ok(Step::with_effects(
                Action::UserDeactivate,
                UserSideEffects {
                    revoke_invitations: true,
                    end_sessions: true,
                    ..UserSideEffects::default()
                },
            ))
        })
        .await
    }

    /// Reactivate a deactivated user (seed 004). An active user is left as it is; an invited
    /// one becomes active only by accepting its invitation.
    pub async fn reactivate_user(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        user: impl Into<UserRef<'_>>,
    ) -> Result<User> {
        self.change_user(workspace, ctx, user.into(), Lookup::Live, |user| match user.status {
            UserStatus::Active => Ok(Step::Unchanged),
            UserStatus::Invited => Err(Error::new(
                Code::InvalidStatusTransition,
                "An invited user becomes active by accepting its invitation; it cannot be reactivated.",
            )),
            UserStatus::Inactive => {
                user.status = UserStatus::Active;
                Ok(Step::changed(Action::UserReactivate))
            }
        })
        .await
    }

    /// Soft-delete a user: it leaves lists and reads, keeps its external id (seed 000), and
    /// its pending invitation dies.
    pub async fn delete_user(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        user: impl Into<UserRef<'_>>,
    ) -> Result<()> {
        self.delete_user_at_version(workspace, ctx, user, None)
            .await
    }

    /// [`Roster::delete_user`], made only while the user is at `if_version` when given
    /// (an HTTP `If-Match`; `version_mismatch` otherwise).
    pub async fn delete_user_at_version(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        user: impl Into<UserRef<'_>>,
        if_version: Option<i64>,
    ) -> Result<()> {
        let now = self.clock.now();
        self.change_user(workspace, ctx, user.into(), Lookup::Live, |user| {
            if if_version.is_some_and(|v| v != user.version) {
                return Err(Error::version_mismatch());
            }
            user.deleted_at = Some(now);
            Ok(Step::with_effects(
                Action::UserDelete,
                UserSideEffects {
                    revoke_invitations: true,
                    end_sessions: true,
                    revoke_personal_token: true,
                    ..UserSideEffects::default()
                },
            ))
        })
        .await
        .map(|_| ())
    }

    /// Bring a soft-deleted user back as it was (seed 003). Refused for a user that is not
    /// deleted, and when another live user has taken its email since.
    pub async fn restore_user(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        user: impl Into<UserRef<'_>>,
    ) -> Result<User> {
        self.change_user(workspace, ctx, user.into(), Lookup::AnyState, |user| {
            if !user.is_deleted() {
                return Err(Error::new(Code::UserNotDeleted, "User is not deleted"));
            }
            user.deleted_at = None;
            Ok(Step::changed(Action::UserRestore))
        })
        .await
    }

    /// Erase a user for good (right to erasure): the user row, its memberships, invitations
    /// and mails go; a `user.purge` event that names only the user's id remains. Works on
    /// live and soft-deleted users; a purged id answers 410 `user_purged` afterwards.
    pub async fn purge_user(
        &self,
        workspace: &Workspace,
        ctx: &AuditContext,
        user: impl Into<UserRef<'_>>,
    ) -> Result<()> {
        let user = self
            .find_user(workspace, user.into(), Lookup::AnyState)
            .await?;
        let event = self.event(
            ctx,
            Action::UserPurge,
            Some(user.id.clone()),
            json!({"personal_data": {"before": "present", "after": "erased"}}),
        );
        if self
            .store
            .purge_user(workspace.key, user.key, &event)
            .await?
        {
            Ok(())
        } else {
            Err(self.not_found_or_purged(workspace, &user.id).await)
        }
    }
}

/// The name a user accepting its invitation gives itself.
fn accepted_name(name: &str) -> Result<String> {
    if name.trim().is_empty() {
        Err(Error::field(
            Code::FieldRequired,
            "name",
            "name may not be empty.",
        ))
    } else {
        user::validate_name(name)
    }
}
