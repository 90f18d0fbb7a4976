//! The query planner's statistics: gathered again when a table changed much, by the
//! background upkeep (`refresh`) and within an import's own batches (`analyze_users_if_grown`).
//!
//! Autovacuum does the same when it is on, but up to a minute late, and never when it is off
//! (as on this project's CI machine). Plans made without statistics pick among the indexes
//! blindly: with a million users imported into a table the planner had never analyzed, each
//! import batch's 20,000 email matches were a filter over the whole workspace (3.9 s a batch,
//! against 0.2 s probed).
//!
//! Every `ANALYZE` Roster runs holds one advisory lock ([`LOCK`]), taken without waiting, so
//! two nodes (or an import and the upkeep) never wait on each other's `ANALYZE`: whoever
//! finds it taken leaves the work to its holder.

use std::time::Duration;

use sqlx::{PgPool, Postgres, Transaction};

use crate::error::db_error;
use roster_core::StoreError;

/// Take the statistics lock for the rest of the transaction, if no one holds it.
const LOCK: &str = "pg_try_advisory_xact_lock(hashtext('roster.statistics'))";

/// How long [`refresh`] leaves a table after its statistics were gathered, however much it
/// changes meanwhile: autovacuum's own pace (`autovacuum_naptime`). Without it a million
/// users imported in four minutes had their statistics gathered 19 times besides the
/// import's own (a second and more each at that size, 27 s in all, beside the import).
pub(crate) const REST: Duration = Duration::from_secs(60);

/// `ANALYZE` each of Roster's tables past autovacuum's own threshold (rows changed since
/// the last analysis over 50 plus a tenth of the table) and analyzed longer than `rest`
/// ago; the tables done.
pub(crate) async fn refresh(pool: &PgPool, rest: Duration) -> Result<Vec<String>, StoreError> {
    let mut tx = pool.begin().await.map_err(db_error)?;
    let ours: bool = sqlx::query_scalar(&format!("SELECT {LOCK}"))
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
    if !ours {
        return Ok(Vec::new());
    }
    let stale: Vec<String> = sqlx::query_scalar(
        "SELECT s.relname::text FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
         WHERE s.schemaname = current_schema()
           AND s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0)
           AND coalesce(greatest(s.last_analyze, s.last_autoanalyze), '-infinity')
               < now() - make_interval(secs => $1)
         ORDER BY s.relname",
    )
    .bind(rest.as_secs_f64())
    .fetch_all(&mut *tx)
    .await
    .map_err(db_error)?;
    for table in &stale {
        let quoted = format!("\"{}\"", table.replace('"', "\"\""));
        sqlx::query(&format!("ANALYZE {quoted}"))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
    }
    tx.commit().await.map_err(db_error)?;
    Ok(stale)
}

/// Within an import batch's transaction, after its inserts: `ANALYZE users` once the table
/// has grown by half since its statistics were gathered (`ANALYZE` counts the rows its own
/// transaction inserted), so the next batch's matches are planned for the rows there are.
/// The background [`refresh`] comes too late for a bulk load: a table's counts reach it up
/// to a second after each commit, and the next batch is matched at once. Without this, a
/// second batch's 20,000 email probes were planned as walks of a `created_at` index, each
/// over the first batch's 20,000 users (160 s). Size, unlike the counts, is known at once.
pub(crate) async fn analyze_users_if_grown(
    tx: &mut Transaction<'static, Postgres>,
) -> Result<(), StoreError> {
    let due: bool = sqlx::query_scalar(&format!(
        "SELECT CASE WHEN pg_relation_size(c.oid)
                > greatest(c.relpages, 8)::int8 * current_setting('block_size')::int8 * 3 / 2
            THEN {LOCK} ELSE false END
         FROM pg_class c WHERE c.oid = 'users'::regclass"
    ))
    .fetch_one(&mut **tx)
    .await
    .map_err(db_error)?;
    if due {
        sqlx::query("ANALYZE users")
            .execute(&mut **tx)
            .await
            .map_err(db_error)?;
    }
    Ok(())
}
