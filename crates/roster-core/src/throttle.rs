//! Repeated failures slowed down, per node: after 5 failures for one key (a sign-in name,
//! an address at a door that checks a secret), each further attempt must wait 1 s, 2 s,
//! 4 s, … up to 15 minutes after the last failure. Used by sign-in, the client-token
//! exchange and invitation acceptance.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};

/// Failures allowed before attempts are slowed down.
const FREE_FAILURES: u32 = 5;
const MAX_BACKOFF_SECONDS: i64 = 900;

/// Per-node failure counts, by sign-in name and by address.
#[derive(Clone)]
pub(crate) struct SignInThrottle {
    failures: moka::sync::Cache<String, (u32, DateTime<Utc>)>,
}

impl SignInThrottle {
    pub(crate) fn new() -> Self {
        Self {
            failures: moka::sync::Cache::builder()
                .max_capacity(1_000_000)
                .time_to_idle(StdDuration::from_secs(3_600))
                .build(),
        }
    }

    /// How long `keys` must still wait, if any must.
    pub(crate) fn wait(&self, keys: &[String], now: DateTime<Utc>) -> Option<Duration> {
        keys.iter()
            .filter_map(|key| self.failures.get(key))
            .filter(|(count, _)| *count >= FREE_FAILURES)
            .map(|(count, last)| last + backoff(count) - now)
            .filter(|wait| *wait > Duration::zero())
            .max()
    }

    pub(crate) fn fail(&self, keys: &[String], now: DateTime<Utc>) {
        for key in keys {
            let count = self.failures.get(key).map_or(0, |(count, _)| count);
            self.failures
                .insert(key.clone(), (count.saturating_add(1), now));
        }
    }

    pub(crate) fn succeed(&self, key: &str) {
        self.failures.invalidate(key);
    }
}

/// The wait after `failures` failures.
fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(FREE_FAILURES).min(20);
    Duration::seconds((1_i64 << doublings).min(MAX_BACKOFF_SECONDS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_starts_after_five_failures_and_caps_at_fifteen_minutes() {
        let throttle = SignInThrottle::new();
        let now = Utc::now();
        let keys = vec!["1:ann@example.com".to_owned()];
        for _ in 0..4 {
            throttle.fail(&keys, now);
        }
        assert_eq!(throttle.wait(&keys, now), None);
        throttle.fail(&keys, now);
        assert_eq!(throttle.wait(&keys, now), Some(Duration::seconds(1)));
        throttle.fail(&keys, now);
        assert_eq!(throttle.wait(&keys, now), Some(Duration::seconds(2)));
        assert_eq!(throttle.wait(&keys, now + Duration::seconds(2)), None);
        assert_eq!(backoff(40), Duration::seconds(900));
        throttle.succeed(&keys[0]);
        assert_eq!(throttle.wait(&keys, now), None);
    }
}
