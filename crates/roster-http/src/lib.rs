//! Roster's HTTP surfaces over one core.
//!
//! [`router`] serves every surface on one port. Each surface is a module that maps its own
//! authentication, ids, field names and envelopes onto [`roster_core::Roster`] operations:
//! [`native`] is seed 002's `/v1` API; [`dialects`] holds the other seeds', one module each.
//! Cross-cutting pieces live beside them: request ids and access logs ([`request_id`]),
//! credentials ([`auth`]), body and query extraction ([`extract`]) and the error envelope
//! ([`error`]).

pub mod auth;
pub mod console;
pub mod dialects;
pub mod error;
pub mod extract;
mod health;
pub mod json_reply;
pub mod native;
pub mod openapi;
mod openapi_rules;
mod paged;
pub mod request_id;
pub mod scim;
pub mod server;
pub mod surface;
pub mod time;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;
use roster_core::Roster;
use tower_http::catch_panic::CatchPanicLayer;

pub use error::ApiError;

/// The largest request body any route accepts, but the import's.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The body limit of `path`: none for the import, which streams its body with bounded
/// memory; SCIM's payload limit under `/scim/v2` (group PATCHes of thousands of members,
/// bulk requests); [`MAX_BODY_BYTES`] for everything else.
pub fn body_limit(path: &str) -> Option<usize> {
    if path == "/v1/users/import" || path == "/console/import" {
        None
    } else if path.starts_with(scim::PREFIX) {
        Some(scim::MAX_PAYLOAD_BYTES)
    } else {
        Some(MAX_BODY_BYTES)
    }
}

/// What every handler can reach ([`AppParts`], through `Deref`). Extractors and layers
/// clone it several times a request: one reference count, on one cache line, however many
/// parts it holds.
#[derive(Clone)]
pub struct AppState(std::sync::Arc<AppParts>);

/// The parts of [`AppState`].
pub struct AppParts {
    pub roster: std::sync::Arc<Roster>,
    /// How the console is served.
    pub console: std::sync::Arc<console::Settings>,
    /// The console's bulk jobs in progress (this node's).
    pub console_jobs: std::sync::Arc<console::Jobs>,
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// The whole HTTP surface: every route, the error envelope for unknown routes and methods,
/// body limits, request ids and access logs. Every dialect is on.
pub fn router(roster: Roster) -> Router {
    router_with(roster, dialects::Dialects::default())
}

/// [`router`] with only the chosen dialects.
pub fn router_with(roster: Roster, dialects: dialects::Dialects) -> Router {
    router_full(roster, dialects, console::Settings::default())
}

/// [`router`] with only the chosen dialects and the console served as `console` says.
pub fn router_full(
    roster: Roster,
    dialects: dialects::Dialects,
    console: console::Settings,
) -> Router {
    let state = AppState(std::sync::Arc::new(AppParts {
        roster: std::sync::Arc::new(roster),
        console: std::sync::Arc::new(console),
        console_jobs: std::sync::Arc::default(),
    }));
    let guard = surface::GuardState {
        dialects,
        app: state.clone(),
    };
    Router::new()
        .merge(native::routes(state.clone()))
        .merge(dialects.routes())
        .merge(scim::routes().layer(DefaultBodyLimit::max(scim::MAX_PAYLOAD_BYTES)))
        .merge(console::routes(state.clone()))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/openapi.json", get(openapi::serve))
        .fallback(error::route_not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(axum::middleware::from_fn_with_state(guard, surface::guard))
        .layer(axum::middleware::from_fn(request_id::middleware))
        .with_state(state)
}
