//! The native API, `/v1` (seed 002): secret keys or client tokens as Bearer credentials,
//! `usr_…` ids, the `{"data", "meta"}` list envelope and the `{"error": {…}}` error envelope.
//! Also seed 000's token exchange, `POST /v1/admin/token`, which shares the `/v1` prefix.

pub mod api_clients;
pub mod api_keys;
pub mod audit_export;
pub mod audit_logs;
pub mod groups;
pub mod lifecycle;
pub mod outbox;
pub mod sessions;
pub mod settings;
pub mod users;
pub mod users_transfer;
pub mod workspaces;

use axum::routing::{delete, get, patch, post, put};
use axum::Router;

use crate::{auth, AppState};

pub fn routes(state: AppState) -> Router<AppState> {
    let authenticated =
        user_routes()
            .merge(workspace_routes())
            .route_layer(axum::middleware::from_fn_with_state(
                state,
                auth::middleware,
            ));
    Router::new()
        .merge(authenticated)
        .route("/v1/invitations/accept", post(lifecycle::accept))
        .route(
            "/v1/sessions/current",
            get(sessions::current).delete(sessions::sign_out),
        )
        .route("/v1/sessions/current/token", post(sessions::create_token))
        .merge(crate::dialects::human_api_admin::tokens::routes())
}

/// Users, their lifecycle, sessions and memberships (a credential required).
fn user_routes() -> Router<AppState> {
    Router::new()
        .route("/v1/users", get(users::list).post(users::create))
        .route("/v1/users/import", post(users_transfer::import))
        .route("/v1/users/export", get(users_transfer::export))
        .route("/v1/users/lookup", get(lifecycle::lookup))
        .route("/v1/users/email-taken", get(lifecycle::email_taken))
        .route(
            "/v1/users/{id}",
            get(users::get).patch(users::update).delete(users::delete),
        )
        .route("/v1/users/{id}/deactivate", post(lifecycle::deactivate))
        .route("/v1/users/{id}/reactivate", post(lifecycle::reactivate))
        .route("/v1/users/{id}/restore", post(lifecycle::restore))
        .route(
            "/v1/users/{id}/invitation",
            post(lifecycle::resend_invitation),
        )
        .route("/v1/users/{id}/groups", get(groups::of_user))
        .route("/v1/sessions", post(sessions::sign_in))
        .route("/v1/users/{id}/sessions", get(sessions::list))
        .route(
            "/v1/users/{id}/sessions/{session_id}",
            delete(sessions::end),
        )
        .route("/v1/users/{id}/force-logout", post(sessions::force_logout))
        .route("/v1/users/{id}/password", put(sessions::set_password))
        .route("/v1/users/{id}/token/revoke", post(sessions::revoke_token))
        .route(
            "/v1/auth-settings",
            get(sessions::auth_settings).put(sessions::set_auth_settings),
        )
}

/// Groups, settings, the outbox, the audit log, credentials and workspaces (a credential
/// required).
fn workspace_routes() -> Router<AppState> {
    Router::new()
        .route("/v1/groups", get(groups::list).post(groups::create))
        .route(
            "/v1/groups/{id}",
            get(groups::get)
                .patch(groups::update)
                .delete(groups::delete),
        )
        .route("/v1/groups/{id}/members", get(groups::members))
        .route(
            "/v1/groups/{id}/members/{user_id}",
            put(groups::put_member).delete(groups::remove_member),
        )
        .route("/v1/outbox", get(outbox::list))
        .route("/v1/roles", get(settings::roles).put(settings::set_roles))
        .route(
            "/v1/invitation-settings",
            get(settings::invitation_settings).put(settings::set_invitation_settings),
        )
        .route("/v1/audit-logs", get(audit_logs::list))
        .route("/v1/audit-logs/export", get(audit_export::export))
        .route("/v1/api-keys", get(api_keys::list).post(api_keys::create))
        .route("/v1/api-keys/{id}", delete(api_keys::revoke))
        .route(
            "/v1/api-clients",
            get(api_clients::list).post(api_clients::create),
        )
        .route(
            "/v1/api-clients/{client_id}",
            get(api_clients::get)
                .patch(api_clients::update)
                .delete(api_clients::revoke),
        )
        .route(
            "/v1/workspaces",
            get(workspaces::list).post(workspaces::create),
        )
        .route("/v1/workspaces/{id}", patch(workspaces::update))
}
