//! Groups and memberships.

use crate::error::db_error;
use crate::PostgresStore;
use crate::{audit, groups, rows};
use async_trait::async_trait;
use chrono::DateTime;
use chrono::Utc;
use roster_core::audit::NewEvent;
use roster_core::store::{GroupStore, MembershipWrite};
use roster_core::User;

use roster_core::group::{Group, Membership};
use roster_core::store::StoreError;

/// Put a user in a group of the same workspace (or change the membership's expiry): `$1`
/// workspace, `$2` group, `$3` user, `$4` added at, `$5` expires at. No row when the group
/// or the user is not the workspace's.
pub(crate) const PUT_MEMBERSHIP: &str =
    "INSERT INTO group_members (group_pk, user_pk, added_at, expires_at)
     SELECT g.pk, u.pk, $4, $5 FROM groups g, users u
     WHERE g.pk = $2 AND g.workspace_pk = $1 AND u.pk = $3 AND u.workspace_pk = $1
     ON CONFLICT (group_pk, user_pk) DO UPDATE SET expires_at = EXCLUDED.expires_at";

#[async_trait]
impl GroupStore for PostgresStore {
    async fn find_group(&self, workspace_key: i64, id: &str) -> Result<Option<Group>, StoreError> {
        let row = sqlx::query("SELECT * FROM groups WHERE workspace_pk = $1 AND id = $2")
            .bind(workspace_key)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(rows::group).transpose()
    }

    async fn find_group_by_key(
        &self,
        workspace_key: i64,
        key: i64,
    ) -> Result<Option<Group>, StoreError> {
        let row = sqlx::query("SELECT * FROM groups WHERE workspace_pk = $1 AND pk = $2")
            .bind(workspace_key)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(rows::group).transpose()
    }

    async fn list_groups(
        &self,
        workspace_key: i64,
        before_key: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Group>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM groups WHERE workspace_pk = $1 AND pk < $2 ORDER BY pk DESC LIMIT $3",
        )
        .bind(workspace_key)
        .bind(before_key.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter().map(rows::group).collect()
    }

    async fn delete_group(
        &self,
        workspace_key: i64,
        group_key: i64,
        event: &NewEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT pk FROM groups WHERE workspace_pk = $1 AND pk = $2 FOR UPDATE",
        )
        .bind(workspace_key)
        .bind(group_key)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        if found.is_none() {
            return Ok(false);
        }
        for statement in [
            "DELETE FROM group_members WHERE group_pk = $1",
            "DELETE FROM groups WHERE pk = $1",
        ] {
            sqlx::query(statement)
                .bind(group_key)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        audit::append(&mut tx, workspace_key, event).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(true)
    }

    async fn put_membership(
        &self,
        workspace_key: i64,
        membership: &Membership,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let change = sqlx::query(groups::PUT_MEMBERSHIP)
            .bind(workspace_key)
            .bind(membership.group_key)
            .bind(membership.user_key)
            .bind(membership.added_at)
            .bind(membership.expires_at);
        self.execute_audited(workspace_key, event, change)
            .await
            .map(|_| ())
    }

    async fn delete_membership(
        &self,
        workspace_key: i64,
        group_key: i64,
        user_key: i64,
        event: &NewEvent,
    ) -> Result<bool, StoreError> {
        let change = sqlx::query(
            "DELETE FROM group_members WHERE group_pk = $2 AND user_pk = $3
               AND group_pk IN (SELECT pk FROM groups WHERE workspace_pk = $1)",
        )
        .bind(workspace_key)
        .bind(group_key)
        .bind(user_key);
        self.execute_audited(workspace_key, event, change).await
    }

    async fn list_members(
        &self,
        workspace_key: i64,
        group_key: i64,
        now: DateTime<Utc>,
        before_user_key: Option<i64>,
        limit: u32,
    ) -> Result<Vec<(User, Membership)>, StoreError> {
        let sql = format!(
            "SELECT u.*, {} FROM group_members m JOIN users u ON u.pk = m.user_pk
             WHERE m.group_pk = $1 AND (m.expires_at IS NULL OR m.expires_at > $2)
               AND u.workspace_pk = $3 AND u.deleted_at IS NULL AND m.user_pk < $4
             ORDER BY m.user_pk DESC LIMIT $5",
            roster_store_rows::MEMBERSHIP_COLUMNS
        );
        let rows = sqlx::query(&sql)
            .bind(group_key)
            .bind(now)
            .bind(workspace_key)
            .bind(before_user_key.unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| Ok((rows::user(row)?, rows::membership(row)?)))
            .collect()
    }

