//! The native API, `/v1` (seed 002): secret keys as Bearer (or Basic) credentials,
//! `usr_…` ids, the `{"data", "meta"}` list envelope and the `{"error": {…}}` error envelope.

pub mod users;

use axum::routing::get;
use axum::Router;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/users", get(users::list).post(users::create))
        .route(
            "/v1/users/{id}",
            get(users::get).patch(users::update).delete(users::delete),
        )
}
