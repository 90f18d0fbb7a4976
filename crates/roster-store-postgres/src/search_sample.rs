//! A random sample of the users' names and emails, the trigram counts a search is planned
//! by (`user_search::Counting`), and how many users hold a whole needle.

use std::collections::HashMap;
use std::time::Instant;

use roster_core::store::StoreError;
use roster_store_rows::search::{self, Needle};
use sqlx::PgPool;

use crate::error::db_error;

/// How many users hold a whole needle, as a sample found: about `users` of the table, a
/// `share` of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Matching {
    pub(crate) users: u64,
    pub(crate) share: f64,
}

/// Users a [`Sample`] reads, about: at a million users, 1.6% of the table's pages (the query
/// took 59 ms under load, and the first search after a restart 0.13 s with its counting),
/// with any trigram held by a thousand users or more found in it about 16 times (a count
/// within a quarter or so, plenty to rank trigrams by).
pub(crate) const SAMPLE_USERS: u64 = 16_384;

/// How many sampled users hold each trigram in their name or email, and how many users of
/// the table one sampled user stands for.
#[derive(Debug)]
pub(crate) struct Sample {
    pub(crate) drawn: Instant,
    scale: f64,
    holding: HashMap<[char; 3], u32>,
    /// The sampled users' names and emails.
    rows: Vec<(String, String)>,
}

impl Sample {
    /// Draw a sample of about [`SAMPLE_USERS`] of the table's `users` (PostgreSQL's
    /// `TABLESAMPLE SYSTEM`: whole pages, picked at random), or the whole table when it is
    /// no bigger, and count its trigrams.
    pub(crate) async fn draw(pool: &PgPool, users: u64, now: Instant) -> Result<Self, StoreError> {
        // A table of no more users than a sample is read whole (its highest key may be far
        // above how many users it holds).
        let upto: i64 = i64::try_from(SAMPLE_USERS + 1).unwrap_or(i64::MAX);
        let held: i64 = sqlx::query_scalar("SELECT count(*) FROM (SELECT 1 FROM users LIMIT $1) u")
            .bind(upto)
            .fetch_one(pool)
            .await
            .map_err(db_error)?;
        let percent = if held < upto || users == 0 {
            100.0
        } else {
            (SAMPLE_USERS as f64 * 100.0 / users as f64).min(100.0)
        };
        let rows: Vec<(String, String)> = if percent >= 100.0 {
            sqlx::query_as("SELECT name, email FROM users")
                .fetch_all(pool)
                .await
        } else {
            sqlx::query_as("SELECT name, email FROM users TABLESAMPLE SYSTEM ($1)")
                .bind(percent)
                .fetch_all(pool)
                .await
        }
        .map_err(db_error)?;
        // Tens of milliseconds of counting: off the request threads.
        tokio::task::spawn_blocking(move || Self::of(rows, 100.0 / percent, now))
            .await
            .map_err(|e| StoreError::Backend(format!("counting a search sample failed: {e}")))
    }

    /// The sample of `rows` (name and email), each standing for `scale` users.
    pub(crate) fn of(rows: Vec<(String, String)>, scale: f64, drawn: Instant) -> Self {
        let mut holding: HashMap<[char; 3], u32> = HashMap::new();
        let mut own: Vec<[char; 3]> = Vec::new();
        for (name, email) in &rows {
            own.clear();
            for text in [name, email] {
                let folded: Vec<char> = search::fold(text).collect();
                own.extend(folded.windows(3).map(|w| [w[0], w[1], w[2]]));
            }
            own.sort_unstable();
            own.dedup();
            for trigram in &own {
                *holding.entry(*trigram).or_default() += 1;
            }
        }
        Self {
            drawn,
            scale,
            holding,
            rows,
        }
    }

    /// About how many users hold the whole of `needle` in their name or email, and what
    /// share of the users that is (checked against every sampled user: about 3 ms).
    pub(crate) fn matching(&self, needle: &Needle) -> Matching {
        let found = self
            .rows
            .iter()
            .filter(|(name, email)| needle.found_in(name) || needle.found_in(email))
            .count();
        let share = if self.rows.is_empty() {
            0.0
        } else {
            found as f64 / self.rows.len() as f64
        };
        Matching {
            users: (found as f64 * self.scale).round() as u64,
            share,
        }
    }

    /// About how many users hold `trigram` (three characters, folded as [`search::fold`] folds).
    pub(crate) fn users_holding(&self, trigram: &str) -> u32 {
        let mut chars = trigram.chars();
        let (Some(a), Some(b), Some(c), None) =
            (chars.next(), chars.next(), chars.next(), chars.next())
        else {
            return 0;
        };
        let found = self.holding.get(&[a, b, c]).copied().unwrap_or(0);
        // Rounded; a count of millions is past any tuning's `common` either way.
        (f64::from(found) * self.scale)
            .round()
            .min(f64::from(u32::MAX)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_counts_each_user_once_per_trigram_scaled() {
        let rows = [
            ("Ann Abcott".to_owned(), "ann@abc.test".to_owned()),
            ("Bob".to_owned(), "bob@ABC.test".to_owned()),
            ("Cy".to_owned(), "cy@example.test".to_owned()),
        ];
        let whole = Sample::of(rows.to_vec(), 1.0, Instant::now());
        // Ann holds "abc" in her name and her email: one user.
        assert_eq!(whole.users_holding("abc"), 2);
        assert_eq!(whole.users_holding("tes"), 3);
        assert_eq!(whole.users_holding("xyz"), 0);
        // Each sampled user standing for 50.
        let sampled = Sample::of(rows.to_vec(), 50.0, Instant::now());
        assert_eq!(sampled.users_holding("abc"), 100);
        assert_eq!(sampled.users_holding("@ab"), 100);
        // The whole needle, case-folded, in the name or the email.
        let abc = sampled.matching(&Needle::new("ABC.t"));
        assert_eq!(abc.users, 100);
        assert!((abc.share - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(sampled.matching(&Needle::new(".test")).users, 150);
        assert_eq!(sampled.matching(&Needle::new("zzz")).users, 0);
    }
}
