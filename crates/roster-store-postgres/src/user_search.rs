//! A user search on PostgreSQL, run as `roster_store_rows::search` plans it: the rarest
//! trigrams through the `pg_trgm` indexes (`ILIKE '%abc%'` on one trigram reads that
//! trigram's list alone), each candidate checked against the whole needle here.
//!
//! When every trigram is common, how many users hold the whole needle decides (estimated
//! from the same sample as the trigram counts): a few, and the index is asked for the whole
//! needle at once (GIN intersects its lists); many, and the users are walked newest first,
//! then, past [`SearchTuning::scan_budget`](search::SearchTuning::scan_budget) rows, asked
//! of the index a few key buckets at a time, newest first (migration 0015), so a long run
//! of recent users that do not match costs a few index reads instead of a row each.
//!
//! `pg_trgm` indexes words: a trigram holding anything but letters and digits is not in
//! its index, so only trigrams of letters and digits are asked for. A needle without one
//! is asked for whole, as `pg_trgm` splits it.

use roster_core::store::StoreError;
use roster_core::{User, UserListRequest};
use roster_store_rows::search::{
    self, Found, Intersection, Needle, Remembered, SearchTuning, TrigramCounts, COUNT_TTL, TOTAL,
};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use sqlx::{PgPool, QueryBuilder};

use crate::error::db_error;
use crate::rows;
use crate::search_sample::{Matching, Sample};
use crate::users::{like_pattern, push_equalities, push_limit, written_limit};

/// Whether `pg_trgm` keeps `trigram` in its index as it is.
fn indexed(trigram: &str) -> bool {
    trigram.chars().all(char::is_alphanumeric)
}

/// Whether `text` holds a trigram `pg_trgm` keeps in its index as it is ([`indexed`]):
/// three letters or digits in a row.
fn has_indexed(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    chars
        .windows(3)
        .any(|w| w.iter().all(|c| c.is_alphanumeric()))
}

/// The trigram counts searches are planned by, how they are estimated, and whose turn it
/// is to take them.
///
/// Counted through the indexes, a trigram's users cost a heap row each to recheck: about
/// 5 µs, 50–105 ms for a common trigram counted up to
/// [`SearchTuning::common`](search::SearchTuning::common), and a whole email address has about
/// thirty trigrams (measured at a million users: 0.35–0.48 s, counting four at a time,
/// before the first search of a new needle could start). So the counts are estimated, as
/// PostgreSQL's own `ANALYZE` estimates: from a random sample of users ([`Sample`], about
/// [`SAMPLE_USERS`](crate::search_sample::SAMPLE_USERS) of them, drawn again after
/// [`COUNT_TTL`]), in which every trigram is counted at once. Counts only choose which
/// trigrams the index is asked for; every answer is checked against the whole needle, so an
/// estimate can make a search slower, never wrong.
///
/// One search at a time takes counts: a burst of searches of one new needle would
/// otherwise all draw and count at once, each waiting for all of that work. The others wait
/// for it and then plan from what it remembered, or, when their counts are only stale, plan
/// from those and go on.
#[derive(Debug)]
pub(crate) struct Counting {
    pub(crate) counts: TrigramCounts,
    sample: std::sync::Mutex<Option<Arc<Sample>>>,
    /// Each needle's [`Matching`], as the sample of its time found it.
    matching: Remembered<Matching>,
    turn: tokio::sync::Mutex<()>,
}

/// Needles whose [`Matching`] is remembered at most; the memory is emptied when full.
const MATCHING_MAX: usize = 10_000;

impl Counting {
    /// Counting for plans tuned by `tuning`, for GIN's bitmaps.
    pub(crate) fn new(tuning: SearchTuning) -> Self {
        Self {
            counts: TrigramCounts::new(tuning, Intersection::Bitmaps),
            sample: std::sync::Mutex::default(),
            matching: Remembered::new(MATCHING_MAX),
            turn: tokio::sync::Mutex::new(()),
        }
    }

