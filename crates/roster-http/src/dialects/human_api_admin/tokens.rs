//! Seed 000's token exchange, `POST /v1/admin/token`, and the public keys that verify its
//! tokens, `GET /.well-known/jwks.json`. Client tokens authenticate on the native API as well
//! as on seed 000's, so these routes are served even when the dialect's user routes are
//! switched off ([`routes`]), and the native OpenAPI document lists them.

use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::response::IntoResponse;
use axum::Json;
use roster_core::TokenRequest;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::RequestOrigin;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::JsonBody;
use crate::AppState;

/// Exactly the seed's three fields: a credential exchange takes nothing it does not read.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequestBody {
    #[schema(example = "96cb8da44a2e6663cc4dd7ae8d7363e922b5e0f4")]
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// Always `client`.
    #[serde(rename = "type")]
    #[schema(example = "client")]
    pub kind: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Seconds.
    #[schema(example = 86400)]
    pub expires_in: i64,
    /// An RS256 JWT; send it as `Authorization: Bearer …`.
    pub client_token: String,
}

/// Exchange a client's id and secret for a client token (seed 000).
#[utoipa::path(
    post, path = "/v1/admin/token", tag = "credentials",
    request_body = TokenRequestBody,
    responses(
        (status = 200, body = TokenResponse),
        (status = 400, body = ErrorEnvelope, description = "Missing fields, or type is not \"client\""),
        (status = 401, body = ErrorEnvelope, description = "Wrong client_id or client_secret"),
        (status = 403, body = ErrorEnvelope, description = "The admin API is not enabled for this client"),
        (status = 429, body = ErrorEnvelope, description = "Too many wrong secrets from this address; retry after `Retry-After` seconds"),
    )
)]
pub async fn issue(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    JsonBody(body): JsonBody<TokenRequestBody>,
) -> Result<Json<TokenResponse>, ApiError> {
    let issued = state
        .roster
        .issue_client_token(TokenRequest {
            client_id: body.client_id,
            client_secret: body.client_secret,
            kind: body.kind,
            ip: origin.ip,
        })
        .await?;
    Ok(Json(TokenResponse {
        expires_in: issued.expires_in,
        client_token: issued.token,
    }))
}

/// The public keys that verify client tokens (RFC 7517).
#[utoipa::path(
    get, path = "/.well-known/jwks.json", tag = "credentials",
    responses((status = 200, description = "A JWK set", content_type = "application/json"))
)]
pub async fn jwks(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let keys = state.roster.jwks().await?;
    Ok((
        [(CACHE_CONTROL, "public, max-age=300")],
        Json(json!({ "keys": keys })),
    ))
}

/// The token exchange and the key set.
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/v1/admin/token", axum::routing::post(issue))
        .route("/.well-known/jwks.json", axum::routing::get(jwks))
}
