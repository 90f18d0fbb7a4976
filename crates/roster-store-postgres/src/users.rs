//! User writes and the list query.

use crate::PostgresStore;
use crate::{audit, rows, user_search, user_writes, users};
use async_trait::async_trait;
use roster_core::invitation::Invitation;
use roster_core::store::UserStore;

use std::sync::LazyLock;

use roster_core::audit::NewEvent;
use roster_core::query::UserQuery;
use roster_core::store::{ImportWrite, StoreError, UpdateOutcome, UserWrite};
use roster_core::{User, UserListRequest};

use crate::user_queries::PgQuery;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, QueryBuilder, Row, Transaction};

use crate::error::db_error;

const INSERT: &str = "INSERT INTO users (id, uuid, workspace_pk, external_id, email, email_key,
        name, given_name, family_name, role, status, attributes, created_at, updated_at,
        deleted_at, version, password_hash, sessions_limit, allow_authentication_token,
        user_name, user_name_key)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
        $20, $21)
    RETURNING pk";

const UPDATE: &str = "UPDATE users SET external_id = $1, email = $2, email_key = $3, name = $4,
        given_name = $5, family_name = $6, role = $7, status = $8, attributes = $9,
        updated_at = $10, deleted_at = $11, version = $12, sessions_limit = $16,
        allow_authentication_token = $17, user_name = $18, user_name_key = $19
    WHERE workspace_pk = $13 AND pk = $14 AND version = $15
    RETURNING pk";

/// The insert and its event, one statement.
static AUDITED_INSERT: LazyLock<String> = LazyLock::new(|| audit::audited(INSERT, 21));
/// The conditional update and, if it matched, its event, one statement.
static AUDITED_UPDATE: LazyLock<String> = LazyLock::new(|| audit::audited(UPDATE, 19));

fn bind_insert<'q>(
    query: Query<'q, Postgres, PgArguments>,
    user: &'q User,
    password_hash: Option<&'q str>,
) -> Query<'q, Postgres, PgArguments> {
    query
        .bind(&user.id)
        .bind(user.uuid)
        .bind(user.workspace_key)
        .bind(&user.external_id)
        .bind(&user.email)
        .bind(user.email_key())
        .bind(&user.name)
        .bind(&user.given_name)
        .bind(&user.family_name)
        .bind(&user.role)
        .bind(user.status.as_str())
        .bind(Json(&user.attributes))
        .bind(user.created_at)
        .bind(user.updated_at)
        .bind(user.deleted_at)
        .bind(user.version)
        .bind(password_hash)
        .bind(user.sessions_limit.map(i64::from))
        .bind(user.allow_authentication_token)
        .bind(&user.user_name)
        .bind(user.user_name_key())
}

/// Insert `user` and append `event`, atomically: one statement, which needs no transaction,
/// unless its plan has primitives to execute with it.
pub(crate) async fn insert(
    pool: &PgPool,
    user: &User,
    event: &NewEvent,
    plan: &[UserWrite],
) -> Result<i64, StoreError> {
    let query = bind_insert(sqlx::query(AUDITED_INSERT.as_str()), user, None);
    let query = audit::bind_event(query, user.workspace_key, event);
    if plan.is_empty() {
        let row = query.fetch_one(pool).await.map_err(db_error)?;
        return row.try_get("pk").map_err(db_error);
    }
    let mut tx = pool.begin().await.map_err(db_error)?;
    let row = query.fetch_one(&mut *tx).await.map_err(db_error)?;
    let pk: i64 = row.try_get("pk").map_err(db_error)?;
    user_writes::execute(&mut tx, user.workspace_key, pk, user.created_at, plan).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(pk)
}

#[cfg(feature = "bench")]
pub(crate) async fn insert_without_event(pool: &PgPool, user: &User) -> Result<i64, StoreError> {
    let row = bind_insert(sqlx::query(INSERT), user, None)
        .fetch_one(pool)
        .await
        .map_err(db_error)?;
    row.try_get("pk").map_err(db_error)
}

