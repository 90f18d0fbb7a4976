//! Groups and memberships on SQLite.

use roster_core::group::{Group, Membership};
use roster_core::store::StoreError;
use rusqlite::{params, Row, Transaction};

use crate::error::sql_error;
use crate::rows::{get, micros, time};

pub(crate) fn insert(tx: &Transaction<'_>, group: &Group) -> Result<i64, StoreError> {
    tx.execute(
        "INSERT INTO groups (id, workspace_pk, name, name_key, description, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            group.id,
            group.workspace_key,
            group.name,
            group.name_key(),
            group.description,
            micros(group.created_at),
            micros(group.updated_at),
        ],
    )
    .map_err(sql_error)?;
    Ok(tx.last_insert_rowid())
}

pub(crate) fn update(tx: &Transaction<'_>, group: &Group) -> Result<bool, StoreError> {
    tx.execute(
        "UPDATE groups SET name = ?3, name_key = ?4, description = ?5, updated_at = ?6
         WHERE workspace_pk = ?1 AND pk = ?2",
        params![
            group.workspace_key,
            group.key,
            group.name,
            group.name_key(),
            group.description,
            micros(group.updated_at),
        ],
    )
    .map(|n| n == 1)
    .map_err(sql_error)
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

pub(crate) fn group(row: &Row<'_>) -> Result<Group, StoreError> {
    Ok(Group {
        key: get(row, "pk")?,
        id: get(row, "id")?,
        workspace_key: get(row, "workspace_pk")?,
        name: get(row, "name")?,
        description: get(row, "description")?,
        created_at: time(get(row, "created_at")?)?,
        updated_at: time(get(row, "updated_at")?)?,
    })
}

/// The `m_…` columns of a joined membership.
pub(crate) fn membership(row: &Row<'_>) -> Result<Membership, StoreError> {
    Ok(Membership {
        group_key: get(row, "m_group_pk")?,
        user_key: get(row, "m_user_pk")?,
        added_at: time(get(row, "m_added_at")?)?,
        expires_at: get::<Option<i64>>(row, "m_expires_at")?
            .map(time)
            .transpose()?,
    })
}

pub(crate) const MEMBERSHIP_COLUMNS: &str = "m.group_pk AS m_group_pk, m.user_pk AS m_user_pk,
    m.added_at AS m_added_at, m.expires_at AS m_expires_at";
