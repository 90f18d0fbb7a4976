//! Timestamps as the native API shows them: RFC 3339 in UTC, to the second
//! (`2024-11-15T08:30:00Z`, as in seed 002). One definition, the core's, for the API and
//! the exports.

pub use roster_core::transfer::records::{rfc3339, rfc3339_opt};

/// A time as RFC 3339 in UTC with microseconds (`2026-12-02T14:11:45.123456Z`): every digit
/// the stores keep, so `meta.lastModified gt <a time shown>` never matches the same change.
pub fn rfc3339_micros(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
