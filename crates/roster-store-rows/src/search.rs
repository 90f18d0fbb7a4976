//! A user search (a case-insensitive substring of name or email) planned from how common its
//! trigrams are, the same way on both stores.
//!
//! A trigram index answers a substring by intersecting the posting lists of the needle's
//! trigrams. Asking it for all of them (SQLite's FTS5 phrase, PostgreSQL's `ILIKE` through
//! `pg_trgm`) makes the cost follow the longest lists: at a million users a full email
//! address, whose trigrams are each shared by tens of thousands of users, cost 7 ms of
//! FTS5 work although one user matches. So a search is planned:
//!
//! - Each trigram's user count is looked up ([`TrigramCounts`]: the store counts what
//!   [`TrigramCounts::due`] names and remembers it), counting at most
//!   [`SearchTuning::common`] users: a small bounded read on SQLite, an estimate from a
//!   random sample of users on PostgreSQL (where counting rechecks rows), remembered for
//!   [`COUNT_TTL`] (planner statistics, never used as an answer: a stale or rough count only
//!   makes a plan slower).
//! - The index is asked only for a few of the rarest trigrams (at most
//!   [`INDEXED_TRIGRAMS`]), chosen by how the store's index intersects lists
//!   ([`Intersection`]); every candidate is then checked against the whole needle
//!   ([`Needle::found_in`]), so the answer is exact whichever trigrams were picked.
//! - When even the rarest trigram is common, the needle may match nearly everyone (the
//!   email domain every user shares): the users are then walked in list order, through the
//!   index of the request's filters, checking each. SQLite walks at most
//!   [`SearchTuning::scan_budget`] rows and finishes a page that is not full by then through
//!   the index, after the last row walked; PostgreSQL, whose index would read every common
//!   list whole, first estimates from a sample how many users hold the whole needle, and
//!   asks the index for it whole when they are few, or else after its budget walks on
//!   through its index's key buckets (`roster-store-postgres`'s `user_search`).
//!
//! The store runs the plan; this module decides it and checks candidates, so both stores
//! answer the same rows.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Trigrams the index is asked for.
pub const INDEXED_TRIGRAMS: usize = 3;
/// How long a trigram's count is trusted.
pub const COUNT_TTL: Duration = Duration::from_secs(300);
/// The key [`TrigramCounts::remember`] keeps the number of users under (no trigram is
/// empty).
pub const TOTAL: &str = "";
/// Counts remembered at most (about 40 bytes each); the memory is emptied when full.
const COUNTS_MAX: usize = 200_000;

/// Values a search plans by, remembered by key with when they were taken, at most `max`
/// of them (the memory is emptied when full): planner statistics, never an answer.
#[derive(Debug)]
pub struct Remembered<T> {
    max: usize,
    values: Mutex<HashMap<String, (T, Instant)>>,
}

impl<T: Copy> Remembered<T> {
    pub fn new(max: usize) -> Self {
        Self {
            max,
            values: Mutex::default(),
        }
    }

    /// Remember `value` under `key`, taken now.
    pub fn insert(&self, key: &str, value: T) {
        let mut values = self.lock();
        if values.len() >= self.max {
            values.clear();
        }
        values.insert(key.to_owned(), (value, Instant::now()));
    }

    /// The value under `key` and when it was taken.
    pub fn get(&self, key: &str) -> Option<(T, Instant)> {
        self.lock().get(key).copied()
    }

