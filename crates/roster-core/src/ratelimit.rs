//! Request budgets per credential: GCRA, a bucket of `limit` requests refilled at `limit`
//! per minute.
//!
//! [`RateLimiter`] is the seam for a shared backend (many nodes, one budget); the
//! [`MemoryRateLimiter`] here keeps budgets per node.
//!
//! The bucket is keyed by the credential alone, and its limit is read on every request:
//! when a credential's limit changes, the new limit applies to the bucket as it stands (a
//! caller that used up its budget does not get a fresh one by having its limit changed).
//! That is why GCRA is written out here rather than taken from `governor`, whose limiters
//! fix their quota when they are made.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

/// Seed 002: 1,000 requests per minute per API key.
pub const DEFAULT_PER_MINUTE: u32 = 1_000;

/// The answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    /// The bucket size: requests per minute.
    pub limit: u32,
    /// Requests left right now.
    pub remaining: u32,
    /// How long until the bucket is full again.
    pub reset_after: Duration,
    /// When refused: how long until one request is allowed.
    pub retry_after: Option<Duration>,
}

#[async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Take one request from `credential`'s budget of `per_minute`.
    async fn check(&self, credential: &str, per_minute: u32) -> RateDecision;
}

/// One credential's bucket, counted in requests: it holds up to `limit` requests and
/// drains at `limit` per minute. The level is kept in integer units (one request is a
/// minute's worth of nanoseconds, and the bucket drains `limit` units per nanosecond), so
/// nothing is lost to rounding and a change of limit keeps what was used: 3 requests used
/// under a limit of 3 leave 3 more under a limit of 6, and none under a limit of 2.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    level: u128,
    at: Instant,
}

/// One request, in bucket units.
const REQUEST: u128 = 60_000_000_000;

impl Bucket {
    pub fn new(now: Instant) -> Self {
        Self { level: 0, at: now }
    }

    /// Take one request at `now` under a limit of `per_minute` (0 counts as 1).
    pub fn take(&mut self, now: Instant, per_minute: u32) -> RateDecision {
        let limit = per_minute.max(1);
        let rate = u128::from(limit);
        let elapsed = now.saturating_duration_since(self.at).as_nanos();
        self.level = self.level.saturating_sub(elapsed.saturating_mul(rate));
        self.at = self.at.max(now);
        let capacity = rate * REQUEST;
        let nanos =
            |units: u128| Duration::from_nanos(u64::try_from(units / rate).unwrap_or(u64::MAX));
        if self.level + REQUEST > capacity {
            return RateDecision {
                allowed: false,
                limit,
                remaining: 0,
                reset_after: nanos(self.level),
                retry_after: Some(nanos(self.level + REQUEST - capacity)),
            };
        }
        self.level += REQUEST;
        RateDecision {
            allowed: true,
            limit,
            remaining: u32::try_from((capacity - self.level) / REQUEST).unwrap_or(limit),
            reset_after: nanos(self.level),
            retry_after: None,
        }
    }
}

/// Budgets in this process's memory. Idle budgets are dropped after ten minutes (a dropped
/// budget is a full one, which an idle credential would have anyway).
pub struct MemoryRateLimiter {
    buckets: moka::sync::Cache<String, Arc<Mutex<Bucket>>>,
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        Self {
            buckets: moka::sync::Cache::builder()
                .max_capacity(1_000_000)
                .time_to_idle(Duration::from_secs(600))
                .build(),
        }
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn check(&self, credential: &str, per_minute: u32) -> RateDecision {
        let now = Instant::now();
        let bucket = self
            .buckets
            .get_with_by_ref(credential, || Arc::new(Mutex::new(Bucket::new(now))));
        let mut bucket = bucket.lock().unwrap_or_else(|p| p.into_inner());
        bucket.take(now, per_minute)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn budget_runs_out_and_is_per_credential() {
        let limiter = MemoryRateLimiter::default();
        for left in (0..3).rev() {
            let decision = limiter.check("a", 3).await;
            assert!(decision.allowed);
            assert_eq!((decision.limit, decision.remaining), (3, left));
        }
        let refused = limiter.check("a", 3).await;
        assert!(!refused.allowed);
        let retry = refused.retry_after.unwrap();
        assert!(
            retry > Duration::ZERO && retry <= Duration::from_secs(20),
            "{retry:?}"
        );
        assert!(limiter.check("b", 3).await.allowed);
    }

    #[test]
    fn a_changed_limit_applies_to_the_bucket_as_it_stands() {
        let start = Instant::now();
        let mut bucket = Bucket::new(start);
        for _ in 0..3 {
            assert!(bucket.take(start, 3).allowed);
        }
        assert!(!bucket.take(start, 3).allowed);
        // Raised to 6: the 3 used still count, so 3 more, not a fresh bucket of 6.
        let mut allowed = 0;
        while bucket.take(start, 6).allowed {
            allowed += 1;
        }
        assert_eq!(allowed, 3);
        // Lowering it refuses at once what the old limit still had room for.
        let mut fresh = Bucket::new(start);
        for _ in 0..5 {
            assert!(fresh.take(start, 100).allowed);
        }
        assert!(!fresh.take(start, 5).allowed);
    }

    #[test]
    fn the_bucket_refills_at_the_limit_per_minute() {
        let start = Instant::now();
        let mut bucket = Bucket::new(start);
        for _ in 0..60 {
            assert!(bucket.take(start, 60).allowed);
        }
        let refused = bucket.take(start, 60);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after, Some(Duration::from_secs(1)));
        let later = start + Duration::from_secs(1);
        let again = bucket.take(later, 60);
        assert!(again.allowed);
        assert_eq!(again.remaining, 0);
        let idle = later + Duration::from_secs(120);
        assert_eq!(bucket.take(idle, 60).remaining, 59);
    }
}
