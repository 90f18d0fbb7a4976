//! A user search on PostgreSQL, run as `roster_store_rows::search` plans it: the rarest
//! trigrams through the `pg_trgm` indexes (`ILIKE '%abc%'` on one trigram reads that
//! trigram's list alone), or a walk in list order when every trigram is common; each
//! candidate checked against the whole needle here.
//!
//! `pg_trgm` indexes words: a trigram holding anything but letters and digits is not in
//! its index, so only trigrams of letters and digits are asked for. A needle without one
//! is asked for whole, as `pg_trgm` splits it.

use roster_core::store::StoreError;
use roster_core::{User, UserListRequest};
use roster_store_rows::search::{self, Found, Needle, TrigramCounts, TOTAL};
use sqlx::{PgPool, QueryBuilder};

use crate::error::db_error;
use crate::rows;
use crate::users::{like_pattern, push_equalities};

/// Whether `pg_trgm` keeps `trigram` in its index as it is.
fn indexed(trigram: &str) -> bool {
    trigram.chars().all(char::is_alphanumeric)
}

/// The page `request` asks for, of users whose name or email contains `search`.
pub(crate) async fn search(
    pool: &PgPool,
    counts: &TrigramCounts,
    request: &UserListRequest,
    search: &str,
) -> Result<Vec<User>, StoreError> {
    let needle = Needle::new(search);
    let common = counts.tuning.common;
    for key in counts.to_count(&needle) {
        let count = if key == TOTAL {
            // Keys are never reused: the highest is about how many users were ever written.
            let highest: i64 = sqlx::query_scalar("SELECT coalesce(max(pk), 0) FROM users")
                .fetch_one(pool)
                .await
                .map_err(db_error)?;
            u32::try_from(highest).unwrap_or(u32::MAX)
        } else if indexed(&key) {
            count(pool, &key, common).await?
        } else {
            // Not in the index: taken as common, so never picked.
            common
        };
        counts.remember(&key, count);
    }
    let plan = counts.plan(&needle);
    let (mut walk, mut found) = search::start(request);
    let picked: Vec<String> = plan.trigrams.into_iter().filter(|t| indexed(t)).collect();
    let has_indexed = needle.trigrams().iter().any(|(_, t)| indexed(t));
    if plan.scan_first && has_indexed {
        // Every trigram is common: the walk in list order, to the end if need be, in
        // chunks that grow from a few pages' worth to the scan budget.
        let mut chunk = walk.limit.saturating_mul(4).max(64);
        loop {
            let walked = candidates(pool, &walk, None, chunk).await?;
            let last = walked.last().map(|c| c.0);
            let full = walked.len() >= chunk as usize;
            keep(&needle, walked, &mut found);
            match last {
                Some(last) if full && !found.is_full() => walk.before_key = Some(last),
                _ => break,
            }
            chunk = chunk
                .saturating_mul(4)
                .min(counts.tuning.scan_budget.max(chunk));
        }
    } else {
        // A needle without a trigram of letters and digits is asked for whole.
        let matching = if picked.is_empty() {
            vec![needle.as_str().to_owned()]
        } else {
            picked
        };
        let walked = candidates(pool, &walk, Some(&matching), u32::MAX).await?;
        keep(&needle, walked, &mut found);
    }
    fetch(pool, &found.rows).await
}

/// Users holding `trigram` in their name or email, counted up to `common`.
async fn count(pool: &PgPool, trigram: &str, common: u32) -> Result<u32, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT 1 FROM users WHERE name ILIKE $1 OR email ILIKE $1 LIMIT $2) c",
    )
    .bind(like_pattern(trigram))
    .bind(i64::from(common))
    .fetch_one(pool)
    .await
    .map_err(db_error)?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// A candidate: its key, name and email, all a check needs (the page's users are read
/// whole afterwards, by key).
type Candidate = (i64, String, String);

/// Up to `limit` users of `walk`'s filters, newest first: those holding each of `matching`
/// in their name or email, found through the trigram indexes, or without it every user.
async fn candidates(
    pool: &PgPool,
    walk: &UserListRequest,
    matching: Option<&[String]>,
    limit: u32,
) -> Result<Vec<Candidate>, StoreError> {
    let mut q = QueryBuilder::new("");
    if let Some(matching) = matching {
        // The trigram indexes find the candidates first (a bitmap scan of each); left to
        // itself the planner, which cannot tell how rare a substring is, may walk the whole
        // table newest first filtering every row. The plan keeps the candidates few.
        q.push(
            "WITH matches AS MATERIALIZED (SELECT pk, name, email, workspace_pk, role, status, \
             email_key, deleted_at FROM users WHERE TRUE",
        );
        for part in matching {
            let pattern = like_pattern(part);
            q.push(" AND (name ILIKE ")
                .push_bind(pattern.clone())
                .push(" OR email ILIKE ")
                .push_bind(pattern)
                .push(")");
        }
        q.push(") SELECT pk, name, email FROM matches WHERE workspace_pk = ");
    } else {
        q.push("SELECT pk, name, email FROM users WHERE workspace_pk = ");
    }
    q.push_bind(walk.workspace_key);
    push_equalities(&mut q, walk);
    if let Some(group) = walk.group_key {
        q.push(" AND pk IN (SELECT user_pk FROM group_members WHERE group_pk = ")
            .push_bind(group)
            .push(" AND (expires_at IS NULL OR expires_at > ")
            .push_bind(walk.as_of)
            .push("))");
    }
    if let Some(before) = walk.before_key {
        q.push(" AND pk < ").push_bind(before);
    }
    q.push(" ORDER BY pk DESC LIMIT ")
        .push_bind(i64::from(limit));
    q.build_query_as::<Candidate>()
        .fetch_all(pool)
        .await
        .map_err(db_error)
}

/// Keep, in order, the keys of the candidates whose name or email holds `needle`.
fn keep(needle: &Needle, candidates: Vec<Candidate>, found: &mut Found<i64>) {
    for (key, name, email) in candidates {
        if found.is_full() {
            return;
        }
        // `takes` counts a match, so it is asked only of one.
        if (needle.found_in(&name) || needle.found_in(&email)) && found.takes() {
            found.rows.push(key);
        }
    }
}

/// The users of these keys, newest first.
async fn fetch(pool: &PgPool, keys: &[i64]) -> Result<Vec<User>, StoreError> {
    let rows = sqlx::query("SELECT * FROM users WHERE pk = ANY($1) ORDER BY pk DESC")
        .bind(keys)
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
    rows.iter().map(rows::user).collect()
}
