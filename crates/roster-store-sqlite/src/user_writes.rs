//! The primitive writes a user write executes besides the user row (invitations, mail,
//! groups, password, sessions), as the core planned them, and erasing a user for good.

use chrono::{DateTime, Utc};
use roster_core::invitation::Invitation;
use roster_core::outbox::Mail;
use roster_core::store::{StoreError, UserWrite};
use rusqlite::{params, OptionalExtension, Transaction};

use crate::error::sql_error;
use crate::rows::micros;

/// Execute the core's `plan` for the user `user_pk` inside the write's transaction, in
/// order; `at` (the write's time) stamps revocations, acceptance and ended sessions.
pub(crate) fn execute(
    tx: &Transaction<'_>,
    workspace_pk: i64,
    user_pk: i64,
    at: DateTime<Utc>,
    plan: &[UserWrite],
) -> Result<(), StoreError> {
    for write in plan {
        execute_one(tx, workspace_pk, user_pk, micros(at), write)?;
    }
    Ok(())
}

fn execute_one(
    tx: &Transaction<'_>,
    workspace_pk: i64,
    user_pk: i64,
    at: i64,
    write: &UserWrite,
) -> Result<(), StoreError> {
    let run = |sql: &str, values: &[&dyn rusqlite::ToSql]| {
        tx.prepare_cached(sql)
            .and_then(|mut statement| statement.execute(values))
            .map_err(sql_error)
    };
    match write {
        UserWrite::RevokeInvitations => run(
            "UPDATE invitations SET revoked_at = ?2
             WHERE user_pk = ?1 AND accepted_at IS NULL AND revoked_at IS NULL",
            params![user_pk, at],
        )
        .map(drop),
        UserWrite::WithdrawInvitationMail => {
            run(WITHDRAW_INVITATION_MAIL, params![user_pk]).map(drop)
        }
        UserWrite::AcceptInvitation(id) => {
            let changed = run(
                "UPDATE invitations SET accepted_at = ?3
                 WHERE id = ?1 AND user_pk = ?2 AND accepted_at IS NULL AND revoked_at IS NULL",
                params![id, user_pk, at],
            )?;
            if changed == 1 {
                Ok(())
            } else {
                Err(StoreError::Stale)
            }
        }
        UserWrite::ClaimSetupToken(hash) => claim_setup_token(tx, workspace_pk, hash, at),
        UserWrite::InsertInvitation(invitation) => {
            insert_invitation(tx, workspace_pk, user_pk, invitation)
        }
        UserWrite::QueueMail(mail) => insert_mail(tx, workspace_pk, user_pk, mail),
        UserWrite::SetPasswordHash(hash) => run(
            "UPDATE users SET password_hash = ?2 WHERE pk = ?1",
            params![user_pk, hash],
        )
        .map(drop),
        UserWrite::EndSessions => crate::sessions::end(
            tx,
            workspace_pk,
            user_pk,
            &roster_core::session::EndSessions::AllSessions,
            at,
        )
        .map(drop),
        UserWrite::RevokePersonalToken => {
            crate::sessions::end_personal_token(tx, user_pk, at).map(drop)
        }
        UserWrite::LeaveGroups => run(
            "DELETE FROM group_members WHERE user_pk = ?1",
            params![user_pk],
        )
        .map(drop),
        UserWrite::JoinGroup(membership) => {
            let joined = roster_core::group::Membership {
                user_key: user_pk,
                ..membership.clone()
            };
            if crate::groups::put_membership(tx, workspace_pk, &joined)? {
                Ok(())
            } else {
                Err(StoreError::Stale)
            }
        }
        UserWrite::Abort => Err(StoreError::Backend(
            "the write was aborted by its plan".into(),
        )),
    }
}

/// Invitation mail of a user still waiting to go out carries a token that is now dead.
const WITHDRAW_INVITATION_MAIL: &str = "UPDATE outbox SET status = 'withdrawn', text = NULL
    WHERE user_pk = ?1 AND kind = 'invitation' AND status = 'pending'";

/// Mark a live setup token used at `at`; any other is `Stale`.
fn claim_setup_token(
    tx: &Transaction<'_>,
    workspace_pk: i64,
    hash: &[u8; 32],
    at: i64,
) -> Result<(), StoreError> {
    let changed = tx
        .prepare_cached(
            "UPDATE console_setup_tokens SET used_at = ?3
             WHERE token_hash = ?1 AND workspace_pk = ?2 AND used_at IS NULL AND expires_at > ?3",
        )
        .and_then(|mut claim| claim.execute(params![hash.as_slice(), workspace_pk, at]))
        .map_err(sql_error)?;
    if changed == 1 {
        Ok(())
    } else {
        Err(StoreError::Stale)
    }
}

fn insert_invitation(
    tx: &Transaction<'_>,
    workspace_pk: i64,
    user_pk: i64,
    invitation: &Invitation,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO invitations (id, workspace_pk, user_pk, token_hash, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut insert| {
        insert.execute(params![
            invitation.id,
            workspace_pk,
            user_pk,
            invitation.token_hash.as_slice(),
            micros(invitation.created_at),
            micros(invitation.expires_at),
        ])
    })
    .map(|_| ())
    .map_err(sql_error)
}

fn insert_mail(
    tx: &Transaction<'_>,
    workspace_pk: i64,
    user_pk: i64,
    mail: &Mail,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO outbox (id, workspace_pk, user_pk, kind, recipient, subject, text, status,
                             attempts, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', 0, ?8, ?9)",
    )
    .and_then(|mut insert| {
        insert.execute(params![
            mail.id,
            workspace_pk,
            user_pk,
            mail.kind,
            mail.recipient,
            mail.subject,
            mail.text,
            micros(mail.next_attempt_at),
            micros(mail.created_at),
        ])
    })
    .map(|_| ())
    .map_err(sql_error)
}

/// Delete the user and everything that names it; false if there is no such user.
pub(crate) fn purge(
    tx: &Transaction<'_>,
    workspace_pk: i64,
    user_pk: i64,
) -> Result<bool, StoreError> {
    let live: Option<bool> = tx
        .prepare_cached("SELECT deleted_at IS NULL FROM users WHERE workspace_pk = ?1 AND pk = ?2")
        .and_then(|mut user| {
            user.query_row(params![workspace_pk, user_pk], |row| row.get(0))
                .optional()
        })
        .map_err(sql_error)?;
    let Some(live) = live else {
        return Ok(false);
    };
    if live {
        crate::users::count_live(tx, workspace_pk, -1)?;
    }
    for statement in [
        "DELETE FROM group_members WHERE user_pk = ?1",
        "DELETE FROM invitations WHERE user_pk = ?1",
        "DELETE FROM outbox WHERE user_pk = ?1",
        "DELETE FROM sessions WHERE user_pk = ?1",
    ] {
        tx.execute(statement, [user_pk]).map_err(sql_error)?;
    }
    // The `users_search_delete` trigger takes the user out of the search index.
    tx.execute("DELETE FROM users WHERE pk = ?1", [user_pk])
        .map_err(sql_error)?;
    Ok(true)
}

/// The invitation with a token hash, its user and its workspace's id.
pub(crate) const FIND_INVITATION: &str = roster_store_rows::find_invitation!("?1");
