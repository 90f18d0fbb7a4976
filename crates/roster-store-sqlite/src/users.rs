//! User writes and the list query.

use crate::SqliteStore;
use crate::{audit, rows, user_search, user_writes, users};
use async_trait::async_trait;
use roster_core::audit::NewEvent;
use roster_core::invitation::Invitation;
use roster_core::store::UserStore;
use roster_core::store::UserWrite;

use roster_core::query::UserQuery;
use roster_core::store::{ImportWrite, StoreError, UpdateOutcome};
use roster_core::{User, UserListRequest};
use rusqlite::{params, OptionalExtension, Transaction};

use crate::error::sql_error;
use crate::rows::{micros, to_json, Sql};

/// Insert `user` (with a password hash, for imports); returns its integer key.
pub(crate) fn insert(
    tx: &Transaction<'_>,
    user: &User,
    password_hash: Option<&str>,
) -> Result<i64, StoreError> {
    let attributes = to_json(&user.attributes)?;
    tx.prepare_cached(
        "INSERT INTO users (id, uuid, workspace_pk, external_id, email, email_key, name,
                            given_name, family_name, role, status, attributes,
                            created_at, updated_at, deleted_at, version, password_hash,
                            sessions_limit, allow_authentication_token, user_name,
                            user_name_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                 ?18, ?19, ?20, ?21)",
    )
    .and_then(|mut insert| {
        insert.execute(params![
            user.id,
            user.uuid.to_string(),
            user.workspace_key,
            user.external_id,
            user.email,
            user.email_key(),
            user.name,
            user.given_name,
            user.family_name,
            user.role,
            user.status.as_str(),
            attributes,
            micros(user.created_at),
            micros(user.updated_at),
            user.deleted_at.map(micros),
            user.version,
            password_hash,
            user.sessions_limit,
            user.allow_authentication_token,
            user.user_name,
            user.user_name_key(),
        ])
    })
    .map_err(sql_error)?;
    let pk = tx.last_insert_rowid();
    index_for_search(tx, pk, &Searched::of(user))?;
    if !user.is_deleted() {
        count_live(tx, user.workspace_key, 1)?;
    }
    Ok(pk)
}

/// Move a workspace's count of live users by `change` (`live_user_counts`).
pub(crate) fn count_live(
    tx: &Transaction<'_>,
    workspace_pk: i64,
    change: i64,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO live_user_counts (workspace_pk, live) VALUES (?1, ?2)
         ON CONFLICT (workspace_pk) DO UPDATE SET live = live + excluded.live",
    )
    .and_then(|mut count| count.execute(params![workspace_pk, change]))
    .map(|_| ())
    .map_err(sql_error)
}

/// What the search index (`users_search`, external content) holds of a user.
#[derive(Debug, PartialEq, Eq)]
struct Searched {
    name: String,
    email: String,
    user_name: String,
}

impl Searched {
    fn of(user: &User) -> Self {
        Self {
            name: user.name.clone(),
            email: user.email.clone(),
            user_name: user.user_name.clone(),
        }
    }
}

/// Add a user's name, email and user name to the search index.
fn index_for_search(tx: &Transaction<'_>, pk: i64, s: &Searched) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO users_search (rowid, name, email, user_name) VALUES (?1, ?2, ?3, ?4)",
    )
    .and_then(|mut index| index.execute(params![pk, s.name, s.email, s.user_name]))
    .map(|_| ())
    .map_err(sql_error)
}

/// Take a user's old name, email and user name out of the search index.
fn unindex_for_search(tx: &Transaction<'_>, pk: i64, s: &Searched) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO users_search (users_search, rowid, name, email, user_name)
         VALUES ('delete', ?1, ?2, ?3, ?4)",
    )
    .and_then(|mut unindex| unindex.execute(params![pk, s.name, s.email, s.user_name]))
    .map(|_| ())
    .map_err(sql_error)
}