    /// The value under `key`, if it was taken less than [`COUNT_TTL`] before `now`.
    pub fn fresh(&self, key: &str, now: Instant) -> Option<T> {
        self.get(key)
            .filter(|(_, at)| now.saturating_duration_since(*at) < COUNT_TTL)
            .map(|(value, _)| value)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (T, Instant)>> {
        self.values
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `c` as the trigram indexes compare it: lower case, one character for one (a character
/// whose lower case is longer keeps its first, as SQLite's case folding does).
fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    c.to_lowercase().next().unwrap_or(c)
}

/// `text` as the trigram indexes compare it (see [`fold_char`]).
pub fn fold(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars().map(fold_char)
}

/// What is searched, case-folded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needle {
    folded: Vec<char>,
    text: String,
    trigrams: Vec<(usize, String)>,
}

impl Needle {
    pub fn new(search: &str) -> Self {
        let folded: Vec<char> = fold(search).collect();
        let text = folded.iter().collect();
        let mut trigrams: Vec<(usize, String)> = Vec::new();
        for (at, window) in folded.windows(3).enumerate() {
            let trigram: String = window.iter().collect();
            if !trigrams.iter().any(|(_, seen)| *seen == trigram) {
                trigrams.push((at, trigram));
            }
        }
        Self {
            folded,
            text,
            trigrams,
        }
    }

    /// The needle, case-folded.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Its distinct trigrams, in order, each with where it first starts.
    pub fn trigrams(&self) -> &[(usize, String)] {
        &self.trigrams
    }

    /// Whether `text` contains the needle, case-insensitively (an empty needle is in
    /// every text).
    pub fn found_in(&self, text: &str) -> bool {
        if self.folded.is_empty() {
            return true;
        }
        if self.text.is_ascii() && text.is_ascii() {
            let needle = self.text.as_bytes();
            return text
                .as_bytes()
                .windows(needle.len())
                .any(|window| window.eq_ignore_ascii_case(needle));
        }
        let folded: Vec<char> = fold(text).collect();
        folded
            .windows(self.folded.len())
            .any(|window| window == self.folded.as_slice())
    }
}

/// The planner's thresholds. The defaults suit any size; tests lower them to reach every
/// path of a plan with a few users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchTuning {
    /// A trigram found in at least this many users is common; counting stops there.
    pub common: u32,
    /// Rows a walk in list order checks before the index takes over.
    pub scan_budget: u32,
}

impl Default for SearchTuning {
    fn default() -> Self {
        Self {
            common: 16_384,
            scan_budget: 2048,
        }
    }
}

/// How a store's trigram index intersects lists, which prices a further trigram.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Intersection {
    /// Along the shortest list, seeking in the others (SQLite's FTS5).
    #[default]
    Seeks,
    /// Every list read whole into a bitmap (PostgreSQL's GIN): a list costs its length.
    Bitmaps,
}

/// How a store answers a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Walk the users in list order first: at most the tuning's `scan_budget` rows, or all
    /// of them when there are no trigrams.
    pub scan_first: bool,
    /// The trigrams to ask the index for, rarest first.
    pub trigrams: Vec<String>,
}

impl Plan {
    /// The plan for trigrams (with where they start in the needle) of these user counts
    /// (each at most `common`) among about `total` users, for an index that intersects
    /// lists as `intersection` says.
    pub fn from_counts(
        mut counted: Vec<(usize, String, u32)>,
        common: u32,
        total: u64,
        intersection: Intersection,
    ) -> Self {
        counted.sort_by_key(|(_, _, count)| *count);
        // No trigram (a needle shorter than three characters) leaves only the walk.
        let scan_first = counted.first().is_none_or(|(_, _, count)| *count >= common);
        counted.truncate(PLANNED_TRIGRAMS);
        let total = total.max(1) as f64;
        let trigrams = match intersection {
            Intersection::Seeks => greedy(&counted, total),
            Intersection::Bitmaps => cheapest(&counted, common, total),
        };
        Self {
            scan_first,
            trigrams,
        }
    }
}

/// For an index that seeks (FTS5), trigrams rarest first: the rarest, then each further
/// one while the candidates left (estimated as if trigrams were found independently)
/// outnumber its list [`LIST_PER_ROW`] times over. A trigram sharing two characters with
/// one taken is found with it and rules out next to nothing: skipped. (Measured at a
/// million users against pricing every set as [`cheapest`] does: this choice was as fast
/// or faster for every search class of `bench/run`, up to twice for a name and a number.)
fn greedy(counted: &[(usize, String, u32)], total: f64) -> Vec<String> {
    let mut taken: Vec<usize> = Vec::new();
    let mut trigrams = Vec::new();
    let mut candidates = f64::INFINITY;
    for (at, trigram, count) in counted {
        let count = f64::from(*count);
        let apart = taken.iter().all(|other| at.abs_diff(*other) >= 2);
        if !apart || trigrams.len() >= INDEXED_TRIGRAMS {
            continue;
        }
        if candidates.is_finite() && candidates * LIST_PER_ROW <= count {
            break;
        }
        candidates = if candidates.is_finite() {
            candidates * count / total
        } else {
            count
        };
        taken.push(*at);
        trigrams.push(trigram.clone());
    }
    trigrams
}

