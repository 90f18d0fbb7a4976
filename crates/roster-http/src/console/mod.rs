//! The web console at `/console/`: server-rendered HTML (maud templates, compiled into the
//! binary) with a vendored htmx for the parts that update in place (the users table as you
//! type, job progress). Every asset is embedded; nothing is fetched from elsewhere, and
//! `cargo build` builds it all.
//!
//! The console is a surface like the others: each page or form is one core call (the
//! console's own rules, who may sign in and which workspaces an admin may act in, are the
//! core's, in `roster_core::console`). It maps a signed-in admin ([`session::Console`]) to
//! the workspace and audit context the core takes, and core errors to words on the page
//! where they happened.
//!
//! Security: the session cookie is `HttpOnly`, `SameSite=Strict`, `Path=/console` and
//! `Secure` behind TLS (`--public-url https://…`); every state-changing request carries a
//! CSRF token (a hidden field or the `X-CSRF-Token` header htmx sends) or is refused 403;
//! pages are sent with a Content-Security-Policy that allows no inline script or style and
//! `frame-ancestors 'none'`; nothing but the session cookie is kept in the browser.

mod assets;
mod audit;
mod bulk;
mod clients;
mod groups;
mod import;
mod keys;
mod layout;
mod session;
mod settings;
mod signin;
mod user_actions;
mod user_page;
mod users;

use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::AppState;

pub use bulk::Jobs;
pub use session::with_security_headers;

/// Where the console is mounted.
pub const PREFIX: &str = "/console";

/// How the console is served.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Mark the session cookie `Secure` (the server is reached over HTTPS).
    pub secure_cookies: bool,
}

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route(
            "/console/",
            get(|| async { Redirect::to("/console/users") }),
        )
        .route("/console/signin", get(signin::form).post(signin::submit))
        .route("/console/signout", post(signin::sign_out))
        .route(
            "/console/setup",
            get(signin::setup_form).post(signin::setup_submit),
        )
        .route("/console/workspace", post(signin::switch_workspace))
        .route("/console/assets/{file}", get(assets::serve))
        .route("/console/users", get(users::list))
        .route("/console/users/go", get(users::go))
        .route(
            "/console/users/new",
            get(users::new_form).post(users::create),
        )
        .route("/console/users/bulk", post(bulk::start))
        .route("/console/jobs/{id}", get(bulk::progress))
        .route(
            "/console/users/{id}",
            get(user_page::show).post(user_page::edit),
        )
        .route("/console/users/{id}/do/{action}", post(user_actions::act))
        .route(
            "/console/users/{id}/password",
            post(user_actions::set_password),
        )
        .route(
            "/console/users/{id}/sessions/{session_id}/end",
            post(user_actions::end_session),
        )
        .route("/console/users/{id}/groups", post(user_actions::join_group))
        .route(
            "/console/users/{id}/groups/{group_id}/leave",
            post(user_actions::leave_group),
        )
        .route("/console/import", get(import::form).post(import::upload))
        .route("/console/export", get(import::export))
        .route("/console/keys", get(keys::list).post(keys::create))
        .route("/console/keys/{id}/revoke", post(keys::revoke))
        .route("/console/groups", get(groups::list).post(groups::create))
        .route("/console/clients", get(clients::list).post(clients::create))
        .route("/console/clients/{id}/admin-api", post(clients::admin_api))
        .route("/console/clients/{id}/revoke", post(clients::revoke))
        .route("/console/settings", get(settings::index))
        .route("/console/settings/{section}", post(settings::save))
        .route("/console/outbox", get(groups::outbox))
        .route("/console/audit", get(audit::list))
        .route("/console/audit/verify", post(audit::verify))
        .route("/console/audit/export", get(audit::export))
        .layer(axum::middleware::from_fn_with_state(
            state,
            session::protect,
        ))
}

/// An error page for what the HTTP layer refused under `/console` (a path too long, an
/// unknown page): plain words, the console's look.
pub fn error_page(status: axum::http::StatusCode, message: String) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    (status, layout::bare(title, &layout::problem(&message))).into_response()
}
