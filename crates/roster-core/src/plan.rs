//! What a user write does besides the user row, decided by the core and planned as an
//! ordered list of primitive writes ([`UserWrite`]) that a backend executes in the write's
//! transaction. The rules of which writes go together live here, once: a revoked (or
//! replaced) invitation withdraws its pending mail; an acceptance comes before the new
//! password; sessions end before the groups are left.

use crate::group::Membership;
use crate::invitation::Invitation;
use crate::outbox::Mail;
use crate::store::UserWrite;

/// What else a user write does, in the same transaction as the user and its event. Built by
/// the core's operations; [`UserSideEffects::plan`] turns it into primitives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserSideEffects {
    /// Store this invitation (for the written user), revoking any pending one of the user.
    pub invitation: Option<Invitation>,
    /// Revoke the user's pending invitations (and withdraw their pending mail).
    pub revoke_invitations: bool,
    /// Mark this invitation accepted; if it is no longer pending, the write fails `Stale`.
    pub accept_invitation: Option<String>,
    /// Queue this mail (about the written user).
    pub mail: Option<Mail>,
    /// Set the user's password hash.
    pub password_hash: Option<String>,
    /// Take the user out of every group.
    pub leave_groups: bool,
    /// End the user's live sign-in sessions (personal tokens stay).
    pub end_sessions: bool,
    /// Revoke the user's personal token.
    pub revoke_personal_token: bool,
    /// Put the user in these groups (a group that is gone fails the write `Stale`).
    pub join_groups: Vec<Membership>,
    /// Mark this console setup token (its hash) used; if it is not live, the write fails
    /// `Stale`.
    pub claim_setup_token: Option<[u8; 32]>,
}

impl UserSideEffects {
    /// The primitive writes, in the order a backend executes them.
    pub fn plan(self) -> Vec<UserWrite> {
        let mut plan = Vec::new();
        if let Some(hash) = self.claim_setup_token {
            plan.push(UserWrite::ClaimSetupToken(hash));
        }
        if self.revoke_invitations || self.invitation.is_some() {
            // A pending invitation's mail carries a token that is now dead.
            plan.push(UserWrite::RevokeInvitations);
            plan.push(UserWrite::WithdrawInvitationMail);
        }
        if let Some(id) = self.accept_invitation {
            plan.push(UserWrite::AcceptInvitation(id));
        }
        if let Some(invitation) = self.invitation {
            plan.push(UserWrite::InsertInvitation(invitation));
        }
        if let Some(mail) = self.mail {
            plan.push(UserWrite::QueueMail(mail));
        }
        if let Some(hash) = self.password_hash {
            plan.push(UserWrite::SetPasswordHash(hash));
        }
        if self.end_sessions {
            plan.push(UserWrite::EndSessions);
        }
        if self.revoke_personal_token {
            plan.push(UserWrite::RevokePersonalToken);
        }
        if self.leave_groups {
            plan.push(UserWrite::LeaveGroups);
        }
        plan.extend(self.join_groups.into_iter().map(UserWrite::JoinGroup));
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_to_do_plans_nothing() {
        assert!(UserSideEffects::default().plan().is_empty());
    }

    #[test]
    fn revoking_invitations_withdraws_their_mail_and_a_new_invitation_revokes_first() {
        let revoke = UserSideEffects {
            revoke_invitations: true,
            ..UserSideEffects::default()
        };
        assert_eq!(
            revoke.plan(),
            vec![
                UserWrite::RevokeInvitations,
                UserWrite::WithdrawInvitationMail
            ]
        );
        let invitation = Invitation {
            id: "inv_1".into(),
            workspace_key: 1,
            user_key: 2,
            token_hash: [7; 32],
            created_at: chrono::DateTime::UNIX_EPOCH,
            expires_at: chrono::DateTime::UNIX_EPOCH,
            accepted_at: None,
            revoked_at: None,
        };
        let reinvite = UserSideEffects {
            invitation: Some(invitation.clone()),
            password_hash: Some("hash".into()),
            ..UserSideEffects::default()
        };
        assert_eq!(
            reinvite.plan(),
            vec![
                UserWrite::RevokeInvitations,
                UserWrite::WithdrawInvitationMail,
                UserWrite::InsertInvitation(invitation),
                UserWrite::SetPasswordHash("hash".into()),
            ]
        );
    }
}