    /// Take the counts the plan for `needle` reads that are due: unknown ones always (a
    /// search waits for another that is taking them), stale ones when no other search is
    /// counting (a stale count still plans well). `take` counts the keys it is given;
    /// `now` is when counts are judged.
    async fn take_due<F, Fut>(
        &self,
        needle: &Needle,
        now: Instant,
        take: F,
    ) -> Result<(), StoreError>
    where
        F: FnOnce(Vec<String>) -> Fut,
        Fut: Future<Output = Result<Vec<(String, u32)>, StoreError>>,
    {
        let due = self.counts.due_at(needle, now);
        if due.is_empty() {
            return Ok(());
        }
        let _turn = if due.unknown.is_empty() {
            match self.turn.try_lock() {
                Ok(turn) => turn,
                Err(_) => return Ok(()),
            }
        } else {
            self.turn.lock().await
        };
        // Another search may have taken them while this one waited.
        let keys = self.counts.due_at(needle, now).all();
        if keys.is_empty() {
            return Ok(());
        }
        for (key, n) in take(keys).await? {
            self.counts.remember(&key, n);
        }
        Ok(())
    }

    /// The counts of `keys`: the number of users for [`TOTAL`] (read), each trigram's from
    /// the sample (drawn first if there is none from the last [`COUNT_TTL`]).
    async fn estimate(
        &self,
        pool: &PgPool,
        keys: Vec<String>,
        now: Instant,
    ) -> Result<Vec<(String, u32)>, StoreError> {
        let users = highest_key(pool).await?;
        let common = self.counts.tuning.common;
        let sample = self.sample(pool, Some(users), now).await?;
        Ok(keys
            .into_iter()
            .map(|key| {
                let n = if key == TOTAL {
                    u32::try_from(users).unwrap_or(u32::MAX)
                } else if indexed(&key) {
                    sample.users_holding(&key)
                } else {
                    // Not in the index: taken as common, so never picked.
                    common
                };
                (key, n)
            })
            .collect())
    }

    /// How many users hold the whole of `needle`, from the sample: remembered for
    /// [`COUNT_TTL`], and taken (a few milliseconds of checking, off the request threads)
    /// in the counting turn, so a burst of one new needle checks the sample once.
    async fn matching(
        &self,
        pool: &PgPool,
        needle: &Needle,
        now: Instant,
    ) -> Result<Matching, StoreError> {
        if let Some(matching) = self.matching.fresh(needle.as_str(), now) {
            return Ok(matching);
        }
        let _turn = self.turn.lock().await;
        if let Some(matching) = self.matching.fresh(needle.as_str(), now) {
            return Ok(matching);
        }
        let sample = self.sample(pool, None, now).await?;
        let checked = needle.clone();
        let matching = tokio::task::spawn_blocking(move || sample.matching(&checked))
            .await
            .map_err(|e| StoreError::Backend(format!("checking a search sample failed: {e}")))?;
        self.matching.insert(needle.as_str(), matching);
        Ok(matching)
    }

    /// The sample from the last [`COUNT_TTL`], or a new one of the table's `users` (its
    /// highest key, read here when not given).
    async fn sample(
        &self,
        pool: &PgPool,
        users: Option<u64>,
        now: Instant,
    ) -> Result<Arc<Sample>, StoreError> {
        let fresh = self
            .lock_sample()
            .clone()
            .filter(|sample| now.saturating_duration_since(sample.drawn) < COUNT_TTL);
        if let Some(sample) = fresh {
            return Ok(sample);
        }
        let users = match users {
            Some(users) => users,
            None => highest_key(pool).await?,
        };
        let sample = Arc::new(Sample::draw(pool, users, now).await?);
        *self.lock_sample() = Some(Arc::clone(&sample));
        Ok(sample)
    }

