//! A user search on SQLite, run as `roster_store_rows::search` plans it: the rarest
//! trigrams from the FTS5 index (`users_search`), or a walk in list order first when every
//! trigram is common; each candidate checked against the whole needle here.

use roster_core::store::StoreError;
use roster_core::{User, UserListRequest};
use roster_store_rows::search::{self, Found, Needle, Plan, TrigramCounts, TOTAL};
use rusqlite::params;

use crate::error::sql_error;
use crate::reader::Reader;
use crate::rows::{self, Sql};
use crate::users::list_query;
use crate::writer::Writer;

/// Users holding a trigram in their name or email, counted up to a limit.
const COUNT: &str = "SELECT count(*) FROM (SELECT 1 FROM users_search
    WHERE users_search MATCH ?1 LIMIT ?2)";

/// The FTS5 expression for every one of `terms` in the searched columns.
fn in_searched_columns(terms: &[String]) -> String {
    in_columns("{name email}", terms)
}

/// The FTS5 expression for every one of `terms` in `columns` (a column, or `{a b}`): each
/// quoted, so it is one trigram whatever it holds.
pub(crate) fn in_columns(columns: &str, terms: &[String]) -> String {
    let quoted: Vec<String> = terms
        .iter()
        .map(|term| format!("\"{}\"", term.replace('"', "\"\"")))
        .collect();
    format!("{columns} : ({})", quoted.join(" AND "))
}

/// The page `request` asks for, of users whose name or email contains `search`.
pub(crate) fn search(
    reader: &Reader,
    counts: &TrigramCounts,
    request: &UserListRequest,
    search: &str,
) -> Result<Vec<User>, StoreError> {
    search_keeping(reader, counts, request, search, rows::user)
}

/// How many users [`search`] would return: the same walk, no user read.
pub(crate) fn count(
    reader: &Reader,
    counts: &TrigramCounts,
    request: &UserListRequest,
    search: &str,
) -> Result<u64, StoreError> {
    let kept = search_keeping(reader, counts, request, search, |_| Ok(()))?;
    Ok(kept.len() as u64)
}

/// [`search`], keeping of each match what `keep` reads of its row.
fn search_keeping<T>(
    reader: &Reader,
    counts: &TrigramCounts,
    request: &UserListRequest,
    search: &str,
    keep: impl Fn(&rusqlite::Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let needle = Needle::new(search);
    let plan = plan(reader, counts, &needle)?;
    let (mut walk, mut found) = search::start(request);
    if plan.scan_first {
        walk.limit = if plan.trigrams.is_empty() {
            u32::MAX
        } else {
            counts.tuning.scan_budget
        };
        let scanned = check(reader, &list_query(&walk, None), &needle, &mut found, &keep)?;
        match scanned.last_key {
            Some(last) if !found.is_full() && scanned.rows >= walk.limit => {
                walk.before_key = Some(last);
            }
            // A full page, or every user walked.
            _ => return Ok(found.rows),
        }
    }
    walk.limit = u32::MAX;
    let matching = in_searched_columns(&plan.trigrams);
    check(
        reader,
        &list_query(&walk, Some(&matching)),
        &needle,
        &mut found,
        &keep,
    )?;
    Ok(found.rows)
}

/// How to find `needle`: its trigrams counted (those not counted lately), then planned.
pub(crate) fn plan(
    reader: &Reader,
    counts: &TrigramCounts,
    needle: &Needle,
) -> Result<Plan, StoreError> {
    for key in counts.to_count(needle) {
        let count = if key == TOTAL {
            // Keys are never reused: the highest is about how many users were ever indexed.
            u32::try_from(highest_key(reader)?).unwrap_or(u32::MAX)
        } else {
            let term = in_searched_columns(std::slice::from_ref(&key));
            reader
                .row(COUNT, params![term, counts.tuning.common], |row| {
                    row.get::<_, u32>(0).map_err(sql_error)
                })?
                .unwrap_or_default()
        };
        counts.remember(&key, count);
    }
    Ok(counts.plan(needle))
}

/// Pages of the search index's merging the writer does after each group of writes (FTS5's
/// own automerge is off, see migration 0014). FTS5 merged about 64 pages per level for every
/// 64 leaf pages written, all inside the commit that crossed the mark; spread over the
/// groups, the same work is a few milliseconds after each one. Measured at a million users
/// under `POST /v1/users` (wrk, 32 connections): 8,100–8,800 writes/s with a p90 of 7 ms,
/// against 6,000–7,500/s and 14–16 ms with FTS5's automerge.
const MERGE_PAGES_PER_GROUP: i64 = 64;

/// The writer's upkeep after each group: carry the search index's merging on by at most
/// [`MERGE_PAGES_PER_GROUP`] pages, where a level holds enough segments to merge (FTS5's
/// `usermerge`, 4) or a merge is under way. With nothing to merge it reads one row.
pub(crate) fn merge_step(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO users_search (users_search, rank) VALUES ('merge', ?1)",
        params![MERGE_PAGES_PER_GROUP],
    )
    .map(|_| ())
    .map_err(sql_error)
}

/// Leaf pages one merge step writes: a few milliseconds of the writer's time.
const MERGE_STEP_PAGES: i64 = 100;
/// Users written (by key) since the last full merge that make the next one due: a tenth
/// more than then, and at least this many.
const MERGE_AFTER_USERS: i64 = 1000;

