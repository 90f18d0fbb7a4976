//! `GET /v1/audit-logs` (seed 002): the workspace's audit trail, newest first (scope
//! `audit:read`).

use axum::extract::State;
use axum::Json;
use roster_core::{AuditFilter, Page, Scope};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::QueryParams;
use crate::native::users::ListMeta;
use crate::AppState;

/// An audit event as the native API shows it (and as an NDJSON export writes it).
pub use roster_core::transfer::records::{EventActor as Actor, EventRecord as AuditEventBody};

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventList {
    pub data: Vec<AuditEventBody>,
    pub meta: ListMeta,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Event type, e.g. `user.login`, `user.delete`, `config.update`.
    pub action: Option<String>,
    /// Events about this user (`usr_…`).
    pub user_id: Option<String>,
    /// Events by this credential (a key or client id).
    pub actor: Option<String>,
    /// ISO 8601; events at or after.
    pub start_time: Option<String>,
    /// ISO 8601; events before.
    pub end_time: Option<String>,
    /// Default 20, max 100.
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Audit events of the caller's workspace, newest first. Retained 90 days by default.
#[utoipa::path(
    get, path = "/v1/audit-logs", tag = "audit",
    params(AuditParams),
    responses(
        (status = 200, body = AuditEventList),
        (status = 400, body = ErrorEnvelope, description = "Malformed time, unknown action, bad limit or cursor"),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope, description = "Lacks audit:read"),
    ),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<AuditParams>,
) -> Result<Json<AuditEventList>, ApiError> {
    caller.require(Scope::AuditRead)?;
    let filter = AuditFilter {
        action: params.action,
        user_id: params.user_id,
        actor_id: params.actor,
        start_time: params.start_time,
        end_time: params.end_time,
    };
    let page = Page {
        limit: params.limit,
        cursor: params.cursor,
    };
    let page = state
        .roster
        .list_audit_events(&caller.workspace, &filter, &page)
        .await?;
    let next_cursor = page.next_cursor.map(|c| c.encode());
    Ok(Json(AuditEventList {
        data: page.events.into_iter().map(AuditEventBody::from).collect(),
        meta: ListMeta {
            has_more: next_cursor.is_some(),
            next_cursor,
        },
    }))
}
