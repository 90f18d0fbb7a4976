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
//!   [`TrigramCounts::to_count`] names and remembers it), counting at most
//!   [`SearchTuning::common`] users: a small bounded read, remembered for [`COUNT_TTL`] (planner
//!   statistics, never used as an answer: a stale count only makes a plan slower).
//! - The index is asked only for the [`INDEXED_TRIGRAMS`] rarest trigrams, whose
//!   intersection is short; every candidate is then checked against the whole needle
//!   ([`Needle::found_in`]), so the answer is exact whichever trigrams were picked.
//! - When even the rarest trigram is common, the needle may match nearly everyone (the
//!   email domain every user shares): the users are then walked in list order, through the
//!   index of the request's filters, checking each, for at most
//!   [`SearchTuning::scan_budget`] rows; a page
//!   that is not full by then is finished through the index, after the last row walked.
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

/// `c` as the trigram indexes compare it: lower case, one character for one (a character
/// whose lower case is longer keeps its first, as SQLite's case folding does).
fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    c.to_lowercase().next().unwrap_or(c)
}

/// What is searched, case-folded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needle {
    folded: Vec<char>,
    text: String,
}

impl Needle {
    pub fn new(search: &str) -> Self {
        let folded: Vec<char> = search.chars().map(fold_char).collect();
        let text = folded.iter().collect();
        Self { folded, text }
    }

    /// The needle, case-folded.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Its distinct trigrams, in order, each with where it first starts.
    pub fn trigrams(&self) -> Vec<(usize, String)> {
        let mut out: Vec<(usize, String)> = Vec::new();
        for (at, window) in self.folded.windows(3).enumerate() {
            let trigram: String = window.iter().collect();
            if !out.iter().any(|(_, seen)| *seen == trigram) {
                out.push((at, trigram));
            }
        }
        out
    }

