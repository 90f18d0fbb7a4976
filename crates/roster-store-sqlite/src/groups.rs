//! Groups and memberships on SQLite.

use crate::SqliteStore;
use crate::{audit, groups, rows};
use async_trait::async_trait;
use chrono::DateTime;
use chrono::Utc;
use roster_core::audit::NewEvent;
use roster_core::store::{GroupStore, MembershipWrite};
use roster_core::User;

use roster_core::group::{Group, Membership};
use roster_core::store::StoreError;
use rusqlite::{params, Transaction};

use crate::error::sql_error;
use crate::rows::micros;

pub(crate) fn insert(tx: &Transaction<'_>, group: &Group) -> Result<i64, StoreError> {
    tx.execute(
        "INSERT INTO groups (id, workspace_pk, name, name_key, description, created_at, updated_at,
                             external_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            group.id,
            group.workspace_key,
            group.name,
            group.name_key(),
            group.description,
            micros(group.created_at),
            micros(group.updated_at),
            group.external_id,
        ],
    )
    .map_err(sql_error)?;
    Ok(tx.last_insert_rowid())
}

/// Update the group while its `updated_at` is still `expected` (when given).
pub(crate) fn update_if(
    tx: &Transaction<'_>,
    group: &Group,
    expected: Option<DateTime<Utc>>,
) -> Result<bool, StoreError> {
    tx.execute(
        "UPDATE groups SET name = ?3, name_key = ?4, description = ?5, updated_at = ?6,
                           external_id = ?8
         WHERE workspace_pk = ?1 AND pk = ?2 AND (?7 IS NULL OR updated_at = ?7)",
        params![
            group.workspace_key,
            group.key,
            group.name,
            group.name_key(),
            group.description,
            micros(group.updated_at),
            expected.map(micros),
            group.external_id,
        ],
    )
    .map(|n| n == 1)
    .map_err(sql_error)
}

/// After a conditional update changed nothing: 0 when the group is gone, `Stale` when it
/// changed meanwhile.
pub(crate) fn missing_or_stale(tx: &Transaction<'_>, group: &Group) -> Result<i64, StoreError> {
    let exists = tx
        .prepare_cached("SELECT 1 FROM groups WHERE workspace_pk = ?1 AND pk = ?2")
        .and_then(|mut found| found.exists(params![group.workspace_key, group.key]))
        .map_err(sql_error)?;
    if exists {
        Err(StoreError::Stale)
    } else {
        Ok(0)
    }
}

pub(crate) fn delete(
    tx: &Transaction<'_>,
    workspace_pk: i64,
    group_pk: i64,
) -> Result<bool, StoreError> {
    tx.execute("DELETE FROM group_members WHERE group_pk = ?1 AND group_pk IN (SELECT pk FROM groups WHERE workspace_pk = ?2)", params![group_pk, workspace_pk])
        .map_err(sql_error)?;
    tx.execute(
        "DELETE FROM groups WHERE workspace_pk = ?1 AND pk = ?2",
        params![workspace_pk, group_pk],
    )
    .map(|n| n == 1)
    .map_err(sql_error)
}

/// Add the membership or replace its expiry (both the group and the user must be the
/// workspace's).
pub(crate) fn put_membership(
    tx: &Transaction<'_>,
    workspace_pk: i64,
    membership: &Membership,
) -> Result<bool, StoreError> {
    tx.execute(
        "INSERT INTO group_members (group_pk, user_pk, added_at, expires_at)
         SELECT g.pk, u.pk, ?4, ?5 FROM groups g, users u
         WHERE g.pk = ?2 AND g.workspace_pk = ?1 AND u.pk = ?3 AND u.workspace_pk = ?1
         ON CONFLICT (group_pk, user_pk) DO UPDATE SET expires_at = excluded.expires_at",
        params![
            workspace_pk,
            membership.group_key,
            membership.user_key,
            micros(membership.added_at),
            membership.expires_at.map(micros),
        ],
    )
    .map(|n| n == 1)
    .map_err(sql_error)
}

pub(crate) fn delete_membership(
    tx: &Transaction<'_>,
    workspace_pk: i64,
    group_pk: i64,
    user_pk: i64,
) -> Result<bool, StoreError> {
    tx.execute(
        "DELETE FROM group_members WHERE group_pk = ?2 AND user_pk = ?3
           AND group_pk IN (SELECT pk FROM groups WHERE workspace_pk = ?1)",
        params![workspace_pk, group_pk, user_pk],
    )
    .map(|n| n == 1)
    .map_err(sql_error)
}

