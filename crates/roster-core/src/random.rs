//! Randomness, injected so tests can make ids and secrets repeatable.

use std::sync::Mutex;

use rand::{rngs::StdRng, RngCore, SeedableRng};

/// A source of random bytes. Secrets are drawn from it, so the production implementation
/// must be a cryptographically secure generator.
pub trait Random: Send + Sync + 'static {
    fn fill(&self, buf: &mut [u8]);
}

/// The operating system's CSPRNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        rand::rngs::OsRng.fill_bytes(buf);
    }
}

/// A deterministic generator from a seed; for tests only.
#[derive(Debug)]
pub struct SeededRandom(Mutex<StdRng>);

impl SeededRandom {
    pub fn new(seed: u64) -> Self {
        Self(Mutex::new(StdRng::seed_from_u64(seed)))
    }
}

impl Random for SeededRandom {
    fn fill(&self, buf: &mut [u8]) {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .fill_bytes(buf);
    }
}