pub(crate) fn update(
    tx: &Transaction<'_>,
    user: &User,
    expected_version: i64,
) -> Result<UpdateOutcome, StoreError> {
    let attributes = to_json(&user.attributes)?;
    let searched: Option<(Searched, bool)> = tx
        .prepare_cached(
            "SELECT name, email, user_name, deleted_at IS NULL FROM users
             WHERE workspace_pk = ?1 AND pk = ?2",
        )
        .and_then(|mut old| {
            old.query_row(params![user.workspace_key, user.key], |row| {
                let searched = Searched {
                    name: row.get(0)?,
                    email: row.get(1)?,
                    user_name: row.get(2)?,
                };
                Ok((searched, row.get(3)?))
            })
            .optional()
        })
        .map_err(sql_error)?;
    let changed = tx
        .prepare_cached(
            "UPDATE users SET external_id = ?1, email = ?2, email_key = ?3, name = ?4,
                              given_name = ?5, family_name = ?6, role = ?7, status = ?8,
                              attributes = ?9, updated_at = ?10, deleted_at = ?11, version = ?12,
                              sessions_limit = ?16, allow_authentication_token = ?17,
                              user_name = ?18, user_name_key = ?19
             WHERE workspace_pk = ?13 AND pk = ?14 AND version = ?15",
        )
        .and_then(|mut update| {
            update.execute(params![
                user.external_id,
                user.email,
                user.email_key(),
                user.name,
                user.given_name,
                user.family_name,
                user.role,
                user.status.as_str(),
                attributes,
                micros(user.updated_at),
                user.deleted_at.map(micros),
                user.version,
                user.workspace_key,
                user.key,
                expected_version,
                user.sessions_limit,
                user.allow_authentication_token,
                user.user_name,
                user.user_name_key(),
            ])
        })
        .map_err(sql_error)?;
    if changed == 1 {
        let now = Searched::of(user);
        if let Some((old, was_live)) = searched {
            if old != now {
                unindex_for_search(tx, user.key, &old)?;
                index_for_search(tx, user.key, &now)?;
            }
            if was_live == user.is_deleted() {
                count_live(tx, user.workspace_key, if was_live { -1 } else { 1 })?;
            }
        }
        return Ok(UpdateOutcome::Updated);
    }
    let exists = tx
        .prepare_cached("SELECT 1 FROM users WHERE workspace_pk = ?1 AND pk = ?2")
        .and_then(|mut found| found.exists(params![user.workspace_key, user.key]))
        .map_err(sql_error)?;
    Ok(if exists {
        UpdateOutcome::VersionConflict
    } else {
        UpdateOutcome::Missing
    })
}

/// Write an import batch: inserts, and updates that must find their expected version.
pub(crate) fn import(tx: &Transaction<'_>, writes: &[ImportWrite]) -> Result<(), StoreError> {
    for write in writes {
        let hash = write.password_hash.as_deref();
        match write.expected_version {
            None => {
                let pk = insert(tx, &write.user, hash)?;
                crate::user_writes::execute(
                    tx,
                    write.user.workspace_key,
                    pk,
                    write.user.created_at,
                    &write.plan,
                )?;
            }
            Some(expected) => {
                if update(tx, &write.user, expected)? != UpdateOutcome::Updated {
                    return Err(StoreError::Stale);
                }
                if let Some(hash) = hash {
                    tx.prepare_cached(
                        "UPDATE users SET password_hash = ?3 WHERE workspace_pk = ?1 AND pk = ?2",
                    )
                    .and_then(|mut set| {
                        set.execute(params![write.user.workspace_key, write.user.key, hash])
                    })
                    .map_err(sql_error)?;
                }
            }
        }
    }
    Ok(())
}

