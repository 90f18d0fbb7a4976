//! Timestamps as the native API shows them: RFC 3339 in UTC, to the second
//! (`2024-11-15T08:30:00Z`, as in seed 002). One definition, the core's, for the API and
//! the exports.

pub use roster_core::transfer::records::{rfc3339, rfc3339_opt};