    /// Whether `text` contains the needle, case-insensitively.
    pub fn found_in(&self, text: &str) -> bool {
        if self.text.is_ascii() && text.is_ascii() {
            let needle = self.text.as_bytes();
            return text
                .as_bytes()
                .windows(needle.len())
                .any(|window| window.eq_ignore_ascii_case(needle));
        }
        let folded: Vec<char> = text.chars().map(fold_char).collect();
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
    /// (each at most `common`) among about `total` users.
    ///
    /// The index is asked for the set of one to [`INDEXED_TRIGRAMS`] trigrams that costs
    /// least: each costs its list of users, and every candidate left (estimated as if
    /// trigrams were found independently) a row read and check, [`LIST_PER_ROW`] times a
    /// list entry. A count at `common` is a floor, so its list is priced at four times that.
    /// Trigrams of a set share at most one character: two sharing two are found together,
    /// and the estimate would take them for independent.
    pub fn from_counts(mut counted: Vec<(usize, String, u32)>, common: u32, total: u64) -> Self {
        counted.sort_by_key(|(_, _, count)| *count);
        // No trigram (a needle shorter than three characters) leaves only the walk.
        let scan_first = counted.first().is_none_or(|(_, _, count)| *count >= common);
        counted.truncate(PLANNED_TRIGRAMS);
        let total = total.max(1) as f64;
        let list = |count: u32| {
            if count >= common {
                4.0 * f64::from(common)
            } else {
                f64::from(count)
            }
        };
        let cost = |set: &[usize]| {
            let lists: f64 = set.iter().map(|&i| list(counted[i].2)).sum();
            let first = list(counted[set[0]].2);
            let candidates = set[1..]
                .iter()
                .fold(first, |left, &i| left * list(counted[i].2) / total);
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
        Self {
            scan_first,
            trigrams: best.into_iter().map(|i| counted[i].1.clone()).collect(),
        }
    }
}

/// The rarest trigrams a plan chooses among (a longer needle's others are common).
const PLANNED_TRIGRAMS: usize = 12;

/// How many entries of a trigram's list the index reads in the time one candidate row is
/// read and checked (measured on SQLite's FTS5: about 10 ns an entry, 1 µs a row).
pub const LIST_PER_ROW: f64 = 100.0;

/// Remembered trigram counts, for planning (see the module's documentation).
#[derive(Debug, Default)]
pub struct TrigramCounts {
    pub tuning: SearchTuning,
    counts: Mutex<HashMap<String, (u32, Instant)>>,
}

impl TrigramCounts {
    pub fn new(tuning: SearchTuning) -> Self {
        Self {
            tuning,
            counts: Mutex::default(),
        }
    }

    /// What the plan for `needle` needs counted first: its trigrams whose count is not
    /// remembered from the last [`COUNT_TTL`] and, as [`TOTAL`], the number of users.
    pub fn to_count(&self, needle: &Needle) -> Vec<String> {
        let now = Instant::now();
        let counts = self.lock();
        let fresh = |key: &str| {
            counts
                .get(key)
                .is_some_and(|(_, at)| now.duration_since(*at) < COUNT_TTL)
        };
        let mut out: Vec<String> = needle
            .trigrams()
            .into_iter()
            .map(|(_, trigram)| trigram)
            .filter(|trigram| !fresh(trigram))
            .collect();
        if !fresh(TOTAL) {
            out.push(TOTAL.to_owned());
        }
        out
    }

    /// Remember a count (a trigram's, at most the tuning's `common`) or the [`TOTAL`].
    pub fn remember(&self, key: &str, count: u32) {
        let mut counts = self.lock();
        if counts.len() >= COUNTS_MAX {
            counts.clear();
        }
        let count = if key == TOTAL {
            count
        } else {
            count.min(self.tuning.common)
        };
        counts.insert(key.to_owned(), (count, Instant::now()));
    }

    /// The plan for `needle` from the remembered counts (a trigram not counted is taken as
    /// common).
    pub fn plan(&self, needle: &Needle) -> Plan {
        let common = self.tuning.common;
        let counts = self.lock();
        let counted = needle
            .trigrams()
            .into_iter()
            .map(|(at, trigram)| {
                let n = counts.get(&trigram).map_or(common, |(n, _)| *n);
                (at, trigram, n)
            })
            .collect();
        let total = counts.get(TOTAL).map_or(0, |(n, _)| *n);
        drop(counts);
        Plan::from_counts(counted, common, u64::from(total))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, Instant)>> {
        self.counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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

    /// Keep a matching row (made by `make` only when kept).
    pub fn keep<E>(&mut self, make: impl FnOnce() -> Result<T, E>) -> Result<(), E> {
        if self.skip > 0 {
            self.skip -= 1;
        } else if !self.is_full() {
            self.rows.push(make()?);
        }
        Ok(())
    }

    pub fn is_full(&self) -> bool {
        self.rows.len() >= self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn trigrams_are_distinct_and_folded() {
        assert_eq!(Needle::new("AaAa").trigrams(), vec![(0, "aaa".to_owned())]);
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
        // "richardrossi.999998@corp.example" at a million users: "rdr" and "999" leave
        // about 5 candidates; a third list would cost more than it saves.
        let email = vec![
            (3, "rdr".into(), 1283),
            (4, "dro".into(), 3787),
            (13, "999".into(), 3700),
            (15, "998".into(), 3999),
            (19, "@co".into(), 16_384),
            (25, "exa".into(), 16_384),
        ];
        let plan = Plan::from_counts(email, 16_384, 1_000_000);
        assert!(!plan.scan_first);
        assert_eq!(plan.trigrams, vec!["rdr", "999"]);
        // "lopez.99899": "989" is the rarest, but both trigrams apart from it share two
        // characters with it; "998" and "899" share one.
        let name_and_number = vec![
            (0, "lop".into(), 16_384),
            (6, "998".into(), 3999),
            (7, "989".into(), 3998),
            (8, "899".into(), 3999),
        ];
        let plan = Plan::from_counts(name_and_number, 16_384, 1_000_000);
        assert_eq!(plan.trigrams, vec!["998", "899"]);
        // A rare trigram alone beats any pair with a common one.
        let rare = Plan::from_counts(
            vec![(0, "xot".into(), 100), (2, "tel".into(), 16_384)],
            16_384,
            1_000_000,
        );
        assert_eq!(rare.trigrams, vec!["xot"]);
        // Among few users, every trigram narrows: up to three are asked for.
        let few = Plan::from_counts(
            vec![
                (0, "abc".into(), 5),
                (2, "cde".into(), 9),
                (4, "efg".into(), 9),
            ],
            16_384,
            50,
        );
        assert_eq!(few.trigrams, vec!["abc", "cde", "efg"]);
        let dense = Plan::from_counts(vec![(0, "exa".into(), 9), (1, "xam".into(), 9)], 9, 10);
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
    fn found_skips_the_offset_then_keeps_up_to_the_limit() {
        let mut found = Found::new(2, 3);
        for n in 0..10 {
            found.keep::<()>(|| Ok(n)).unwrap();
        }
        assert_eq!(found.rows, vec![2, 3, 4]);
        assert!(found.is_full());
    }
}
