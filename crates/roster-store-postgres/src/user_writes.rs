//! The primitive writes a user write executes besides the user row (invitations, mail,
//! groups, password, sessions), as the core planned them, and erasing a user for good.

use chrono::{DateTime, Utc};
use roster_core::invitation::Invitation;
use roster_core::outbox::Mail;
use roster_core::store::{StoreError, UserWrite};
use sqlx::{Postgres, Transaction};

use crate::error::db_error;

/// Execute the core's `plan` for the user `user_pk` inside the write's transaction, in
/// order; `at` (the write's time) stamps revocations, acceptance and ended sessions.
pub(crate) async fn execute(
    tx: &mut Transaction<'static, Postgres>,
    workspace_pk: i64,
    user_pk: i64,
    at: DateTime<Utc>,
    plan: &[UserWrite],
) -> Result<(), StoreError> {
    for write in plan {
        execute_one(tx, workspace_pk, user_pk, at, write).await?;
    }
    Ok(())
}

async fn execute_one(
    tx: &mut Transaction<'static, Postgres>,
    workspace_pk: i64,
    user_pk: i64,
    at: DateTime<Utc>,
    write: &UserWrite,
) -> Result<(), StoreError> {
    let changed = match write {
        UserWrite::RevokeInvitations => sqlx::query(
            "UPDATE invitations SET revoked_at = $2
             WHERE user_pk = $1 AND accepted_at IS NULL AND revoked_at IS NULL",
        )
        .bind(user_pk)
        .bind(at),
        UserWrite::WithdrawInvitationMail => sqlx::query(
            "UPDATE outbox SET status = 'withdrawn', text = NULL
             WHERE user_pk = $1 AND kind = 'invitation' AND status = 'pending'",
        )
        .bind(user_pk),
        UserWrite::AcceptInvitation(id) => {
            return expect_one(
                sqlx::query(
                    "UPDATE invitations SET accepted_at = $3
                     WHERE id = $1 AND user_pk = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
                )
                .bind(id)
                .bind(user_pk)
                .bind(at)
                .execute(&mut **tx)
                .await,
            )
        }
        UserWrite::ClaimSetupToken(hash) => {
            return claim_setup_token(tx, workspace_pk, hash, at).await
        }
        UserWrite::InsertInvitation(invitation) => {
            insert_invitation(workspace_pk, user_pk, invitation)
        }
        UserWrite::QueueMail(mail) => queue_mail(workspace_pk, user_pk, mail),
        UserWrite::SetPasswordHash(hash) => {
            sqlx::query("UPDATE users SET password_hash = $2 WHERE pk = $1")
                .bind(user_pk)
                .bind(hash)
        }
        UserWrite::EndSessions => {
            let all = roster_core::session::EndSessions::AllSessions;
            return crate::sessions::end(tx, workspace_pk, user_pk, &all, at)
                .await
                .map(drop);
        }
        UserWrite::RevokePersonalToken => {
            return crate::sessions::end_personal_token(tx, user_pk, at)
                .await
                .map(drop)
        }
        UserWrite::LeaveGroups => {
            sqlx::query("DELETE FROM group_members WHERE user_pk = $1").bind(user_pk)
        }
        UserWrite::JoinGroup(membership) => {
            return expect_one(
                sqlx::query(crate::groups::PUT_MEMBERSHIP)
                    .bind(workspace_pk)
                    .bind(membership.group_key)
                    .bind(user_pk)
                    .bind(membership.added_at)
                    .bind(membership.expires_at)
                    .execute(&mut **tx)
                    .await,
            )
        }
        UserWrite::Abort => {
            return Err(StoreError::Backend(
                "the write was aborted by its plan".into(),
            ))
        }
    };
    changed.execute(&mut **tx).await.map_err(db_error).map(drop)
}

type Statement<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

/// Mark a live setup token used at `at` (one row, else the write is `Stale`).
async fn claim_setup_token(
    tx: &mut Transaction<'static, Postgres>,
    workspace_pk: i64,
    hash: &[u8; 32],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let claim = sqlx::query(
        "UPDATE console_setup_tokens SET used_at = $3
         WHERE token_hash = $1 AND workspace_pk = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(hash.as_slice())
    .bind(workspace_pk)
    .bind(at);
    expect_one(claim.execute(&mut **tx).await)
}

fn insert_invitation(workspace_pk: i64, user_pk: i64, invitation: &Invitation) -> Statement<'_> {
    sqlx::query(
        "INSERT INTO invitations (id, workspace_pk, user_pk, token_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&invitation.id)
    .bind(workspace_pk)
    .bind(user_pk)
    .bind(invitation.token_hash.as_slice())
    .bind(invitation.created_at)
    .bind(invitation.expires_at)
}

fn queue_mail(workspace_pk: i64, user_pk: i64, mail: &Mail) -> Statement<'_> {
    sqlx::query(
        "INSERT INTO outbox (id, workspace_pk, user_pk, kind, recipient, subject, text,
                             status, attempts, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $9)",
    )
    .bind(&mail.id)
    .bind(workspace_pk)
    .bind(user_pk)
    .bind(&mail.kind)
    .bind(&mail.recipient)
    .bind(&mail.subject)
    .bind(&mail.text)
    .bind(mail.next_attempt_at)
    .bind(mail.created_at)
}

/// A conditional primitive changed exactly one row, or the write is `Stale`.
fn expect_one(
    result: Result<sqlx::postgres::PgQueryResult, sqlx::Error>,
) -> Result<(), StoreError> {
    match result.map_err(db_error)?.rows_affected() {
        1 => Ok(()),
        _ => Err(StoreError::Stale),
    }
}

/// Delete the user and everything that names it; false if there is no such user.
pub(crate) async fn purge(
    tx: &mut Transaction<'static, Postgres>,
    workspace_pk: i64,
    user_pk: i64,
) -> Result<bool, StoreError> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT pk FROM users WHERE workspace_pk = $1 AND pk = $2 FOR UPDATE")
            .bind(workspace_pk)
            .bind(user_pk)
            .fetch_optional(&mut **tx)
            .await
            .map_err(db_error)?;
    if found.is_none() {
        return Ok(false);
    }
    for statement in [
        "DELETE FROM group_members WHERE user_pk = $1",
        "DELETE FROM invitations WHERE user_pk = $1",
        "DELETE FROM outbox WHERE user_pk = $1",
        "DELETE FROM sessions WHERE user_pk = $1",
        "DELETE FROM users WHERE pk = $1",
    ] {
        sqlx::query(statement)
            .bind(user_pk)
            .execute(&mut **tx)
            .await
            .map_err(db_error)?;
    }
    Ok(true)
}

/// The invitation with a token hash, its user and its workspace's id.
pub(crate) const FIND_INVITATION: &str = roster_store_rows::find_invitation!("$1");
