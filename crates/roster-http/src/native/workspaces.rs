//! `/v1/workspaces`: for `admin` credentials of the operator workspace only.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use chrono::{DateTime, Utc};
use roster_core::Workspace;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::JsonBody;
use crate::native::users::ListMeta;
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceBody {
    #[schema(example = "ws_0j6ro9x9dihzpb199gjc")]
    pub id: String,
    #[schema(example = "default")]
    pub name: String,
    pub roles: Vec<String>,
    pub is_operator: bool,
    /// Requests per minute per credential; null is the server's default.
    pub rate_limit_per_minute: Option<u32>,
    /// How many days audit events are kept.
    pub audit_retention_days: u32,
    #[serde(serialize_with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
}

impl From<Workspace> for WorkspaceBody {
    fn from(w: Workspace) -> Self {
        Self {
            id: w.id,
            name: w.name,
            roles: w.roles,
            is_operator: w.is_operator,
            rate_limit_per_minute: w.rate_limit_per_minute,
            audit_retention_days: w.audit_retention_days,
            created_at: w.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceList {
    pub data: Vec<WorkspaceBody>,
    pub meta: ListMeta,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWorkspace {
    /// 1 to 64 characters of a-z, 0-9, '-' and '_'.
    pub name: String,
    pub rate_limit_per_minute: Option<u32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWorkspace {
    /// null returns the workspace to the server's default.
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(value_type = Option<u32>)]
    pub rate_limit_per_minute: Option<Option<u32>>,
    /// 1 to 3,650 days.
    pub audit_retention_days: Option<u32>,
}

/// List all workspaces.
#[utoipa::path(
    get, path = "/v1/workspaces", tag = "workspaces",
    responses((status = 200, body = WorkspaceList), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<WorkspaceList>, ApiError> {
    caller.require_operator()?;
    let all = state.roster.list_workspaces().await?;
    Ok(Json(WorkspaceList {
        data: all.into_iter().map(WorkspaceBody::from).collect(),
        meta: ListMeta::single_page(),
    }))
}

/// Create a workspace.
#[utoipa::path(
    post, path = "/v1/workspaces", tag = "workspaces",
    request_body = CreateWorkspace,
    responses((status = 201, body = WorkspaceBody), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateWorkspace>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require_operator()?;
    let workspace = state
        .roster
        .create_workspace(caller.audit(), &body.name, body.rate_limit_per_minute)
        .await?;
    Ok((StatusCode::CREATED, Json(WorkspaceBody::from(workspace))))
}

/// Change a workspace's settings.
#[utoipa::path(
    patch, path = "/v1/workspaces/{id}", tag = "workspaces",
    params(("id" = String, Path, description = "The workspace's id or name")),
    request_body = UpdateWorkspace,
    responses((status = 200, body = WorkspaceBody), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateWorkspace>,
) -> Result<Json<WorkspaceBody>, ApiError> {
    caller.require_operator()?;
    let mut workspace = state.roster.find_workspace(&id).await?;
    if let Some(limit) = body.rate_limit_per_minute {
        workspace = state
            .roster
            .set_workspace_rate_limit(&workspace, caller.audit(), limit)
            .await?;
    }
    if let Some(days) = body.audit_retention_days {
        workspace = state
            .roster
            .set_audit_retention(&workspace, caller.audit(), days)
            .await?;
    }
    Ok(Json(workspace.into()))
}