#[async_trait]
impl GroupStore for SqliteStore {
    async fn find_group(&self, workspace_key: i64, id: &str) -> Result<Option<Group>, StoreError> {
        self.reader.row(
            "SELECT * FROM groups WHERE workspace_pk = ?1 AND id = ?2",
            params![workspace_key, id],
            rows::group,
        )
    }

    async fn find_group_by_key(
        &self,
        workspace_key: i64,
        key: i64,
    ) -> Result<Option<Group>, StoreError> {
        self.reader.row(
            "SELECT * FROM groups WHERE workspace_pk = ?1 AND pk = ?2",
            params![workspace_key, key],
            rows::group,
        )
    }

    async fn list_groups(
        &self,
        workspace_key: i64,
        before_key: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Group>, StoreError> {
        self.reader.rows(
            "SELECT * FROM groups WHERE workspace_pk = ?1 AND pk < ?2 ORDER BY pk DESC LIMIT ?3",
            params![
                workspace_key,
                before_key.unwrap_or(i64::MAX),
                i64::from(limit)
            ],
            rows::group,
        )
    }

    async fn delete_group(
        &self,
        workspace_key: i64,
        group_key: i64,
        event: &NewEvent,
    ) -> Result<bool, StoreError> {
        self.write_audited(workspace_key, event, move |tx| {
            groups::delete(tx, workspace_key, group_key)
        })
        .await
    }

    async fn put_membership(
        &self,
        workspace_key: i64,
        membership: &Membership,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let membership = membership.clone();
        self.write_audited(workspace_key, event, move |tx| {
            groups::put_membership(tx, workspace_key, &membership)
        })
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
        self.write_audited(workspace_key, event, move |tx| {
            groups::delete_membership(tx, workspace_key, group_key, user_key)
        })
        .await
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
             WHERE m.group_pk = ?1 AND (m.expires_at IS NULL OR m.expires_at > ?2)
               AND u.workspace_pk = ?3 AND u.deleted_at IS NULL AND m.user_pk < ?4
             ORDER BY m.user_pk DESC LIMIT ?5",
            roster_store_rows::MEMBERSHIP_COLUMNS
        );
        self.reader.rows(
            &sql,
            params![
                group_key,
                rows::micros(now),
                workspace_key,
                before_user_key.unwrap_or(i64::MAX),
                i64::from(limit)
            ],
            |row| Ok((rows::user(row)?, rows::membership(row)?)),
        )
    }

    async fn groups_of_users(
        &self,
        workspace_key: i64,
        user_keys: &[i64],
        now: DateTime<Utc>,
    ) -> Result<Vec<(i64, Group, Membership)>, StoreError> {
        let sql = format!(
            "SELECT m.user_pk, g.*, {} FROM group_members m JOIN groups g ON g.pk = m.group_pk
             WHERE m.user_pk IN (SELECT value FROM json_each(?1))
               AND (m.expires_at IS NULL OR m.expires_at > ?2)
               AND g.workspace_pk = ?3
             ORDER BY m.user_pk, g.name_key",
            roster_store_rows::MEMBERSHIP_COLUMNS
        );
        self.reader.rows(
            &sql,
            params![rows::to_json(&user_keys)?, rows::micros(now), workspace_key],
            |row| {
                Ok((
                    row.get("user_pk").map_err(sql_error)?,
                    rows::group(row)?,
                    rows::membership(row)?,
                ))
            },
        )
    }

    async fn write_group(
        &self,
        group: &Group,
        expected_updated_at: Option<DateTime<Utc>>,
        memberships: &[MembershipWrite],
        events: &[NewEvent],
    ) -> Result<i64, StoreError> {
        let (group, memberships, events) = (group.clone(), memberships.to_vec(), events.to_vec());
        self.writer
            .write(move |tx| {
                let key = if group.key == 0 {
                    groups::insert(tx, &group)?
                } else if groups::update_if(tx, &group, expected_updated_at)? {
                    group.key
                } else {
                    return groups::missing_or_stale(tx, &group);
                };
                for write in &memberships {
                    match write {
                        MembershipWrite::Put(membership) => {
                            let membership = Membership {
                                group_key: key,
                                ..membership.clone()
                            };
                            groups::put_membership(tx, group.workspace_key, &membership)?;
                        }
                        MembershipWrite::Delete { user_key } => {
                            groups::delete_membership(tx, group.workspace_key, key, *user_key)?;
                        }
                    }
                }
                for event in &events {
                    audit::append(tx, group.workspace_key, event)?;
                }
                Ok(key)
            })
            .await
    }
}