/// Users an import batch may touch (see `Store::find_import_matches`); the id lists are
/// passed as JSON arrays, so the statement is the same for any batch size.
pub(crate) const IMPORT_MATCHES: &str = "SELECT * FROM users
    WHERE workspace_pk = ?1 AND external_id IN (SELECT value FROM json_each(?2))
    UNION
    SELECT * FROM users
    WHERE workspace_pk = ?1 AND deleted_at IS NULL AND email_key IN (SELECT value FROM json_each(?3))";

/// Newest first, after the cursor. `matching`, when given, is an FTS5 expression the users
/// must match (the trigrams a search plan picked, see `user_search`); `request.search`
/// itself is not read here.
///
/// With a group filter (and no index match), the walk starts from the group's memberships,
/// in descending user key order, so a small group of a big workspace costs its own size.
///
/// Without an index match, the query names the index that serves its filters (`INDEXED
/// BY`): SQLite's planner otherwise may pick another partial index that matches the WHERE
/// clause and sort a million rows for a 20-row page. With one, the trigram index is walked
/// in descending rowid order, so the walk ends as soon as the caller has its page.
pub(crate) fn list_query(request: &UserListRequest, matching: Option<&str>) -> Sql {
    let mut q = Sql::default();
    let members_first = request.group_key.is_some() && matching.is_none();
    if let (true, Some(group)) = (members_first, request.group_key) {
        q.push(
            "SELECT u.* FROM group_members m JOIN users u ON u.pk = m.user_pk WHERE m.group_pk = ",
        );
        q.bind(group);
        q.push(" AND (m.expires_at IS NULL OR m.expires_at > ")
            .bind(micros(request.as_of))
            .push(") AND u.workspace_pk = ");
    } else if let Some(matching) = matching {
        q.push("SELECT u.* FROM users_search s JOIN users u ON u.pk = s.rowid WHERE users_search MATCH ");
        q.bind(matching.to_owned());
        q.push(" AND u.workspace_pk = ");
    } else {
        q.push(&format!(
            "SELECT u.* FROM users u INDEXED BY {} WHERE u.workspace_pk = ",
            index_for(request)
        ));
    }
    q.bind(request.workspace_key);
    push_equalities(&mut q, "u", request);
    if let (false, Some(group)) = (members_first, request.group_key) {
        q.push(" AND u.pk IN (SELECT user_pk FROM group_members WHERE group_pk = ")
            .bind(group)
            .push(" AND (expires_at IS NULL OR expires_at > ")
            .bind(micros(request.as_of))
            .push("))");
    }
    let order_column = if members_first {
        "m.user_pk"
    } else if matching.is_some() {
        "s.rowid"
    } else {
        "u.pk"
    };
    if let Some(before) = request.before_key {
        q.push(&format!(" AND {order_column} < ")).bind(before);
    }
    let plain = !members_first && matching.is_none() && request.group_key.is_none();
    if request.offset > 0 && plain {
        // A numbered page starts at the key `offset` rows down the filter's index, found by
        // a walk of that index alone (its entries end in the key): the table is read only for
        // the page itself.
        q.push(" AND u.pk <= (SELECT a.pk FROM users a INDEXED BY ")
            .push(index_for(request))
            .push(" WHERE a.workspace_pk = ")
            .bind(request.workspace_key);
        push_equalities(&mut q, "a", request);
        if let Some(before) = request.before_key {
            q.push(" AND a.pk < ").bind(before);
        }
        q.push(" ORDER BY a.pk DESC LIMIT 1 OFFSET ")
            .bind(i64::try_from(request.offset).unwrap_or(i64::MAX))
            .push(")");
    }
    q.push(&format!(" ORDER BY {order_column} DESC LIMIT "))
        .bind(i64::from(request.limit));
    if request.offset > 0 && !plain {
        q.push(" OFFSET ")
            .bind(i64::try_from(request.offset).unwrap_or(i64::MAX));
    }
    q
}