/// Where the background merging of the search index stands.
#[derive(Debug, Default)]
pub(crate) struct Tidy {
    /// The highest user key when the index was last merged whole (0: not since start).
    merged_at_key: std::sync::atomic::AtomicI64,
    /// The highest user key at the previous look.
    seen_key: std::sync::atomic::AtomicI64,
    /// The highest user key when the merge under way gathered the index's segments: what
    /// it covers once it ends. Users written while it runs are outside it.
    gathered_at_key: std::sync::atomic::AtomicI64,
    merging: std::sync::atomic::AtomicBool,
}

/// One step of the search index's upkeep. FTS5 adds a segment to its index at every commit,
/// and the writer's steps ([`merge_step`]) merge them only a level at a time, so after a
/// bulk import a search reads its trigrams from dozens of segments (twice the work, measured
/// at a million users). Once the users have grown by a tenth since the last time (and at the
/// first call after a start), and no user was added since the previous look (a bulk import
/// is over: merging during it would redo the work at every batch and slow it down), the index
/// is merged into one segment, [`MERGE_STEP_PAGES`] pages per step, each step a transaction
/// of its own between other writes.
pub(crate) async fn tidy(
    reader: &Reader,
    writer: &Writer,
    tidy: &Tidy,
) -> Result<bool, StoreError> {
    use std::sync::atomic::Ordering;
    let highest = highest_key(reader)?;
    let merged_at = tidy.merged_at_key.load(Ordering::Relaxed);
    let grown = highest >= merged_at + (merged_at / 10).max(MERGE_AFTER_USERS);
    let first = merged_at == 0 && highest > 0;
    let settled = tidy.seen_key.swap(highest, Ordering::Relaxed) == highest;
    let merging = tidy.merging.load(Ordering::Relaxed);
    if !(merging || settled && (grown || first)) {
        return Ok(false);
    }
    // The first step (a negative page count) gathers every segment into one merge; the
    // next ones (positive) carry that merge on. Gathering again at each step would, with
    // writes between the steps, start a new merge each time and leave the last one's
    // output as one more segment: under steady writes FTS5 reached its 2,000 segments and
    // refused every write (SQLITE_FULL, "database or disk is full").
    let pages = if merging {
        MERGE_STEP_PAGES
    } else {
        tidy.gathered_at_key.store(highest, Ordering::Relaxed);
        -MERGE_STEP_PAGES
    };
    let merged = writer
        .write_alone(move |tx| {
            let before = tx.total_changes();
            tx.execute(
                "INSERT INTO users_search (users_search, rank) VALUES ('merge', ?1)",
                params![pages],
            )
            .map_err(sql_error)?;
            Ok(tx.total_changes() - before > 1)
        })
        .await?;
    tidy.merging.store(merged, Ordering::Relaxed);
    if !merged {
        // Not `highest`: a merge that a pause in an import let start, and that ran on while
        // the import went on, covers only the users before it (at a million users, 580,000:
        // the other 420,000 stayed in a segment of their own, and searches ran at half speed).
        let covered = tidy.gathered_at_key.load(Ordering::Relaxed);
        tidy.merged_at_key.store(covered, Ordering::Relaxed);
    }
    Ok(merged)
}

/// The highest user key there is (0 with no user).
fn highest_key(reader: &Reader) -> Result<i64, StoreError> {
    let highest = reader.row("SELECT coalesce(max(pk), 0) FROM users", [], |row| {
        row.get::<_, i64>(0).map_err(sql_error)
    })?;
    Ok(highest.unwrap_or_default())
}

/// What a walk saw.
struct Walked {
    rows: u32,
    last_key: Option<i64>,
}

/// Walk the users `query` yields, keeping those whose name or email holds `needle`, until
/// `found` is full.
fn check<T>(
    reader: &Reader,
    query: &Sql,
    needle: &Needle,
    found: &mut Found<T>,
    keep: &impl Fn(&rusqlite::Row<'_>) -> Result<T, StoreError>,
) -> Result<Walked, StoreError> {
    reader.read(|conn| {
        let mut statement = conn.prepare_cached(&query.text).map_err(sql_error)?;
        let column = |name: &str| statement.column_index(name).map_err(sql_error);
        let (pk, name, email) = (column("pk")?, column("name")?, column("email")?);
        let mut rows = statement
            .query(rusqlite::params_from_iter(query.params.iter()))
            .map_err(sql_error)?;
        let mut walked = Walked {
            rows: 0,
            last_key: None,
        };
        while !found.is_full() {
            let Some(row) = rows.next().map_err(sql_error)? else {
                break;
            };
            walked.rows += 1;
            walked.last_key = Some(row.get(pk).map_err(sql_error)?);
            let text = |index| row.get_ref(index).map_err(sql_error);
            let holds = |value: rusqlite::types::ValueRef<'_>| {
                value.as_str().is_ok_and(|text| needle.found_in(text))
            };
            // `takes` counts a match, so it is asked only of one.
            if (holds(text(name)?) || holds(text(email)?)) && found.takes() {
                found.rows.push(keep(row)?);
            }
        }
        Ok(walked)
    })
}
