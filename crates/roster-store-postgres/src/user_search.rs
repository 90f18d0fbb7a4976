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
use sqlx::PgPool;

use crate::error::db_error;
use crate::rows;
use crate::users::{like_pattern, list_query};

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
        // Every trigram is common: the walk in list order, a budget at a time, to the end.
        walk.limit = counts.tuning.scan_budget;
        loop {
            let rows = fetch(pool, &walk, None).await?;
            let (last, walked) = (rows.last().map(|user| user.key), rows.len());
            keep(&needle, rows, &mut found);
            match last {
                Some(last) if !found.is_full() && walked >= walk.limit as usize => {
                    walk.before_key = Some(last);
                }
                _ => return Ok(found.rows),
            }
        }
    }
    // A needle without a trigram of letters and digits is asked for whole.
    let matching = if picked.is_empty() {
        vec![needle.as_str().to_owned()]
    } else {
        picked
    };
    walk.limit = u32::MAX;
    let rows = fetch(pool, &walk, Some(&matching)).await?;
    keep(&needle, rows, &mut found);
    Ok(found.rows)
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

async fn fetch(
    pool: &PgPool,
    walk: &UserListRequest,
    matching: Option<&[String]>,
) -> Result<Vec<User>, StoreError> {
    let rows = list_query(walk, matching)
        .build()
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
    rows.iter().map(rows::user).collect()
}

/// Keep, in order, the users whose name or email holds `needle`.
fn keep(needle: &Needle, users: Vec<User>, found: &mut Found<User>) {
    for user in users {
        if found.is_full() {
            return;
        }
        if needle.found_in(&user.name) || needle.found_in(&user.email) {
            let _ = found.keep::<()>(|| Ok(user));
        }
    }
}
