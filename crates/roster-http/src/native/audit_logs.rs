//! `GET /v1/audit-logs` (seed 002): the workspace's audit trail, newest first (scope
//! `audit:read`).

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use roster_core::{AuditEvent, AuditFilter, Page, Scope};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::QueryParams;
use crate::native::users::ListMeta;
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Actor {
    /// `api_key`, `api_client`, `operator` (the CLI), `system` or `user` (a user acting
    /// for itself, e.g. accepting its invitation).
    #[schema(example = "api_key")]
    pub kind: String,
    /// The key's, client's or user's id.
    pub id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventBody {
    #[schema(example = "evt_0f9a8b7c6d5e4f3a2b1c")]
    pub id: String,
    #[serde(serialize_with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: DateTime<Utc>,
    #[schema(example = "user.delete")]
    pub action: String,
    pub actor: Actor,
    /// The user the change was about, if any.
    pub user_id: Option<String>,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// `{"field": {"before": …, "after": …}}`; secrets never appear.
    #[schema(value_type = Object)]
    pub changes: Value,
    /// Position in the workspace's hash chain, and the chain's hashes.
    pub seq: i64,
    pub prev_hash: String,
    pub hash: String,
}

impl From<AuditEvent> for AuditEventBody {
    fn from(e: AuditEvent) -> Self {
        Self {
            id: e.id,
            occurred_at: e.occurred_at,
            action: e.action,
            actor: Actor {
                kind: e.actor_kind,
                id: e.actor_id,
            },
            user_id: e.target_user_id,
            request_id: e.request_id,
            ip: e.ip,
            user_agent: e.user_agent,
            changes: serde_json::from_str(&e.changes).unwrap_or(Value::Null),
            seq: e.seq,
            prev_hash: e.prev_hash,
            hash: e.hash,
        }
    }
}

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
