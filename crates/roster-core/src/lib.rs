//! Roster's core: the domain of a user administration server.
//!
//! This crate knows nothing of HTTP or SQL. It holds the domain types (workspaces, users and
//! their lifecycle, invitations, groups, the mail outbox, secret keys), the rules that
//! validate them, and the operations every surface calls
//! ([`Roster`]). Persistence goes through the [`store::Store`] trait, which each backend
//! implements; time and randomness come in through [`Clock`] and [`Random`] so tests can pin
//! them.

pub mod access;
pub mod attributes;
pub mod audit;
pub mod audit_log;
mod auth_cache;
pub mod clients;
pub mod clock;
pub mod console;
pub mod error;
pub mod group;
mod group_members;
mod groups;
pub mod ids;
pub mod import;
pub mod invitation;
mod invitation_settings;
pub mod keys;
pub mod lifecycle;
pub mod listing;
pub mod outbox;
mod outbox_delivery;
pub mod password;
pub mod plan;
pub mod principal;
mod queries;
pub mod query;
pub mod random;
pub mod ratelimit;
pub mod roles;
pub mod roster;
pub mod scopes;
pub mod session;
pub mod signin;
pub mod signing;
mod step;
pub mod store;
mod throttle;
pub mod transfer;
pub mod user;
mod user_ref;
pub mod workspace;

pub use access::{IssuedToken, TokenRequest};
pub use audit::Actor;
pub use audit::{Action, AuditContext, AuditEvent, AuditHead, NewEvent, VerifyReport};
pub use audit_log::{AuditFilter, AuditPage};
pub use auth_cache::Config;
pub use clients::{ApiClient, ClientPatch, ClientRequest, IssuedClient};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Code, Error, ErrorKind, Result};
pub use group::{Group, GroupInput, Membership};
pub use group_members::{group_version, MemberChanges, MAX_MEMBER_CHANGES};
pub use import::{ImportReport, Importer};
pub use invitation::InvitationSettings;
pub use keys::{ApiKey, IssuedKey, KeyRequest};
pub use lifecycle::Acceptance;
pub use listing::{Cursor, Page, UserFilter, UserListRequest};
pub use outbox::{Mail, MailSender, MailStatus, SendError};
pub use principal::{Credential, Principal};
pub use query::{
    Condition, Operand, Operator, QueryPage, QueryRequest, SortField, UserField, UserQuery,
};
pub use random::{OsRandom, Random, SeededRandom};
pub use ratelimit::{MemoryRateLimiter, RateDecision, RateLimiter};
pub use roster::Roster;
pub use scopes::Scope;
pub use session::{AuthSettings, Session, SessionKind};
pub use signin::{IssuedSession, SignIn, SignedIn};
pub use store::{Store, StoreError, UniqueKey};
pub use transfer::FileFormat;
pub use user::{GroupGrant, NewUser, User, UserPatch, UserStatus};
pub use user_ref::UserRef;
pub use workspace::Workspace;
