//! `/v1/outbox`: the workspace's mail, newest first. Without an SMTP server configured this
//! is Roster's built-in mail catcher. Mails may carry live invitation tokens, so reading them
//! needs the `admin` scope.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use roster_core::{Mail, Page, Scope};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::QueryParams;
use crate::native::users::ListMeta;
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct MailBody {
    #[schema(example = "mail_0j6ro9x9dihzpb199gjc")]
    pub id: String,
    /// What the mail is, e.g. `invitation`.
    pub kind: String,
    pub to: String,
    pub subject: String,
    /// The plain-text body; null once delivered (it may hold a live token).
    pub text: Option<String>,
    /// `pending`, `sent`, `failed` or `withdrawn` (its invitation was revoked before it
    /// went out).
    pub status: &'static str,
    pub attempts: u32,
    pub last_error: Option<String>,
    #[serde(serialize_with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    /// When a pending mail is tried next.
    #[serde(serialize_with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub next_attempt_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<Mail> for MailBody {
    fn from(m: Mail) -> Self {
        Self {
            id: m.id,
            kind: m.kind,
            to: m.recipient,
            subject: m.subject,
            text: m.text,
            status: m.status.as_str(),
            attempts: m.attempts,
            last_error: m.last_error,
            created_at: m.created_at,
            next_attempt_at: m.next_attempt_at,
            sent_at: m.sent_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MailList {
    pub data: Vec<MailBody>,
    pub meta: ListMeta,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxParams {
    /// `pending`, `sent`, `failed` or `withdrawn`.
    pub status: Option<String>,
    /// Number of records (default 20, max 100).
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

/// List the workspace's outbox, newest first.
#[utoipa::path(
    get, path = "/v1/outbox", tag = "mail", params(OutboxParams),
    responses((status = 200, body = MailList), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<OutboxParams>,
) -> Result<Json<MailList>, ApiError> {
    caller.require(Scope::Admin)?;
    let page = Page {
        limit: params.limit,
        cursor: params.cursor,
    };
    let page = state
        .roster
        .list_outbox(&caller.workspace, params.status.as_deref(), &page)
        .await?;
    let next_cursor = page.next_cursor.map(|c| c.encode());
    Ok(Json(MailList {
        data: page.mails.into_iter().map(MailBody::from).collect(),
        meta: ListMeta {
            has_more: next_cursor.is_some(),
            next_cursor,
        },
    }))
}