fn bind_update<'q>(
    query: Query<'q, Postgres, PgArguments>,
    user: &'q User,
    expected_version: i64,
) -> Query<'q, Postgres, PgArguments> {
    query
        .bind(&user.external_id)
        .bind(&user.email)
        .bind(user.email_key())
        .bind(&user.name)
        .bind(&user.given_name)
        .bind(&user.family_name)
        .bind(&user.role)
        .bind(user.status.as_str())
        .bind(Json(&user.attributes))
        .bind(user.updated_at)
        .bind(user.deleted_at)
        .bind(user.version)
        .bind(user.workspace_key)
        .bind(user.key)
        .bind(expected_version)
        .bind(user.sessions_limit.map(i64::from))
        .bind(user.allow_authentication_token)
        .bind(&user.user_name)
        .bind(user.user_name_key())
}

/// The trigram indexes' pending lists on Roster's connections (migration 0017): a search
/// scans what waits there, every entry, so they stay short.
pub(crate) const PENDING_LIST_LIMIT: &str = "1MB";

/// The same within an import batch's transaction: a batch of new users brings some
/// seventy trigram entries each, merged into the indexes whenever the list is full, and
/// the longer the sorted run, the fewer index pages each merge visits.
const IMPORT_PENDING_LIST_LIMIT: &str = "SET LOCAL gin_pending_list_limit = '16MB'";

/// Write an import batch in `tx`: inserts, and updates that must find their expected version.
pub(crate) async fn import(
    tx: &mut Transaction<'static, Postgres>,
    writes: &[ImportWrite],
) -> Result<(), StoreError> {
    let created: Vec<&ImportWrite> = writes
        .iter()
        .filter(|w| w.expected_version.is_none())
        .collect();
    if !created.is_empty() {
        sqlx::query(IMPORT_PENDING_LIST_LIMIT)
            .execute(&mut **tx)
            .await
            .map_err(db_error)?;
        insert_many(tx, &created).await?;
        crate::statistics::analyze_users_if_grown(tx).await?;
    }
    // A new user's invitation and mail need its key, which the batch insert does not
    // return: read the keys of those users in one query.
    let with_plan: Vec<&&ImportWrite> = created.iter().filter(|w| !w.plan.is_empty()).collect();
    if let Some(first) = with_plan.first() {
        let ids: Vec<&str> = with_plan.iter().map(|w| w.user.id.as_str()).collect();
        let keys: std::collections::HashMap<String, i64> =
            sqlx::query_as("SELECT id, pk FROM users WHERE workspace_pk = $1 AND id = ANY($2)")
                .bind(first.user.workspace_key)
                .bind(&ids)
                .fetch_all(&mut **tx)
                .await
                .map_err(db_error)?
                .into_iter()
                .collect();
        for write in with_plan {
            let pk = *keys.get(&write.user.id).ok_or(StoreError::Stale)?;
            user_writes::execute(
                tx,
                write.user.workspace_key,
                pk,
                write.user.created_at,
                &write.plan,
            )
            .await?;
        }
    }
    for write in writes {
        let hash = write.password_hash.as_deref();
        match write.expected_version {
            None => {}
            Some(expected) => {
                let updated = bind_update(sqlx::query(UPDATE), &write.user, expected)
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(db_error)?;
                if updated.is_none() {
                    return Err(StoreError::Stale);
                }
                if let Some(hash) = hash {
                    sqlx::query(
                        "UPDATE users SET password_hash = $3 WHERE workspace_pk = $1 AND pk = $2",
                    )
                    .bind(write.user.workspace_key)
                    .bind(write.user.key)
                    .bind(hash)
                    .execute(&mut **tx)
                    .await
                    .map_err(db_error)?;
                }
            }
        }
    }
    Ok(())
}

