//! `GET /v1/audit-logs/export`: the workspace's events (with the list's filters) streamed as
//! NDJSON or CSV, for archiving before retention drops them. The same line format serves
//! `roster audit export`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use roster_core::{AuditEvent, AuditFilter, FileFormat, Page, Roster, Scope, Workspace};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorEnvelope, HttpCode};
use crate::extract::QueryParams;
use crate::native::audit_logs::AuditEventBody;
use crate::AppState;

/// Events per store read while streaming.
const PAGE: u32 = 100;

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

/// The first bytes of an export (the CSV header row).
pub fn header(format: FileFormat) -> Vec<u8> {
    match format {
        FileFormat::Ndjson => Vec::new(),
        FileFormat::Csv => b"id,occurred_at,action,actor_kind,actor_id,user_id,request_id,ip,user_agent,changes,seq,prev_hash,hash\n".to_vec(),
    }
}

/// One event as a line of `format`.
pub fn line(format: FileFormat, event: AuditEvent) -> Vec<u8> {
    match format {
        FileFormat::Ndjson => {
            let mut line = serde_json::to_vec(&AuditEventBody::from(event)).unwrap_or_default();
            line.push(b'\n');
            line
        }
        FileFormat::Csv => {
            let mut writer = csv::Writer::from_writer(Vec::new());
            let occurred_at = event
                .occurred_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            let seq = event.seq.to_string();
            let record = [
                event.id.as_str(),
                occurred_at.as_str(),
                event.action.as_str(),
                event.actor_kind.as_str(),
                event.actor_id.as_deref().unwrap_or_default(),
                event.target_user_id.as_deref().unwrap_or_default(),
                event.request_id.as_deref().unwrap_or_default(),
                event.ip.as_deref().unwrap_or_default(),
                event.user_agent.as_deref().unwrap_or_default(),
                event.changes.as_str(),
                seq.as_str(),
                event.prev_hash.as_str(),
                event.hash.as_str(),
            ];
            // Writing to a Vec cannot fail.
            let cells = record.map(roster_core::import::csv_cell);
            let _ = writer.write_record(cells.iter().map(|c| c.as_bytes()));
            writer.into_inner().unwrap_or_default()
        }
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

/// Stream every event matching the filters, newest first, in pages read from the store.
pub fn export_stream(
    roster: Roster,
    workspace: Workspace,
    filter: AuditFilter,
    format: FileFormat,
) -> impl futures_util::Stream<Item = Result<Bytes, roster_core::Error>> {
    let filter = Arc::new(filter);
    crate::paged::lines(
        header(format),
        move |cursor| {
            let (roster, workspace, filter) = (roster.clone(), workspace.clone(), filter.clone());
            async move {
                let page = Page {
                    limit: Some(PAGE),
                    cursor,
                };
                let page = roster.list_audit_events(&workspace, &filter, &page).await?;
                Ok((page.events, page.next_cursor.map(|c| c.encode())))
            }
        },
        move |event| line(format, event),
    )
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
    let stream = export_stream(
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