/// For an index that reads every list whole into a bitmap (GIN), the set of one to
/// [`INDEXED_TRIGRAMS`] trigrams that costs least: its lists' lengths, and every candidate
/// left a row read and check, [`LIST_PER_ROW`] times a list entry. A count at `common` is
/// a floor, so its list is priced at four times that. Candidates are estimated from the
/// rarest trigram's count, each further one narrowing by the square root of its share of
/// the users: trigrams of one needle are found together more often than chance (the digits
/// of numbers counted up, the letters of common names). Trigrams of a set share at most
/// one character: two sharing two are found together nearly always.
fn cheapest(counted: &[(usize, String, u32)], common: u32, total: f64) -> Vec<String> {
    let list = |count: u32| {
        if count >= common {
            4.0 * f64::from(common)
        } else {
            f64::from(count)
        }
    };
    let cost = |set: &[usize]| {
        let first = list(counted[set[0]].2);
        let further = &set[1..];
        let lists = first + further.iter().map(|&i| list(counted[i].2)).sum::<f64>();
        let candidates = further
            .iter()
            .fold(first, |left, &i| left * (list(counted[i].2) / total).sqrt());
        lists + LIST_PER_ROW * candidates
    };
    let apart = |set: &[usize]| {
        set.iter().enumerate().all(|(n, &a)| {
            set[n + 1..]
                .iter()
                .all(|&b| counted[a].0.abs_diff(counted[b].0) >= 2)
        })
    };
    let n = counted.len();
    let mut sets: Vec<Vec<usize>> = (0..n).map(|a| vec![a]).collect();
    for a in 0..n {
        for b in a + 1..n {
            sets.push(vec![a, b]);
            for c in b + 1..n {
                sets.push(vec![a, b, c]);
            }
        }
    }
    let best = sets
        .into_iter()
        .filter(|set| set.len() <= INDEXED_TRIGRAMS && apart(set))
        .min_by(|x, y| cost(x).total_cmp(&cost(y)))
        .unwrap_or_default();
    best.into_iter().map(|i| counted[i].1.clone()).collect()
}

/// The rarest trigrams a plan chooses among (a longer needle's others are common).
const PLANNED_TRIGRAMS: usize = 12;

/// How many entries of a trigram's list the index reads in the time one candidate row is
/// read and checked (measured on SQLite's FTS5: about 10 ns an entry, 1 µs a row).
pub const LIST_PER_ROW: f64 = 100.0;

/// The counts a plan reads that are due to be taken, in the needle's order ([`TOTAL`]
/// last).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Due {
    /// Never counted, or forgotten: the plan would take each as common, and a rare
    /// needle would be walked in list order. Count them before planning.
    pub unknown: Vec<String>,
    /// Counted more than [`COUNT_TTL`] ago: still a fair guide, so a plan may use them
    /// while one search counts them again.
    pub stale: Vec<String>,
}

impl Due {
    /// Whether nothing is due.
    pub fn is_empty(&self) -> bool {
        self.unknown.is_empty() && self.stale.is_empty()
    }

    /// Every key due, unknown first.
    pub fn all(self) -> Vec<String> {
        let mut all = self.unknown;
        all.extend(self.stale);
        all
    }
}

/// Remembered trigram counts, for planning (see the module's documentation).
#[derive(Debug)]
pub struct TrigramCounts {
    pub tuning: SearchTuning,
    intersection: Intersection,
    counts: Remembered<u32>,
}

impl Default for TrigramCounts {
    fn default() -> Self {
        Self::new(SearchTuning::default(), Intersection::default())
    }
}

impl TrigramCounts {
    pub fn new(tuning: SearchTuning, intersection: Intersection) -> Self {
        Self {
            tuning,
            intersection,
            counts: Remembered::new(COUNTS_MAX),
        }
    }

    /// What the plan for `needle` needs counted first: its trigrams whose count is not
    /// remembered from the last [`COUNT_TTL`] and, as [`TOTAL`], the number of users.
    pub fn to_count(&self, needle: &Needle) -> Vec<String> {
        self.due(needle).all()
    }

    /// Which of the counts the plan for `needle` reads are due, now.
    pub fn due(&self, needle: &Needle) -> Due {
        self.due_at(needle, Instant::now())
    }

    /// Which of the counts the plan for `needle` reads are due at `now`: its trigrams'
    /// and, as [`TOTAL`], the number of users.
    pub fn due_at(&self, needle: &Needle, now: Instant) -> Due {
        let mut due = Due::default();
        let keys = needle
            .trigrams()
            .iter()
            .map(|(_, trigram)| trigram.as_str())
            .chain([TOTAL]);
        for key in keys {
            match self.counts.get(key) {
                None => due.unknown.push(key.to_owned()),
                Some((_, at)) if now.saturating_duration_since(at) >= COUNT_TTL => {
                    due.stale.push(key.to_owned());
                }
                Some(_) => {}
            }
        }
        due
    }

