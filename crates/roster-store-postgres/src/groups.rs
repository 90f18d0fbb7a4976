//! Groups, memberships and the outbox rows on PostgreSQL.

use roster_core::group::{Group, Membership};
use roster_core::outbox::{Mail, MailStatus, OutboxQuery};
use roster_core::store::StoreError;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder};

use crate::rows::get;

pub(crate) fn group(row: &PgRow) -> Result<Group, StoreError> {
    Ok(Group {
        key: get(row, "pk")?,
        id: get(row, "id")?,
        workspace_key: get(row, "workspace_pk")?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

/// The `m_…` columns of a joined membership.
pub(crate) fn membership(row: &PgRow) -> Result<Membership, StoreError> {
    Ok(Membership {
        group_key: get(row, "m_group_pk")?,
        user_key: get(row, "m_user_pk")?,
        added_at: get(row, "m_added_at")?,
        expires_at: get(row, "m_expires_at")?,
    })
}

pub(crate) const MEMBERSHIP_COLUMNS: &str = "m.group_pk AS m_group_pk, m.user_pk AS m_user_pk,
    m.added_at AS m_added_at, m.expires_at AS m_expires_at";

pub(crate) fn mail(row: &PgRow) -> Result<Mail, StoreError> {
    let status: String = get(row, "status")?;
    let attempts: i64 = get(row, "attempts")?;
    Ok(Mail {
        key: get(row, "pk")?,
        id: get(row, "id")?,
        workspace_key: get(row, "workspace_pk")?,
        user_key: get(row, "user_pk")?,
        kind: get(row, "kind")?,
        recipient: get(row, "recipient")?,
        subject: get(row, "subject")?,
        text: get(row, "text")?,
        status: MailStatus::parse(&status)
            .map_err(|_| StoreError::Backend(format!("stored mail status is unknown: {status}")))?,
        attempts: u32::try_from(attempts)
            .map_err(|_| StoreError::Backend("stored attempts out of range".into()))?,
        next_attempt_at: get(row, "next_attempt_at")?,
        last_error: get(row, "last_error")?,
        created_at: get(row, "created_at")?,
        sent_at: get(row, "sent_at")?,
    })
}

pub(crate) fn outbox_query(query: &OutboxQuery) -> QueryBuilder<'static, Postgres> {
    let mut q = QueryBuilder::new("SELECT * FROM outbox WHERE workspace_pk = ");
    q.push_bind(query.workspace_key);
    if let Some(status) = query.status {
        q.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(before) = query.before_key {
        q.push(" AND pk < ").push_bind(before);
    }
    q.push(" ORDER BY pk DESC LIMIT ")
        .push_bind(i64::from(query.limit));
    q
}

pub(crate) const CLAIM: &str = "UPDATE outbox SET next_attempt_at = $2
    WHERE pk IN (SELECT pk FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1
                 ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
    RETURNING *";

/// Put a user in a group of the same workspace (or change the membership's expiry): `$1`
/// workspace, `$2` group, `$3` user, `$4` added at, `$5` expires at. No row when the group
/// or the user is not the workspace's.
pub(crate) const PUT_MEMBERSHIP: &str =
    "INSERT INTO group_members (group_pk, user_pk, added_at, expires_at)
     SELECT g.pk, u.pk, $4, $5 FROM groups g, users u
     WHERE g.pk = $2 AND g.workspace_pk = $1 AND u.pk = $3 AND u.workspace_pk = $1
     ON CONFLICT (group_pk, user_pk) DO UPDATE SET expires_at = EXCLUDED.expires_at";