/// New users of an import batch in one statement: a column array each, unnested.
async fn insert_many(
    tx: &mut Transaction<'static, Postgres>,
    created: &[&ImportWrite],
) -> Result<(), StoreError> {
    fn column<'a, T>(created: &[&'a ImportWrite], f: impl Fn(&'a ImportWrite) -> T) -> Vec<T> {
        created.iter().map(|w| f(w)).collect()
    }
    sqlx::query(
        "INSERT INTO users (id, uuid, workspace_pk, external_id, email, email_key, name,
             given_name, family_name, role, status, attributes, created_at, updated_at,
             deleted_at, version, password_hash, sessions_limit, allow_authentication_token,
             user_name, user_name_key)
         SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::int8[], $4::text[], $5::text[],
             $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
             $12::jsonb[], $13::timestamptz[], $14::timestamptz[], $15::timestamptz[],
             $16::int8[], $17::text[], $18::int8[], $19::bool[], $20::text[], $21::text[])",
    )
    .bind(column(created, |w| w.user.id.as_str()))
    .bind(column(created, |w| w.user.uuid))
    .bind(column(created, |w| w.user.workspace_key))
    .bind(column(created, |w| w.user.external_id.as_deref()))
    .bind(column(created, |w| w.user.email.as_str()))
    .bind(column(created, |w| w.user.email_key()))
    .bind(column(created, |w| w.user.name.as_str()))
    .bind(column(created, |w| w.user.given_name.as_deref()))
    .bind(column(created, |w| w.user.family_name.as_deref()))
    .bind(column(created, |w| w.user.role.as_str()))
    .bind(column(created, |w| w.user.status.as_str()))
    .bind(column(created, |w| Json(&w.user.attributes)))
    .bind(column(created, |w| w.user.created_at))
    .bind(column(created, |w| w.user.updated_at))
    .bind(column(created, |w| w.user.deleted_at))
    .bind(column(created, |w| w.user.version))
    .bind(column(created, |w| w.password_hash.as_deref()))
    .bind(column(created, |w| w.user.sessions_limit.map(i64::from)))
    .bind(column(created, |w| w.user.allow_authentication_token))
    .bind(column(created, |w| w.user.user_name.as_str()))
    .bind(column(created, |w| w.user.user_name_key()))
    .execute(&mut **tx)
    .await
    .map(|_| ())
    .map_err(db_error)
}

/// Users an import batch may touch (see `Store::find_import_matches`): one probe of a unique
/// index per listed external id and email key, whatever the planner's statistics say. As
/// `= ANY($2)` filters, a table the planner had no statistics of yet (an import's first
/// minutes, or autovacuum off) was planned as a scan of the whole workspace: 3.9 s a
/// 20,000-row batch at a million users, and 0.7 s with statistics (a parallel scan for the
/// emails), against 0.2 s probed. Run unprepared (`persistent(false)`), so no plan is kept
/// from a batch to the next. A user found both ways appears twice; the caller keys them by id.
pub(crate) const IMPORT_MATCHES: &str = "SELECT u.* FROM unnest($2::text[]) AS k(wanted)
    CROSS JOIN LATERAL (SELECT * FROM users WHERE workspace_pk = $1
        AND external_id = k.wanted LIMIT 1) u
    UNION ALL
    SELECT u.* FROM unnest($3::text[]) AS k(wanted)
    CROSS JOIN LATERAL (SELECT * FROM users WHERE workspace_pk = $1
        AND deleted_at IS NULL AND email_key = k.wanted LIMIT 1) u";

/// Write `user` if its row still has `expected_version`, and then only append `event`.
pub(crate) async fn update(
    pool: &PgPool,
    user: &User,
    expected_version: i64,
    event: &NewEvent,
    plan: &[UserWrite],
) -> Result<UpdateOutcome, StoreError> {
    let query = bind_update(sqlx::query(AUDITED_UPDATE.as_str()), user, expected_version);
    let query = audit::bind_event(query, user.workspace_key, event);
    let updated = if plan.is_empty() {
        query
            .fetch_optional(pool)
            .await
            .map_err(db_error)?
            .is_some()
    } else {
        let mut tx = pool.begin().await.map_err(db_error)?;
        let updated = query
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?
            .is_some();
        if updated {
            user_writes::execute(&mut tx, user.workspace_key, user.key, user.updated_at, plan)
                .await?;
            tx.commit().await.map_err(db_error)?;
        }
        updated
    };
    if updated {
        return Ok(UpdateOutcome::Updated);
    }
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT version FROM users WHERE workspace_pk = $1 AND pk = $2")
            .bind(user.workspace_key)
            .bind(user.key)
            .fetch_optional(pool)
            .await
            .map_err(db_error)?;
    Ok(match exists {
        Some(_) => UpdateOutcome::VersionConflict,
        None => UpdateOutcome::Missing,
    })
}