    /// Remember a count (a trigram's, at most the tuning's `common`) or the [`TOTAL`].
    pub fn remember(&self, key: &str, count: u32) {
        let count = if key == TOTAL {
            count
        } else {
            count.min(self.tuning.common)
        };
        self.counts.insert(key, count);
    }

    /// The plan for `needle` from the remembered counts (a trigram not counted is taken as
    /// common).
    pub fn plan(&self, needle: &Needle) -> Plan {
        let common = self.tuning.common;
        let counted = needle
            .trigrams()
            .iter()
            .map(|(at, trigram)| {
                let n = self.counts.get(trigram).map_or(common, |(n, _)| n);
                (*at, trigram.clone(), n)
            })
            .collect();
        let total = self.counts.get(TOTAL).map_or(0, |(n, _)| n);
        Plan::from_counts(counted, common, u64::from(total), self.intersection)
    }
}

/// What a search of `request` starts from: the request its walks run (without the search
/// and the offset, which the checks of [`Found`] apply) and the rows it keeps.
pub fn start<T>(
    request: &roster_core::UserListRequest,
) -> (roster_core::UserListRequest, Found<T>) {
    let walk = roster_core::UserListRequest {
        search: None,
        offset: 0,
        ..request.clone()
    };
    (walk, Found::new(request.offset, request.limit))
}

/// The rows a search keeps: after skipping `offset` matches, up to `limit`.
#[derive(Debug)]
pub struct Found<T> {
    skip: u64,
    limit: usize,
    pub rows: Vec<T>,
}

impl<T> Found<T> {
    pub fn new(offset: u64, limit: u32) -> Self {
        Self {
            skip: offset,
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            rows: Vec::new(),
        }
    }

    /// Count a match: whether it belongs on the page (past the offset, within the limit),
    /// so the caller pushes it onto `rows`.
    pub fn takes(&mut self) -> bool {
        if self.skip > 0 {
            self.skip -= 1;
            return false;
        }
        !self.is_full()
    }

    pub fn is_full(&self) -> bool {
        self.rows.len() >= self.limit
    }

