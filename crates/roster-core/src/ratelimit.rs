//! Request budgets per credential: GCRA (the `governor` crate), a bucket of
//! `limit` requests refilled at `limit` per minute.
//!
//! [`RateLimiter`] is the seam for a shared backend (many nodes, one budget); the
//! [`MemoryRateLimiter`] here keeps budgets per node.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use governor::clock::{Clock as _, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::Quota;

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

type Limiter =
    governor::RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

/// Budgets in this process's memory. Idle budgets are dropped after ten minutes (a dropped
/// budget is a full one, which an idle credential would have anyway).
pub struct MemoryRateLimiter {
    limiters: moka::sync::Cache<(String, u32), Arc<Limiter>>,
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        Self {
            limiters: moka::sync::Cache::builder()
                .max_capacity(1_000_000)
                .time_to_idle(Duration::from_secs(600))
                .build(),
        }
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn check(&self, credential: &str, per_minute: u32) -> RateDecision {
        let limit = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        let limiter = self
            .limiters
            .get_with((credential.to_owned(), limit.get()), || {
                Arc::new(
                    governor::RateLimiter::direct(Quota::per_minute(limit))
                        .with_middleware::<StateInformationMiddleware>(),
                )
            });
        let refill = Duration::from_secs(60) / limit.get();
        match limiter.check() {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                RateDecision {
                    allowed: true,
                    limit: limit.get(),
                    remaining,
                    reset_after: refill * (limit.get() - remaining),
                    retry_after: None,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(limiter.clock().now());
                RateDecision {
                    allowed: false,
                    limit: limit.get(),
                    remaining: 0,
                    reset_after: refill * limit.get(),
                    retry_after: Some(wait),
                }
            }
        }
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
}