/// ` LIMIT n` for a statement whose best plan is the same whatever values are bound:
/// `n` is written in, not bound. PostgreSQL prices a prepared statement's generic plan
/// (planned once, kept by the connection) for an unknown `LIMIT $n` as if a tenth of the
/// table were read, so with a bound limit it plans every execution anew. With planner
/// statistics (any deployment with autovacuum) that planning cost more than the page: a
/// list page's bind took 0.40–0.69 ms against 0.12–0.23 ms to execute (1M users), and the
/// first page served 2,760 req/s against 4,390 without statistics. A written limit lets the
/// connection keep the generic plan after its fifth execution. Page sizes are few (a
/// statement each, in the connection's statement cache), and the number is an integer, so
/// nothing a client sends reaches the SQL text.
pub(crate) fn written_limit(limit: u32) -> String {
    format!(" LIMIT {limit}")
}

/// The limit of a list statement over `request`'s filters: written in ([`written_limit`])
/// unless a bound value shapes the plan (a role outside [`written_role`]'s alphabet, an
/// email, a group), then bound, so the statement is planned for its values.
pub(crate) fn push_limit(
    q: &mut QueryBuilder<'static, Postgres>,
    request: &UserListRequest,
    limit: u32,
) {
    let bound = request
        .role
        .as_deref()
        .is_some_and(|role| written_role(role).is_none())
        || request.email_key.is_some()
        || request.group_key.is_some();
    if bound {
        q.push(" LIMIT ").push_bind(i64::from(limit));
    } else {
        q.push(written_limit(limit));
    }
}

/// `role` as an SQL literal, when it is made only of what role names are made of (ASCII
/// letters, digits, `_`, `-` and `.`: `roster_core::roles::validate_role_name`), checked
/// again here so nothing else reaches the SQL text. A role filter is written in, like the
/// status (one of three words) and the page size, because a generic plan cannot tell a rare
/// role from a common one: for `role = $2 AND status = $3` it walked the whole key index
/// filtering rows (37 ms for a search's walk of 320 rows, against 0.9 ms through the filter's
/// index), and planning each execution instead cost 0.8 ms against 0.08 ms to run it. With
/// the values in the statement the connection keeps the right plan. A workspace has few
/// roles, so the statements stay few.
pub(crate) fn written_role(role: &str) -> Option<String> {
    let plain = !role.is_empty()
        && role.len() <= roster_core::roles::MAX_ROLE_CHARS
        && role
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    plain.then(|| format!("'{role}'"))
}

/// Newest first, after the cursor. A search is not read here: `user_search` runs it.
pub(crate) fn list_query(request: &UserListRequest) -> QueryBuilder<'static, Postgres> {
    let mut q = QueryBuilder::new("");
    if let Some(group) = request.group_key {
        // Members first: the group's memberships in descending user key order, each user
        // fetched by key, so a small group of a big workspace costs its own size.
        q.push(
            "SELECT u.* FROM group_members m CROSS JOIN LATERAL \
             (SELECT * FROM users WHERE users.pk = m.user_pk LIMIT 1) u WHERE m.group_pk = ",
        )
        .push_bind(group)
        .push(" AND (m.expires_at IS NULL OR m.expires_at > ")
        .push_bind(request.as_of)
        .push(") AND workspace_pk = ");
    } else {
        q.push("SELECT * FROM users WHERE workspace_pk = ");
    }
    q.push_bind(request.workspace_key);
    push_equalities(&mut q, request);
    let order = if request.group_key.is_some() {
        "m.user_pk"
    } else {
        "pk"
    };
    if let Some(before) = request.before_key {
        q.push(format!(" AND {order} < ")).push_bind(before);
    }
    let plain = request.group_key.is_none();
    let offset = i64::try_from(request.offset).unwrap_or(i64::MAX);
    if request.offset > 0 && plain {
        // A numbered page starts at the key `offset` rows down the filter's index, found by
        // an index-only scan (the filter indexes end in the key): the table is read only for
        // the page itself.
        q.push(" AND pk <= (SELECT pk FROM users WHERE workspace_pk = ")
            .push_bind(request.workspace_key);
        push_equalities(&mut q, request);
        if let Some(before) = request.before_key {
            q.push(" AND pk < ").push_bind(before);
        }
        q.push(" ORDER BY pk DESC LIMIT 1 OFFSET ")
            .push_bind(offset)
            .push(")");
    }
    q.push(format!(" ORDER BY {order} DESC"));
    push_limit(&mut q, request, request.limit);
    if request.offset > 0 && !plain {
        q.push(" OFFSET ").push_bind(offset);
    }
    q
}