    async fn groups_of_users(
        &self,
        workspace_key: i64,
        user_keys: &[i64],
        now: DateTime<Utc>,
    ) -> Result<Vec<(i64, Group, Membership)>, StoreError> {
        let sql = format!(
            "SELECT m.user_pk, g.*, {} FROM group_members m JOIN groups g ON g.pk = m.group_pk
             WHERE m.user_pk = ANY($1) AND (m.expires_at IS NULL OR m.expires_at > $2)
               AND g.workspace_pk = $3
             ORDER BY m.user_pk, g.name_key",
            roster_store_rows::MEMBERSHIP_COLUMNS
        );
        let rows = sqlx::query(&sql)
            .bind(user_keys)
            .bind(now)
            .bind(workspace_key)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                Ok((
                    sqlx::Row::try_get(row, "user_pk").map_err(db_error)?,
                    rows::group(row)?,
                    rows::membership(row)?,
                ))
            })
            .collect()
    }

    async fn write_group(
        &self,
        group: &Group,
        expected_updated_at: Option<DateTime<Utc>>,
        memberships: &[MembershipWrite],
        events: &[NewEvent],
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let key = if group.key == 0 {
            insert(&mut tx, group).await?
        } else {
            let updated = sqlx::query(
                "UPDATE groups SET name = $3, name_key = $4, description = $5, updated_at = $6,
                                   external_id = $8
                 WHERE workspace_pk = $1 AND pk = $2 AND ($7::timestamptz IS NULL OR updated_at = $7)",
            )
            .bind(group.workspace_key)
            .bind(group.key)
            .bind(&group.name)
            .bind(group.name_key())
            .bind(&group.description)
            .bind(group.updated_at)
            .bind(expected_updated_at)
            .bind(&group.external_id)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?
            .rows_affected();
            if updated == 0 {
                let exists: Option<i64> =
                    sqlx::query_scalar("SELECT pk FROM groups WHERE workspace_pk = $1 AND pk = $2")
                        .bind(group.workspace_key)
                        .bind(group.key)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_error)?;
                return match exists {
                    Some(_) => Err(StoreError::Stale),
                    None => Ok(0),
                };
            }
            group.key
        };
        write_memberships(&mut tx, group.workspace_key, key, memberships).await?;
        for event in events {
            audit::append(&mut tx, group.workspace_key, event).await?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(key)
    }
}

async fn insert(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    group: &Group,
) -> Result<i64, StoreError> {
    sqlx::query_scalar(
        "INSERT INTO groups (id, workspace_pk, name, name_key, description, created_at,
                             updated_at, external_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING pk",
    )
    .bind(&group.id)
    .bind(group.workspace_key)
    .bind(&group.name)
    .bind(group.name_key())
    .bind(&group.description)
    .bind(group.created_at)
    .bind(group.updated_at)
    .bind(&group.external_id)
    .fetch_one(&mut **tx)
    .await
    .map_err(db_error)
}

/// Membership changes of one group as two statements over arrays, however many there are.
async fn write_memberships(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    workspace_key: i64,
    group_key: i64,
    memberships: &[MembershipWrite],
) -> Result<(), StoreError> {
    let (mut users, mut added, mut expires, mut removed) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for write in memberships {
        match write {
            MembershipWrite::Put(m) => {
                users.push(m.user_key);
                added.push(m.added_at);
                expires.push(m.expires_at);
            }
            MembershipWrite::Delete { user_key } => removed.push(*user_key),
        }
    }
    if !removed.is_empty() {
        sqlx::query("DELETE FROM group_members WHERE group_pk = $1 AND user_pk = ANY($2)")
            .bind(group_key)
            .bind(&removed)
            .execute(&mut **tx)
            .await
            .map_err(db_error)?;
    }
    if !users.is_empty() {
        sqlx::query(
            "INSERT INTO group_members (group_pk, user_pk, added_at, expires_at)
             SELECT $2, u.pk, w.added_at, w.expires_at
             FROM unnest($3::bigint[], $4::timestamptz[], $5::timestamptz[])
                  AS w (user_pk, added_at, expires_at)
             JOIN users u ON u.pk = w.user_pk AND u.workspace_pk = $1
             ON CONFLICT (group_pk, user_pk) DO UPDATE SET expires_at = EXCLUDED.expires_at",
        )
        .bind(workspace_key)
        .bind(group_key)
        .bind(&users)
        .bind(&added)
        .bind(&expires)
        .execute(&mut **tx)
        .await
        .map_err(db_error)?;
    }
    Ok(())
}
