//! `/v1/api-keys`: secret keys of the caller's workspace (scope `credentials:manage`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use chrono::{DateTime, Utc};
use roster_core::{ApiKey, KeyRequest, Scope};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::JsonBody;
use crate::native::users::ListMeta;
use crate::AppState;

/// A key as lists show it: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyBody {
    #[schema(example = "key_3mm8f0v1c2x9a7d4k2qz")]
    pub id: String,
    pub name: String,
    /// The first characters of the secret, to recognise it.
    #[schema(example = "sk_live_dUob")]
    pub prefix: String,
    #[schema(example = json!(["users:read", "users:write"]))]
    pub scopes: Vec<&'static str>,
    #[serde(serialize_with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::time::rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Requests per minute; null means the workspace's limit.
    pub rate_limit_per_minute: Option<u32>,
}

impl From<ApiKey> for ApiKeyBody {
    fn from(key: ApiKey) -> Self {
        Self {
            id: key.id,
            name: key.name,
            prefix: key.prefix,
            scopes: key.scopes.iter().map(|s| s.as_str()).collect(),
            created_at: key.created_at,
            last_used_at: key.last_used_at,
            expires_at: key.expires_at,
            rate_limit_per_minute: key.rate_limit_per_minute,
        }
    }
}

/// A key just made: the only response that carries its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKeyBody,
    #[schema(example = "sk_live_dUobfmQwtY2t4lW-MG9mMHPy6IXvUZhiJGQPPXwo_uU")]
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyList {
    pub data: Vec<ApiKeyBody>,
    pub meta: ListMeta,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    pub name: Option<String>,
    /// Required; at most the scopes the caller holds.
    pub scopes: Option<Vec<String>>,
    /// RFC 3339; must be in the future.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<DateTime<Utc>>,
    /// 1 to 100,000,000; default: the workspace's limit.
    pub rate_limit_per_minute: Option<u32>,
}

/// List the workspace's live keys.
#[utoipa::path(
    get, path = "/v1/api-keys", tag = "credentials",
    responses(
        (status = 200, body = ApiKeyList),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
    ),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ApiKeyList>, ApiError> {
    caller.require(Scope::CredentialsManage)?;
    let keys = state.roster.list_api_keys(&caller.workspace).await?;
    Ok(Json(ApiKeyList {
        data: keys.into_iter().map(ApiKeyBody::from).collect(),
        meta: ListMeta::single_page(),
    }))
}

/// Create a key; its secret is in this response only.
#[utoipa::path(
    post, path = "/v1/api-keys", tag = "credentials",
    request_body = CreateApiKey,
    responses(
        (status = 201, body = CreatedApiKey),
        (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope, description = "Lacks credentials:manage, or asks for a scope the caller lacks"),
    ),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateApiKey>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Scope::CredentialsManage)?;
    let request = KeyRequest {
        name: body.name,
        scopes: body.scopes,
        expires_at: body.expires_at,
        rate_limit_per_minute: body.rate_limit_per_minute,
    };
    let issued = state
        .roster
        .create_api_key(&caller.workspace, caller.audit(), request, &caller.scopes)
        .await?;
    let body = CreatedApiKey {
        key: issued.key.into(),
        secret: issued.secret,
    };
    Ok((StatusCode::CREATED, Json(body)))
}

/// Revoke a key. It stops working at once on this node and within the auth cache TTL
/// (10 s by default) on others. A caller cannot revoke a key with a scope it lacks itself
/// (403 `scope_not_delegable`), nor the operator workspace's last admin credential (409).
#[utoipa::path(
    delete, path = "/v1/api-keys/{id}", tag = "credentials",
    params(("id" = String, Path, description = "The key's id, key_…")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope, description = "No such live key in this workspace"),
        (status = 409, body = ErrorEnvelope, description = "The operator workspace's last admin credential (`last_admin_credential`)"),
    ),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::CredentialsManage)?;
    state
        .roster
        .revoke_api_key(&caller.workspace, caller.audit(), &id, &caller.scopes)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