    fn lock_sample(&self) -> std::sync::MutexGuard<'_, Option<Arc<Sample>>> {
        self.sample
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// About how many users were ever written: keys are never reused, so the highest.
async fn highest_key(pool: &PgPool) -> Result<u64, StoreError> {
    let highest: i64 = sqlx::query_scalar("SELECT coalesce(max(pk), 0) FROM users")
        .fetch_one(pool)
        .await
        .map_err(db_error)?;
    Ok(u64::try_from(highest).unwrap_or(0))
}

/// Keys of users one bucket of the trigram indexes holds, as a shift: a user's bucket is
/// `pk >> BUCKET_SHIFT` (the expression of migration 0015's indexes).
const BUCKET_SHIFT: u32 = 12;

/// A needle held by no more users than a common trigram's count over this (as the sample
/// finds it; 2,048 by default) is asked of the index whole, though each of its trigrams is
/// common: GIN intersects the lists, and checking every candidate costs less than walking
/// to the page (measured at a million users: a name and a number held by 306 users, 4 ms;
/// walked, 65,000 rows to a page).
const WHOLE_NEEDLE_DIVISOR: u32 = 8;

/// Buckets one query of a bucketed walk asks for at most (measured at a million users: 16
/// buckets that nobody matching is in, 1.4–2.6 ms).
const BUCKETS_AT_ONCE: i64 = 32;

/// The page `request` asks for, of users whose name or email contains `search`.
pub(crate) async fn search(
    pools: Pools<'_>,
    counting: &Counting,
    request: &UserListRequest,
    search: &str,
) -> Result<Vec<User>, StoreError> {
    let needle = Needle::new(search);
    let now = Instant::now();
    let pool = pools.planned;
    counting
        .take_due(&needle, now, |keys| counting.estimate(pool, keys, now))
        .await?;
    let counts = &counting.counts;
    let plan = counts.plan(&needle);
    let (mut walk, mut found) = search::start(request);
    let picked: Vec<String> = plan.trigrams.into_iter().filter(|t| indexed(t)).collect();
    let whole = [needle.as_str().to_owned()];
    if plan.scan_first && has_indexed(needle.as_str()) {
        // Every trigram is common: how many users hold the whole needle decides.
        let matching = counting.matching(pool, &needle, now).await?;
        if matching.users <= u64::from(counts.tuning.common / WHOLE_NEEDLE_DIVISOR) {
            let walked = candidates(pools, &walk, Some(&whole), None, u32::MAX).await?;
            keep(&needle, walked, &mut found);
        } else if let Some(last) = walk_newest(
            pools,
            &needle,
            &mut walk,
            &mut found,
            counts.tuning.scan_budget,
        )
        .await?
        {
            // In a bucket the plan's trigrams, each an index list to seek in, rule out
            // nearly as much as the whole needle's, and cost less.
            let asked = if picked.is_empty() {
                whole.to_vec()
            } else {
                picked
            };
            let bucketed = Bucketed {
                asked: &asked,
                share: matching.share,
            };
            walk_buckets(pools, &needle, &walk, &mut found, last, bucketed).await?;
        }
    } else {
        // A needle without a trigram of letters and digits is asked for whole.
        let matching = if picked.is_empty() {
            whole.to_vec()
        } else {
            picked
        };
        let walked = candidates(pools, &walk, Some(&matching), None, u32::MAX).await?;
        keep(&needle, walked, &mut found);
    }
    fetch(pool, &found.rows).await
}

/// Walk `walk`'s users newest first, checking each, in chunks that grow from a few pages'
/// worth, for at most about `budget` rows. The key of the last row walked when the page is
/// still not full and users are left, else `None`.
async fn walk_newest(
    pools: Pools<'_>,
    needle: &Needle,
    walk: &mut UserListRequest,
    found: &mut Found<i64>,
    budget: u32,
) -> Result<Option<i64>, StoreError> {
    let mut chunk = walk.limit.saturating_mul(4).max(64).min(budget.max(1));
    let mut walked = 0u32;
    loop {
        let rows = candidates(pools, walk, None, None, chunk).await?;
        let last = rows.last().map(|c| c.0);
        let full = rows.len() >= chunk as usize;
        keep(needle, rows, found);
        walked = walked.saturating_add(chunk);
        match last {
            Some(last) if full && !found.is_full() => walk.before_key = Some(last),
            _ => return Ok(None),
        }
        if walked >= budget {
            return Ok(walk.before_key);
        }
        chunk = chunk.saturating_mul(4).min(budget - walked);
    }
}

/// Go on below key `last` through the trigram indexes, a few buckets of keys at a time,
/// newest first, until the page is full or no key is left. Every match in a query's buckets
/// is read and checked, so the buckets double while they hold no match (a run of users
/// written since the last match) only up to those that should hold [`RECHECKS_AT_ONCE`] at
/// `share` of the users matching, and after a match are as many as should hold what the
/// page still wants twice over at the density met so far, within the same cap
/// ([`Seen::next_span`]).
async fn walk_buckets(
    pools: Pools<'_>,
    needle: &Needle,
    walk: &UserListRequest,
    found: &mut Found<i64>,
    last: i64,
    Bucketed { asked, share }: Bucketed<'_>,
) -> Result<(), StoreError> {
    let mut walk = UserListRequest {
        before_key: Some(last),
        ..walk.clone()
    };
    let per_bucket = (share * f64::from(1u32 << BUCKET_SHIFT)).max(1.0);
    let most = buckets_for(RECHECKS_AT_ONCE as f64, per_bucket, BUCKETS_AT_ONCE);
    let mut top = (last - 1) >> BUCKET_SHIFT;
    let mut span: i64 = 1;
    let mut seen = Seen::default();
    while top >= 0 && !found.is_full() {
        let low = (top - span + 1).max(0);
        let buckets: Vec<i64> = (low..=top).rev().collect();
        let rows = candidates(pools, &walk, Some(asked), Some(&buckets), u32::MAX).await?;
        seen.buckets += buckets.len() as i64;
        seen.candidates += rows.len();
        let hit = !rows.is_empty();
        if let Some((key, _, _)) = rows.last() {
            walk.before_key = Some(*key);
        }
        keep(needle, rows, found);
        top = low - 1;
        span = seen.next_span(hit, span, most, found.wanted());
    }
    Ok(())
}

/// What a bucketed walk has asked so far: how many buckets, and how many candidates they
/// gave.
#[derive(Debug, Default)]
struct Seen {
    buckets: i64,
    candidates: usize,
}

impl Seen {
    /// How many buckets the next query asks for, after one of `span` buckets that gave
    /// candidates (`hit`) or none; never more than `most`, the buckets that should hold
    /// [`RECHECKS_AT_ONCE`] matches at the sample's share of users (where a run of users
    /// that hold none ends, a query may meet users that hold it as often as all of them
    /// do). Without a hit, twice as many. After one, as many as should hold twice what the
    /// page still `wanted` at the density this walk has met, not the sample's: the newest
    /// users may hold the needle far less often than all of them do (a bulk of new accounts
    /// that match none of it), and a span judged by the sample's share then stayed at one
    /// bucket a query through every bucket that gives a few.
    fn next_span(&self, hit: bool, span: i64, most: i64, wanted: u64) -> i64 {
        if !hit {
            return (span * 2).min(most);
        }
        let per_bucket = self.candidates as f64 / self.buckets.max(1) as f64;
        buckets_for(2.0 * wanted as f64, per_bucket, most)
    }
}

/// What a bucketed walk asks the index for in each bucket (all of them, as `ILIKE`
/// patterns), and the share of the users that holds the whole needle.
#[derive(Debug, Clone, Copy)]
struct Bucketed<'a> {
    asked: &'a [String],
    share: f64,
}

