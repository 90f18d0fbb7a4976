//! `GET /v1/audit-logs/export`: the workspace's events (with the list's filters) streamed as
//! NDJSON or CSV, for archiving before retention drops them. The line format is the
//! core's ([`roster_core::transfer`]), which `roster audit export` uses as well.

use axum::extract::State;
use axum::response::Response;
use roster_core::{AuditFilter, FileFormat, Page, Roster, Scope};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorEnvelope, HttpCode};
use crate::extract::QueryParams;
use crate::AppState;

/// The format a request asks for (NDJSON without one). A bad one is an
/// `invalid_parameter`, as this endpoint has always answered.
pub fn parse_format(text: Option<&str>) -> Result<FileFormat, ApiError> {
    match text.map(str::trim) {
        None | Some("") => Ok(FileFormat::Ndjson),
        Some(text) => FileFormat::parse(text).map_err(|_| {
            ApiError::http(HttpCode::InvalidParameter).with_message("format must be ndjson or csv.")
        }),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `ndjson` (default) or `csv`.
    pub format: Option<String>,
    pub action: Option<String>,
    pub user_id: Option<String>,
    pub actor: Option<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
}

/// Export events as NDJSON or CSV, streamed (scope `audit:read`).
#[utoipa::path(
    get, path = "/v1/audit-logs/export", tag = "audit",
    params(ExportParams),
    responses(
        (status = 200, description = "NDJSON (one event per line) or CSV with a header row", content_type = "application/x-ndjson"),
        (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
    ),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<ExportParams>,
) -> Result<Response, ApiError> {
    caller.require(Scope::AuditRead)?;
    let format = parse_format(params.format.as_deref())?;
    let filter = AuditFilter {
        action: params.action,
        user_id: params.user_id,
        actor_id: params.actor,
        start_time: params.start_time,
        end_time: params.end_time,
    };
    // Check the filters before the 200 goes out; errors later end the stream early.
    filter.query(&caller.workspace, &Page::default())?;
    let stream = roster_core::transfer::export::events(
        Roster::clone(&state.roster),
        caller.workspace.clone(),
        filter,
        format,
    );
    Ok(crate::paged::download(
        format.content_type(),
        &format!("audit-{}.{}", caller.workspace.name, format.extension()),
        stream,
    ))
}