/// The equality filters of `request` on the users table aliased `alias`.
fn push_equalities(q: &mut Sql, alias: &str, request: &UserListRequest) {
    if !request.include_deleted {
        q.push(&format!(" AND {alias}.deleted_at IS NULL"));
    }
    if let Some(role) = &request.role {
        q.push(&format!(" AND {alias}.role = ")).bind(role.clone());
    }
    if let Some(status) = request.status {
        q.push(&format!(" AND {alias}.status = "))
            .bind(status.as_str().to_owned());
    }
    if let Some(email_key) = &request.email_key {
        q.push(&format!(" AND {alias}.email_key = "))
            .bind(email_key.clone());
    }
}

/// The index whose key is exactly the request's equality filters (each entry ends in the
/// rowid, so it yields rows newest first with no sort).
fn index_for(request: &UserListRequest) -> &'static str {
    if request.include_deleted {
        return "users_all";
    }
    if request.email_key.is_some() {
        return "users_email_key";
    }
    match (request.role.is_some(), request.status.is_some()) {
        (false, false) => "users_live",
        (true, false) => "users_role",
        (false, true) => "users_status",
        (true, true) => "users_role_status",
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn insert_user(
        &self,
        user: &User,
        event: &NewEvent,
        plan: &[UserWrite],
    ) -> Result<i64, StoreError> {
        let (user, event, plan) = (user.clone(), event.clone(), plan.to_vec());
        self.writer
            .write(move |tx| {
                let pk = users::insert(tx, &user, None)?;
                user_writes::execute(tx, user.workspace_key, pk, user.created_at, &plan)?;
                audit::append(tx, user.workspace_key, &event)?;
                Ok(pk)
            })
            .await
    }

    async fn get_user(&self, workspace_key: i64, id: &str) -> Result<Option<User>, StoreError> {
        self.user_where("id", workspace_key, id).await
    }

    async fn find_user_by_uuid(
        &self,
        workspace_key: i64,
        uuid: uuid::Uuid,
    ) -> Result<Option<User>, StoreError> {
        self.user_where("uuid", workspace_key, &uuid.to_string())
            .await
    }

    async fn find_user_by_key(
        &self,
        workspace_key: i64,
        key: i64,
    ) -> Result<Option<User>, StoreError> {
        self.reader.row(
            "SELECT * FROM users WHERE workspace_pk = ?1 AND pk = ?2",
            params![workspace_key, key],
            rows::user,
        )
    }

    async fn find_user_by_external_id(
        &self,
        workspace_key: i64,
        external_id: &str,
    ) -> Result<Option<User>, StoreError> {
        self.user_where("external_id", workspace_key, external_id)
            .await
    }

    async fn tidy_search_index(&self) -> Result<bool, StoreError> {
        user_search::tidy(&self.reader, &self.writer, &self.search_tidy).await
    }

    async fn list_users(&self, request: &UserListRequest) -> Result<Vec<User>, StoreError> {
        if let Some(search) = &request.search {
            return user_search::search(&self.reader, &self.trigram_counts, request, search);
        }
        let query = users::list_query(request, None);
        self.reader.rows(
            &query.text,
            rusqlite::params_from_iter(query.params),
            rows::user,
        )
    }

    async fn count_users_upto(&self, request: &UserListRequest) -> Result<u64, StoreError> {
        if let Some(search) = &request.search {
            return user_search::count(&self.reader, &self.trigram_counts, request, search);
        }
        let query = users::list_query(request, None);
        let sql = format!("SELECT count(*) FROM ({})", query.text);
        let counted = self
            .reader
            .row(&sql, rusqlite::params_from_iter(query.params), |row| {
                rows::get::<i64>(row, "count(*)")
            })?;
        Ok(counted.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
    }

    async fn update_user(
        &self,
        user: &User,
        expected_version: i64,
        event: &NewEvent,
        plan: &[UserWrite],
    ) -> Result<UpdateOutcome, StoreError> {
        let (user, event, plan) = (user.clone(), event.clone(), plan.to_vec());
        self.writer
            .write(move |tx| {
                let outcome = users::update(tx, &user, expected_version)?;
                if outcome == UpdateOutcome::Updated {
                    user_writes::execute(tx, user.workspace_key, user.key, user.updated_at, &plan)?;
                    audit::append(tx, user.workspace_key, &event)?;
                }
                Ok(outcome)
            })
            .await
    }

    async fn purge_user(
        &self,
        workspace_key: i64,
        user_key: i64,
        event: &NewEvent,
    ) -> Result<bool, StoreError> {
        self.write_audited(workspace_key, event, move |tx| {
            user_writes::purge(tx, workspace_key, user_key)
        })
        .await
    }

    async fn find_invitation(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<(Invitation, User, String)>, StoreError> {
        self.reader.row(
            user_writes::FIND_INVITATION,
            [token_hash.as_slice()],
            |row| {
                Ok((
                    rows::invitation(row)?,
                    rows::user(row)?,
                    rows::get(row, "w_id")?,
                ))
            },
        )
    }

    async fn find_import_matches(
        &self,
        workspace_key: i64,
        external_ids: &[String],
        email_keys: &[String],
    ) -> Result<Vec<User>, StoreError> {
        self.reader.rows(
            users::IMPORT_MATCHES,
            params![
                workspace_key,
                rows::to_json(&external_ids)?,
                rows::to_json(&email_keys)?
            ],
            rows::user,
        )
    }

    async fn import_users(
        &self,
        workspace_key: i64,
        writes: &[ImportWrite],
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let (writes, event) = (writes.to_vec(), event.clone());
        self.writer
            .write_alone(move |tx| {
                users::import(tx, &writes)?;
                audit::append(tx, workspace_key, &event)
            })
            .await
    }

    async fn find_users_by_ids(
        &self,
        workspace_key: i64,
        ids: &[String],
    ) -> Result<Vec<User>, StoreError> {
        let ids = to_json(&ids)?;
        self.reader.rows(
            "SELECT * FROM users WHERE workspace_pk = ?1 AND deleted_at IS NULL
               AND id IN (SELECT value FROM json_each(?2))",
            params![workspace_key, ids],
            rows::user,
        )
    }

    async fn query_users(&self, query: &UserQuery) -> Result<Vec<User>, StoreError> {
        let mut sql = self.user_query_sql(query)?;
        roster_store_rows::query::page(&mut sql, "*", query);
        self.reader.rows(
            &sql.sql.text,
            rusqlite::params_from_iter(sql.sql.params),
            rows::user,
        )
    }

    async fn count_users(&self, query: &UserQuery) -> Result<u64, StoreError> {
        if query.condition == roster_core::query::Condition::All {
            let live: Option<i64> = self.reader.row(
                "SELECT live FROM live_user_counts WHERE workspace_pk = ?1",
                params![query.workspace_key],
                |row| rows::get(row, "live"),
            )?;
            return Ok(u64::try_from(live.unwrap_or(0)).unwrap_or(0));
        }
        let mut sql = self.user_query_sql(query)?;
        roster_store_rows::query::count(&mut sql, query);
        let count: Option<i64> = self.reader.row(
            &sql.sql.text,
            rusqlite::params_from_iter(sql.sql.params),
            |row| rows::get(row, "count(*)"),
        )?;
        Ok(u64::try_from(count.unwrap_or(0)).unwrap_or(0))
    }
}

impl SqliteStore {
    /// The SQL builder for `query`, with a plan for each substring it looks for.
    fn user_query_sql(
        &self,
        query: &UserQuery,
    ) -> Result<crate::user_queries::UserQuerySql, StoreError> {
        Ok(crate::user_queries::UserQuerySql {
            sql: Sql::default(),
            substrings: crate::substring::plans(
                &self.reader,
                &self.trigram_counts,
                &query.condition,
            )?,
        })
    }
}