/// Matches a query of a bucketed walk should find at most (every one is a row read and
/// checked: 1,035 of them took 12.6 ms in one query at a million users, most of it reading
/// rows PostgreSQL's buffers did not hold, and 0.9 ms when they did).
const RECHECKS_AT_ONCE: u32 = 1_024;

/// How many buckets, each holding about `per_bucket` matches, hold about `matches`: at
/// least one, at most `most`.
fn buckets_for(matches: f64, per_bucket: f64, most: i64) -> i64 {
    ((matches / per_bucket).floor() as i64).clamp(1, most.max(1))
}

/// The store's pools as a search uses them.
///
/// A statement that asks the trigram indexes runs on `generic`, whose connections plan each
/// statement once, without its values: planned for its `ILIKE` patterns, it took 0.9 ms to
/// plan (PostgreSQL estimating each pattern against the columns' statistics) and 0.4 ms to
/// run at a million users, and whatever the patterns, its plan is the same, since the
/// search plan (`roster_store_rows::search`) has already picked them to be asked of the
/// indexes: a bitmap of each, read whole, then the candidates. Not so a pattern without
/// three letters or digits in a row ([`has_indexed`]): the index holds nothing to ask it
/// and would be read whole (5.5 s at a million users, where the statement planned for its
/// pattern read the table in 1.3 s), so it stays on `planned`, as do the walk, whose
/// filters and limit shape its plan (`users::push_limit`), and everything else.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pools<'a> {
    pub(crate) planned: &'a PgPool,
    pub(crate) generic: &'a PgPool,
}

