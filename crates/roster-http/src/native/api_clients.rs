//! `/v1/api-clients`: API clients of the caller's workspace (scope `credentials:manage`).
//! A client exchanges its id and secret for a client token at `POST /v1/admin/token`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use chrono::{DateTime, Utc};
use roster_core::{ApiClient, ClientPatch, ClientRequest, Scope};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::JsonBody;
use crate::native::users::ListMeta;
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiClientBody {
    #[schema(example = "96cb8da44a2e6663cc4dd7ae8d7363e922b5e0f4")]
    pub client_id: String,
    pub name: String,
    #[schema(example = json!(["users:read", "users:write"]))]
    pub scopes: Vec<&'static str>,
    /// Off until enabled (seed 000); a client with it off cannot get or use tokens.
    pub admin_api_enabled: bool,
    pub rate_limit_per_minute: Option<u32>,
    #[serde(serialize_with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
}

impl From<ApiClient> for ApiClientBody {
    fn from(client: ApiClient) -> Self {
        Self {
            client_id: client.client_id,
            name: client.name,
            scopes: client.scopes.iter().map(|s| s.as_str()).collect(),
            admin_api_enabled: client.admin_api_enabled,
            rate_limit_per_minute: client.rate_limit_per_minute,
            created_at: client.created_at,
        }
    }
}

/// A client just made: the only response that carries its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiClient {
    #[serde(flatten)]
    pub client: ApiClientBody,
    pub client_secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiClientList {
    pub data: Vec<ApiClientBody>,
    pub meta: ListMeta,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiClient {
    pub name: Option<String>,
    /// Default `users:read` and `users:write` (seed 000's `appuser:read`/`appuser:write`).
    pub scopes: Option<Vec<String>>,
    /// Default false.
    pub admin_api_enabled: Option<bool>,
    pub rate_limit_per_minute: Option<u32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateApiClient {
    pub name: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub admin_api_enabled: Option<bool>,
    /// null returns the client to its workspace's limit.
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(value_type = Option<u32>)]
    pub rate_limit_per_minute: Option<Option<u32>>,
}

/// List the workspace's live clients.
#[utoipa::path(
    get, path = "/v1/api-clients", tag = "credentials",
    responses((status = 200, body = ApiClientList), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ApiClientList>, ApiError> {
    caller.require(Scope::CredentialsManage)?;
    let clients = state.roster.list_api_clients(&caller.workspace).await?;
    Ok(Json(ApiClientList {
        data: clients.into_iter().map(ApiClientBody::from).collect(),
        meta: ListMeta::single_page(),
    }))
}

/// Create a client; its secret is in this response only.
#[utoipa::path(
    post, path = "/v1/api-clients", tag = "credentials",
    request_body = CreateApiClient,
    responses(
        (status = 201, body = CreatedApiClient),
        (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
    ),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateApiClient>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Scope::CredentialsManage)?;
    let request = ClientRequest {
        name: body.name,
        scopes: body.scopes,
        admin_api_enabled: body.admin_api_enabled.unwrap_or(false),
        rate_limit_per_minute: body.rate_limit_per_minute,
    };
    let issued = state
        .roster
        .create_api_client(&caller.workspace, caller.audit(), request, &caller.scopes)
        .await?;
    let body = CreatedApiClient {
        client: issued.client.into(),
        client_secret: issued.secret,
    };
    Ok((StatusCode::CREATED, Json(body)))
}

/// Read one client.
#[utoipa::path(
    get, path = "/v1/api-clients/{client_id}", tag = "credentials",
    params(("client_id" = String, Path)),
    responses((status = 200, body = ApiClientBody), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(client_id): Path<String>,
) -> Result<Json<ApiClientBody>, ApiError> {
    caller.require(Scope::CredentialsManage)?;
    let client = state
        .roster
        .get_api_client(&caller.workspace, &client_id)
        .await?;
    Ok(Json(client.into()))
}

/// Change a client: rename it, change its scopes or limit, enable or disable its admin API.
#[utoipa::path(
    patch, path = "/v1/api-clients/{client_id}", tag = "credentials",
    params(("client_id" = String, Path)),
    request_body = UpdateApiClient,
    responses((status = 200, body = ApiClientBody), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope, description = "The operator workspace's last admin credential (`last_admin_credential`)")),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(client_id): Path<String>,
    JsonBody(body): JsonBody<UpdateApiClient>,
) -> Result<Json<ApiClientBody>, ApiError> {
    caller.require(Scope::CredentialsManage)?;
    let patch = ClientPatch {
        name: body.name,
        scopes: body.scopes,
        admin_api_enabled: body.admin_api_enabled,
        rate_limit_per_minute: body.rate_limit_per_minute,
    };
    let client = state
        .roster
        .update_api_client(
            &caller.workspace,
            caller.audit(),
            &client_id,
            &patch,
            &caller.scopes,
        )
        .await?;
    Ok(Json(client.into()))
}

/// Revoke a client: its secret and its tokens stop working.
#[utoipa::path(
    delete, path = "/v1/api-clients/{client_id}", tag = "credentials",
    params(("client_id" = String, Path)),
    responses((status = 204, description = "Revoked"), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope, description = "The operator workspace's last admin credential (`last_admin_credential`)")),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(client_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::CredentialsManage)?;
    state
        .roster
        .revoke_api_client(
            &caller.workspace,
            caller.audit(),
            &client_id,
            &caller.scopes,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