    /// Matches still to be counted before the page is full: those to skip, then those to
    /// keep.
    pub fn wanted(&self) -> u64 {
        let keep = self.limit.saturating_sub(self.rows.len());
        self.skip
            .saturating_add(u64::try_from(keep).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_wants_the_matches_it_skips_and_keeps() {
        let mut found: Found<u32> = Found::new(2, 3);
        assert_eq!(found.wanted(), 5);
        assert!(!found.takes());
        assert_eq!(found.wanted(), 4);
        assert!(!found.takes());
        assert!(found.takes());
        found.rows.push(1);
        assert_eq!(found.wanted(), 2);
        found.rows.extend([2, 3]);
        assert_eq!(found.wanted(), 0);
    }

    #[test]
    fn a_needle_is_found_case_insensitively_in_ascii_and_beyond() {
        let needle = Needle::new("Ann.Lee@");
        assert!(needle.found_in("mary-ann.lee@example.com"));
        assert!(needle.found_in("ANN.LEE@X"));
        assert!(!needle.found_in("ann lee@x"));
        let accented = Needle::new("ZOË");
        assert!(accented.found_in("zoë garcia"));
        assert!(accented.found_in("Zoë Garcia"));
        assert!(!accented.found_in("zoe garcia"));
        assert!(!Needle::new("longer than the text").found_in("short"));
        assert!(Needle::new("").found_in("anything"));
    }

    #[test]
    fn trigrams_are_distinct_and_folded() {
        assert_eq!(Needle::new("AaAa").trigrams(), [(0, "aaa".to_owned())]);
        assert_eq!(
            Needle::new("Zoë G").trigrams(),
            vec![
                (0, "zoë".to_owned()),
                (1, "oë ".to_owned()),
                (2, "ë g".to_owned())
            ]
        );
    }

    #[test]
    fn the_plan_asks_for_the_cheapest_set_of_trigrams_apart() {
        use Intersection::{Bitmaps, Seeks};
        let plan = |counted: &[(usize, &str, u32)], common, total, intersection| {
            let counted = counted
                .iter()
                .map(|(at, t, n)| (*at, (*t).to_owned(), *n))
                .collect();
            Plan::from_counts(counted, common, total, intersection).trigrams
        };
        // "richardrossi.999998@corp.example" at a million users: "dro" shares two
        // characters with "rdr"; three lists leave next to no candidate.
        let email = [
            (3, "rdr", 1283),
            (4, "dro", 3787),
            (13, "999", 3700),
            (15, "998", 3999),
            (19, "@co", 16_384),
            (25, "exa", 16_384),
        ];
        assert_eq!(
            plan(&email, 16_384, 1_000_000, Bitmaps),
            ["rdr", "999", "998"]
        );
        // Seeking: "999" leaves about 5 candidates, fewer than "998" would cost.
        assert_eq!(plan(&email, 16_384, 1_000_000, Seeks), ["rdr", "999"]);
        // "lopez.99899": "989" is the rarest, but shares two characters with both other
        // numbers. Seeking takes it and a list more; a bitmap reads "lop" whole, so the
        // other two numbers are cheaper.
        let name_and_number = [
            (0, "lop", 16_384),
            (6, "998", 3999),
            (7, "989", 3998),
            (8, "899", 3999),
        ];
        assert_eq!(
            plan(&name_and_number, 16_384, 1_000_000, Seeks),
            ["989", "lop"]
        );
        assert_eq!(
            plan(&name_and_number, 16_384, 1_000_000, Bitmaps),
            ["998", "899"]
        );
        // A rare trigram alone beats any set with a common one.
        let rare = [(0, "xot", 100), (2, "tel", 16_384)];
        assert_eq!(plan(&rare, 16_384, 1_000_000, Bitmaps), ["xot"]);
        assert_eq!(plan(&rare, 16_384, 1_000_000, Seeks), ["xot"]);
        // Among few users, every trigram narrows: up to three are asked for.
        let few = [(0, "abc", 5), (2, "cde", 9), (4, "efg", 9)];
        for intersection in [Seeks, Bitmaps] {
            assert_eq!(plan(&few, 16_384, 50, intersection), ["abc", "cde", "efg"]);
        }
        let dense = Plan::from_counts(
            vec![(0, "exa".into(), 9), (1, "xam".into(), 9)],
            9,
            10,
            Seeks,
        );
        assert!(dense.scan_first);
        assert_eq!(dense.trigrams.len(), 1);
    }

    #[test]
    fn counts_are_taken_once_and_remembered() {
        let counts = TrigramCounts::default();
        let needle = Needle::new("abcd");
        assert_eq!(counts.to_count(&needle), vec!["abc", "bcd", TOTAL]);
        counts.remember("abc", 100_000);
        counts.remember("bcd", 7);
        counts.remember(TOTAL, 1_000_000);
        assert!(counts.to_count(&needle).is_empty());
        assert_eq!(counts.plan(&needle).trigrams, vec!["bcd"]);
        // Only the new trigram is counted for a longer needle.
        assert_eq!(counts.to_count(&Needle::new("abcde")), vec!["cde"]);
    }

    #[test]
    fn counts_older_than_their_time_are_stale_not_unknown() {
        let counts = TrigramCounts::default();
        let needle = Needle::new("abcd");
        counts.remember("abc", 100_000);
        counts.remember(TOTAL, 1_000_000);
        let now = Instant::now();
        let due = counts.due_at(&needle, now);
        assert_eq!(due.unknown, vec!["bcd"]);
        assert!(due.stale.is_empty());
        let later = counts.due_at(&needle, now + COUNT_TTL);
        assert_eq!(later.unknown, vec!["bcd"]);
        assert_eq!(later.stale, vec!["abc", TOTAL]);
        assert_eq!(later.all(), vec!["bcd", "abc", TOTAL]);
        counts.remember("bcd", 7);
        assert!(counts.due_at(&needle, now).is_empty());
        // A stale count still plans: the rarer trigram is still the one asked for.
        assert_eq!(counts.plan(&needle).trigrams, vec!["bcd"]);
    }

    #[test]
    fn found_skips_the_offset_then_keeps_up_to_the_limit() {
        let mut found = Found::new(2, 3);
        for n in 0..10 {
            if found.takes() {
                found.rows.push(n);
            }
        }
        assert_eq!(found.rows, vec![2, 3, 4]);
        assert!(found.is_full());
    }
}