/// A candidate: its key, name and email, all a check needs (the page's users are read
/// whole afterwards, by key).
type Candidate = (i64, String, String);

/// Up to `limit` users of `walk`'s filters, newest first: those holding each of `matching`
/// in their name or email, found through the trigram indexes (only in `buckets` of keys,
/// when given), or without it every user.
async fn candidates(
    pools: Pools<'_>,
    walk: &UserListRequest,
    matching: Option<&[String]>,
    buckets: Option<&[i64]>,
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
        if let Some(buckets) = buckets {
            // The indexes' own expression, so each bucket is one of their keys.
            q.push(format_args!(" AND (pk >> {BUCKET_SHIFT}) = ANY("))
                .push_bind(buckets.to_vec())
                .push(")");
        }
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
    q.push(" ORDER BY pk DESC");
    if matching.is_some() {
        // The candidates are the trigrams' bitmap whatever the filters: one plan fits all.
        q.push(written_limit(limit));
    } else {
        push_limit(&mut q, walk, limit);
    }
    let pool = if matching.is_some_and(|asked| asked.iter().all(|part| has_indexed(part))) {
        pools.generic
    } else {
        pools.planned
    };
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures_util::FutureExt;

    use super::*;

    fn counting() -> Arc<Counting> {
        Arc::new(Counting::new(SearchTuning::default()))
    }

    #[test]
    fn only_patterns_with_three_letters_or_digits_in_a_row_ask_the_index() {
        for asked in ["xot", "lopez.99899", "ann@example.com", "müller", "a1b"] {
            assert!(has_indexed(asked), "{asked}");
        }
        for asked in ["@.-", "a.b.c", "ab", "x-y_z", "..."] {
            assert!(!has_indexed(asked), "{asked}");
        }
    }

    /// Counts every key it is asked for as 7, adding how many to `taken`.
    fn sevens(
        taken: &AtomicUsize,
        keys: Vec<String>,
    ) -> impl Future<Output = Result<Vec<(String, u32)>, StoreError>> {
        taken.fetch_add(keys.len(), Ordering::SeqCst);
        let counted = keys.into_iter().map(|key| (key, 7)).collect();
        async move { Ok(counted) }
    }

    #[tokio::test]
    async fn searches_of_one_cold_needle_count_it_once() {
        let counting = counting();
        let taken = Arc::new(AtomicUsize::new(0));
        let (release, released) = tokio::sync::watch::channel(false);
        let search = |counting: Arc<Counting>| {
            let taken = Arc::clone(&taken);
            let mut released = released.clone();
            tokio::spawn(async move {
                let needle = Needle::new("abcd");
                counting
                    .take_due(&needle, Instant::now(), |keys| async move {
                        let counted = sevens(&taken, keys).await;
                        // The count holds until the test lets it finish.
                        let _ = released.wait_for(|go| *go).await;
                        counted
                    })
                    .await
            })
        };
        let first = search(Arc::clone(&counting));
        let second = search(Arc::clone(&counting));
        // Both searches have run as far as they can: one is counting, the other waits for
        // its turn.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(!first.is_finished() && !second.is_finished());
        // "abc", "bcd" and the number of users, asked for once.
        assert_eq!(taken.load(Ordering::SeqCst), 3);
        release.send_replace(true);
        first.await.unwrap().unwrap();
        second.await.unwrap().unwrap();
        assert_eq!(taken.load(Ordering::SeqCst), 3);
        assert!(counting.counts.due(&Needle::new("abcd")).is_empty());
    }

    #[tokio::test]
    async fn stale_counts_are_taken_again_unless_another_search_is_counting() {
        let counting = counting();
        for key in ["abc", "bcd", TOTAL] {
            counting.counts.remember(key, 7);
        }
        let later = Instant::now() + COUNT_TTL;
        let taken = AtomicUsize::new(0);
        // Another search is counting: this one plans from the stale counts at once.
        let turn = counting.turn.lock().await;
        let needle = Needle::new("abcd");
        let at_once = counting
            .take_due(&needle, later, |keys| sevens(&taken, keys))
            .now_or_never();
        assert!(matches!(at_once, Some(Ok(()))));
        assert_eq!(taken.load(Ordering::SeqCst), 0);
        // An unknown trigram is waited for: with the turn held, the search is not done.
        let waiting = {
            let counting = Arc::clone(&counting);
            tokio::spawn(async move {
                let taken = AtomicUsize::new(0);
                counting
                    .take_due(&Needle::new("abcde"), Instant::now(), |keys| {
                        sevens(&taken, keys)
                    })
                    .await
            })
        };
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(!waiting.is_finished());
        drop(turn);
        waiting.await.unwrap().unwrap();
        assert!(counting.counts.due(&Needle::new("abcde")).is_empty());
        // With nobody counting, the stale ones are taken again.
        counting
            .take_due(&needle, later, |keys| sevens(&taken, keys))
            .await
            .unwrap();
        assert_eq!(taken.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_bucketed_walk_asks_for_buckets_by_the_matches_they_hold() {
        // 1,024 matches at 100 a bucket: 10 buckets; never none, never past the cap.
        assert_eq!(buckets_for(1024.0, 100.0, 32), 10);
        assert_eq!(buckets_for(10.0, 100.0, 32), 1);
        assert_eq!(buckets_for(1024.0, 1.0, 32), 32);
        assert_eq!(buckets_for(1024.0, 1.0, 0), 1);
    }

    #[test]
    fn a_bucketed_walk_sizes_its_next_query_by_the_density_it_met() {
        // No candidates yet: the span doubles, up to the cap the sample's share gives.
        let none = Seen {
            buckets: 3,
            candidates: 0,
        };
        assert_eq!(none.next_span(false, 2, 8, 20), 4);
        assert_eq!(none.next_span(false, 8, 8, 20), 8);
        // 2 candidates in 4 buckets, 19 wanted: 38 at half a bucket each is 76 buckets,
        // capped at the most the sample's share allows.
        let sparse = Seen {
            buckets: 4,
            candidates: 2,
        };
        assert_eq!(sparse.next_span(true, 1, 25, 19), 25);
        assert_eq!(sparse.next_span(true, 1, 1, 19), 1);
        // 400 candidates in 2 buckets, 20 wanted: 40 fit in one bucket.
        let dense = Seen {
            buckets: 2,
            candidates: 400,
        };
        assert_eq!(dense.next_span(true, 2, 32, 20), 1);
        // 600 in 10 buckets, 300 wanted: 600 at 60 a bucket is 10 buckets, within the cap.
        let even = Seen {
            buckets: 10,
            candidates: 600,
        };
        assert_eq!(even.next_span(true, 4, 32, 300), 10);
        assert_eq!(even.next_span(true, 4, 17, 3_000), 17);
    }
}
