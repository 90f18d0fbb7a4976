//! Roster's core: the domain of a user administration server.
//!
//! This crate knows nothing of HTTP or SQL. It holds the domain types (workspaces, users,
//! secret keys), the rules that validate them, and the operations every surface calls
//! ([`Roster`]). Persistence goes through the [`store::Store`] trait, which each backend
//! implements; time and randomness come in through [`Clock`] and [`Random`] so tests can pin
//! them.

pub mod attributes;
pub mod clock;
pub mod error;
pub mod ids;
pub mod keys;
pub mod listing;
pub mod random;
pub mod roster;
pub mod store;
pub mod user;
pub mod workspace;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Code, Error, ErrorKind, Result};
pub use keys::{ApiKey, IssuedKey};
pub use listing::{Cursor, Page, UserFilter, UserListRequest};
pub use random::{OsRandom, Random, SeededRandom};
pub use roster::{Actor, Roster};
pub use store::{Store, StoreError, UniqueKey};
pub use user::{NewUser, User, UserPatch, UserStatus};
pub use workspace::Workspace;