/// The equality filters of `request` (unqualified columns of `users`).
pub(crate) fn push_equalities(q: &mut QueryBuilder<'static, Postgres>, request: &UserListRequest) {
    if !request.include_deleted {
        q.push(" AND deleted_at IS NULL");
    }
    // Written in, not bound, where that is safe: see `written_role`.
    if let Some(role) = &request.role {
        match written_role(role) {
            Some(literal) => q.push(format!(" AND role = {literal}")),
            None => q.push(" AND role = ").push_bind(role.clone()),
        };
    }
    if let Some(status) = request.status {
        q.push(format!(" AND status = '{}'", status.as_str()));
    }
    if let Some(email_key) = &request.email_key {
        q.push(" AND email_key = ").push_bind(email_key.clone());
    }
}

/// `search` as an ILIKE pattern matching it anywhere, with `%`, `_` and `\\` escaped by
/// `\\` (PostgreSQL's default escape character).
pub(crate) fn like_pattern(search: &str) -> String {
    format!("%{}%", roster_store_rows::query::like_escape(search))
}

#[async_trait]
impl UserStore for PostgresStore {
    async fn insert_user(
        &self,
        user: &User,
        event: &NewEvent,
        plan: &[UserWrite],
    ) -> Result<i64, StoreError> {
        users::insert(&self.pool, user, event, plan).await
    }

    async fn get_user(&self, workspace_key: i64, id: &str) -> Result<Option<User>, StoreError> {
        self.user_where("id", workspace_key, id).await
    }

    async fn find_user_by_uuid(
        &self,
        workspace_key: i64,
        uuid: uuid::Uuid,
    ) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("SELECT * FROM users WHERE workspace_pk = $1 AND uuid = $2")
            .bind(workspace_key)
            .bind(uuid)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn find_user_by_key(
        &self,
        workspace_key: i64,
        key: i64,
    ) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("SELECT * FROM users WHERE workspace_pk = $1 AND pk = $2")
            .bind(workspace_key)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn find_user_by_external_id(
        &self,
        workspace_key: i64,
        external_id: &str,
    ) -> Result<Option<User>, StoreError> {
        self.user_where("external_id", workspace_key, external_id)
            .await
    }

    async fn list_users(&self, request: &UserListRequest) -> Result<Vec<User>, StoreError> {
        if let Some(search) = &request.search {
            let pools = user_search::Pools {
                planned: &self.pool,
                generic: &self.generic_pool,
            };
            return user_search::search(pools, &self.search_counting, request, search).await;
        }
        let rows = users::list_query(request)
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(rows::user).collect()
    }

    async fn update_user(
        &self,
        user: &User,
        expected_version: i64,
        event: &NewEvent,
        plan: &[UserWrite],
    ) -> Result<UpdateOutcome, StoreError> {
        users::update(&self.pool, user, expected_version, event, plan).await
    }

    async fn purge_user(
        &self,
        workspace_key: i64,
        user_key: i64,
        event: &NewEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        if !user_writes::purge(&mut tx, workspace_key, user_key).await? {
            return Ok(false);
        }
        audit::append(&mut tx, workspace_key, event).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(true)
    }

    async fn find_invitation(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<(Invitation, User, String)>, StoreError> {
        let row = sqlx::query(user_writes::FIND_INVITATION)
            .bind(token_hash.as_slice())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.map(|row| {
            Ok((
                rows::invitation(&row)?,
                rows::user(&row)?,
                rows::get(&row, "w_id")?,
            ))
        })
        .transpose()
    }

    async fn find_import_matches(
        &self,
        workspace_key: i64,
        external_ids: &[String],
        email_keys: &[String],
    ) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(users::IMPORT_MATCHES)
            .persistent(false)
            .bind(workspace_key)
            .bind(external_ids)
            .bind(email_keys)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter().map(rows::user).collect()
    }

    async fn import_users(
        &self,
        workspace_key: i64,
        writes: &[ImportWrite],
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        users::import(&mut tx, writes).await?;
        audit::append(&mut tx, workspace_key, event).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn find_users_by_ids(
        &self,
        workspace_key: i64,
        ids: &[String],
    ) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM users WHERE workspace_pk = $1 AND deleted_at IS NULL AND id = ANY($2)",
        )
        .bind(workspace_key)
        .bind(ids)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.iter().map(rows::user).collect()
    }

    async fn query_users(&self, query: &UserQuery) -> Result<Vec<User>, StoreError> {
        let mut q = PgQuery::new();
        roster_store_rows::query::page(&mut q, "*", query);
        let rows = q.0.build().fetch_all(&self.pool).await.map_err(db_error)?;
        rows.iter().map(rows::user).collect()
    }

    async fn count_users(&self, query: &UserQuery) -> Result<u64, StoreError> {
        let mut q = PgQuery::new();
        roster_store_rows::query::count(&mut q, query);
        let count: i64 =
            q.0.build_query_scalar()
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Move what waits in the trigram indexes' pending lists into the indexes (migration
    /// 0014), so searches stop scanning it. One step empties them; `true` if it moved any.
    async fn tidy_search_index(&self) -> Result<bool, StoreError> {
        let pages: i64 = sqlx::query_scalar(
            "SELECT coalesce(sum(gin_clean_pending_list(index::regclass)), 0)::bigint
             FROM unnest($1::text[]) AS index",
        )
        .bind(TRIGRAM_INDEXES)
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(pages > 0)
    }
}

/// The GIN trigram indexes over users, whose pending lists the upkeep empties.
pub(crate) const TRIGRAM_INDEXES: &[&str] = &[
    "users_name_trgm",
    "users_email_trgm",
    "users_user_name_trgm",
];

#[cfg(test)]
mod tests {
    use roster_core::{UserListRequest, UserStatus};

    use super::{like_pattern, list_query};

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern(r"50%_a\b"), r"%50\%\_a\\b%");
    }

    #[test]
    fn a_list_writes_its_limit_and_filters_in_unless_a_bound_value_shapes_the_plan() {
        let plain = UserListRequest {
            workspace_key: 1,
            role: None,
            status: None,
            search: None,
            email_key: None,
            include_deleted: false,
            group_key: None,
            as_of: chrono::DateTime::UNIX_EPOCH,
            before_key: Some(500),
            offset: 0,
            limit: 21,
        };
        assert!(list_query(&plain)
            .sql()
            .ends_with("AND pk < $2 ORDER BY pk DESC LIMIT 21"));
        let filtered = UserListRequest {
            role: Some("editor".into()),
            status: Some(UserStatus::Inactive),
            ..plain.clone()
        };
        let sql = list_query(&filtered).into_sql();
        assert!(
            sql.ends_with(
                "AND role = 'editor' AND status = 'inactive' AND pk < $2 ORDER BY pk DESC LIMIT 21"
            ),
            "{sql}"
        );
        // Nothing but a role name's characters is written in.
        let odd = UserListRequest {
            role: Some("x' OR '1'='1".into()),
            ..plain.clone()
        };
        let sql = list_query(&odd).into_sql();
        assert!(!sql.contains("OR '1'"), "{sql}");
        assert!(sql.ends_with("ORDER BY pk DESC LIMIT $4"), "{sql}");
        let by_email = UserListRequest {
            email_key: Some("ann@example.test".into()),
            ..plain
        };
        assert!(list_query(&by_email).sql().ends_with("LIMIT $4"));
    }
}
