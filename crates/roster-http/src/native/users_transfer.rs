//! `POST /v1/users/import` and `GET /v1/users/export`: users in bulk, as NDJSON or CSV,
//! streamed both ways. An export is a valid import (its `id` and timestamps are ignored), so
//! users move between workspaces and installations with the two. The same line formats
//! serve `roster users import` and `roster users export`.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use futures_util::{Stream, StreamExt};
use roster_core::import::{ImportReport, RowError, MAX_LINE_BYTES};
use roster_core::{
    FileFormat, Importer, Page, Roster, Scope, User, UserFilter, UserListRequest, Workspace,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::QueryParams;
use crate::native::users::UserBody;
use crate::AppState;

/// Users per store read while exporting (the list's largest page).
const PAGE: u32 = 100;

/// The CSV columns of an export, in order.
pub const CSV_HEADER: &str =
    "id,external_id,email,name,given_name,family_name,role,status,attributes,created_at,updated_at\n";

/// The first bytes of an export in `format`.
pub fn export_header(format: FileFormat) -> Vec<u8> {
    match format {
        FileFormat::Ndjson => Vec::new(),
        FileFormat::Csv => CSV_HEADER.as_bytes().to_vec(),
    }
}

/// One user as a line of `format`: the native API's user object, or its CSV row.
pub fn export_line(format: FileFormat, user: User) -> Vec<u8> {
    let body = UserBody::from(user);
    match format {
        FileFormat::Ndjson => {
            // A UserBody always serializes (strings, a JSON object and times).
            let mut line = serde_json::to_vec(&body).unwrap_or_default();
            line.push(b'\n');
            line
        }
        FileFormat::Csv => {
            let time = |t: chrono::DateTime<chrono::Utc>| {
                t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            };
            let attributes = body.attributes.to_string();
            let (created_at, updated_at) = (time(body.created_at), time(body.updated_at));
            let record = [
                body.id.as_str(),
                body.external_id.as_deref().unwrap_or_default(),
                body.email.as_str(),
                body.name.as_str(),
                body.given_name.as_deref().unwrap_or_default(),
                body.family_name.as_deref().unwrap_or_default(),
                body.role.as_str(),
                body.status,
                attributes.as_str(),
                created_at.as_str(),
                updated_at.as_str(),
            ];
            let mut writer = csv::Writer::from_writer(Vec::new());
            // Writing to a Vec cannot fail.
            let cells = record.map(roster_core::import::csv_cell);
            let _ = writer.write_record(cells.iter().map(|c| c.as_bytes()));
            writer.into_inner().unwrap_or_default()
        }
    }
}

/// Every user matching `filter`, oldest last (the list's order), in pages from the store.
pub fn export_stream(
    roster: Roster,
    workspace: Workspace,
    filter: UserFilter,
    format: FileFormat,
) -> impl Stream<Item = Result<Bytes, roster_core::Error>> {
    let filter = std::sync::Arc::new(filter);
    crate::paged::lines(
        export_header(format),
        move |cursor| {
            let (roster, workspace, filter) = (roster.clone(), workspace.clone(), filter.clone());
            async move {
                let page = Page {
                    limit: Some(PAGE),
                    cursor,
                };
                let page = roster.list_users(&workspace, &filter, &page).await?;
                Ok((page.users, page.next_cursor.map(|c| c.encode())))
            }
        },
        move |user| export_line(format, user),
    )
}

/// Feed `body` to `importer` line by line, with bounded memory whatever its size: a line
/// longer than [`MAX_LINE_BYTES`] is rejected unread, as is one that is not UTF-8.
pub async fn import_stream<S, B, E>(
    importer: &mut Importer<'_>,
    mut body: S,
) -> Result<(), ImportFailure>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    let mut buffer: Vec<u8> = Vec::new();
    // Inside a line that is too long: drop bytes up to its end.
    let mut skipping = false;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ImportFailure::Body(e.to_string()))?;
        let mut rest = chunk.as_ref();
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            let (head, tail) = rest.split_at(end);
            rest = &tail[1..];
            if skipping {
                skipping = false;
                continue;
            }
            buffer.extend_from_slice(head);
            push(importer, &buffer).await?;
            buffer.clear();
        }
        if !skipping {
            buffer.extend_from_slice(rest);
            if buffer.len() > MAX_LINE_BYTES {
                importer.reject_oversized_line();
                buffer.clear();
                skipping = true;
            }
        }
    }
    if !skipping && !buffer.is_empty() {
        push(importer, &buffer).await?;
    }
    Ok(())
}

async fn push(importer: &mut Importer<'_>, line: &[u8]) -> Result<(), ImportFailure> {
    if line.len() > MAX_LINE_BYTES {
        importer.reject_oversized_line();
        return Ok(());
    }
    match std::str::from_utf8(line) {
        Ok(text) => importer.push_line(text).await.map_err(ImportFailure::Core),
        Err(_) => {
            importer.reject_line_not_utf8();
            Ok(())
        }
    }
}

/// Why an import stopped before the end of its file.
#[derive(Debug)]
pub enum ImportFailure {
    /// The file could not be read.
    Body(String),
    /// A bad CSV header, or the store failed.
    Core(roster_core::Error),
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// `ndjson` or `csv`; without it, `text/csv` bodies are read as CSV, others as NDJSON.
    pub format: Option<String>,
}

/// What an import did (`data` of the response).
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReportBody {
    /// Data rows read.
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    /// Rows that matched a user and changed nothing.
    pub unchanged: u64,
    pub rejected: u64,
    /// The first 1,000 rejected rows.
    pub errors: Vec<RowErrorBody>,
    /// True when more rows were rejected than `errors` lists.
    pub errors_truncated: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RowErrorBody {
    /// Line number in the file (1 is the first line, a CSV header included).
    pub line: u64,
    #[schema(example = "invalid_email")]
    pub code: &'static str,
    pub message: String,
    pub field: Option<&'static str>,
}

impl From<RowError> for RowErrorBody {
    fn from(e: RowError) -> Self {
        Self {
            line: e.line,
            code: e.code,
            message: e.message,
            field: e.field,
        }
    }
}

impl From<ImportReport> for ImportReportBody {
    fn from(r: ImportReport) -> Self {
        Self {
            rows: r.rows,
            created: r.created,
            updated: r.updated,
            unchanged: r.unchanged,
            rejected: r.rejected,
            errors: r.errors.into_iter().map(RowErrorBody::from).collect(),
            errors_truncated: r.errors_truncated,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResponse {
    pub data: ImportReportBody,
}

/// Import users from NDJSON or CSV (scope `users:write`). Rows are matched by `external_id`
/// (else email): a match is updated, no match is created, so an import can be run again.
/// Rows are written in transactions of 5,000, each with one `user.import` audit event; a
/// rejected row is reported with its line and leaves nothing behind.
#[utoipa::path(
    post, path = "/v1/users/import", tag = "users",
    params(ImportParams),
    request_body(content = String, description = "NDJSON: one user object per line (every field of POST /v1/users, plus status and password_hash; send_invitation is false by default). CSV: a header row naming the columns (external_id, email, name, given_name, family_name, role, status, attributes, password_hash, send_invitation, message, password, attributes.KEY).", content_type = "application/x-ndjson"),
    responses(
        (status = 200, body = ImportResponse, description = "The import ran to the end of the file; see `rejected` and `errors` for rows it refused"),
        (status = 400, body = ErrorEnvelope, description = "Unknown format or bad CSV header; nothing was written"),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 503, body = ErrorEnvelope, description = "The store failed part way; batches before it were written"),
    ),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    QueryParams(params): QueryParams<ImportParams>,
    body: Body,
) -> Result<Json<ImportResponse>, ApiError> {
    caller.require(Scope::UsersWrite)?;
    let format = match params.format.as_deref() {
        Some(text) => FileFormat::parse(text)?,
        None => {
            let csv = headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim_start().starts_with("text/csv"));
            if csv {
                FileFormat::Csv
            } else {
                FileFormat::Ndjson
            }
        }
    };
    let mut importer = Importer::new(
        &state.roster,
        caller.workspace.clone(),
        caller.audit().clone(),
        format,
    );
    match import_stream(&mut importer, body.into_data_stream()).await {
        Ok(()) => {}
        Err(ImportFailure::Core(err)) => return Err(err.into()),
        Err(ImportFailure::Body(message)) => {
            return Err(ApiError::http(crate::error::HttpCode::InvalidBody)
                .with_message(format!("The request body could not be read: {message}")))
        }
    }
    let report = importer.finish().await?;
    Ok(Json(ImportResponse {
        data: report.into(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `ndjson` (default) or `csv`.
    pub format: Option<String>,
    /// Only users with this role.
    pub role: Option<String>,
    /// Only users with this status.
    pub status: Option<String>,
}

/// Export the workspace's users as NDJSON or CSV, streamed, newest first (scope
/// `users:read`). The output is a valid import.
#[utoipa::path(
    get, path = "/v1/users/export", tag = "users",
    params(ExportParams),
    responses(
        (status = 200, description = "NDJSON (one user object per line, as GET /v1/users/{id} shows it) or CSV with a header row", content_type = "application/x-ndjson"),
        (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
    ),
    security(("bearer" = []), ("basic" = []))
)]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<ExportParams>,
) -> Result<Response, ApiError> {
    caller.require(Scope::UsersRead)?;
    let format = match params.format.as_deref() {
        Some(text) => FileFormat::parse(text)?,
        None => FileFormat::Ndjson,
    };
    let filter = UserFilter {
        role: params.role,
        status: params.status,
        search: None,
        email: None,
        group: None,
        include_deleted: false,
    };
    // Check the filters before the 200 goes out; errors later end the stream early.
    UserListRequest::build(
        &caller.workspace,
        &filter,
        &Page::default(),
        None,
        state.roster.now(),
    )?;
    let stream = export_stream(
        Roster::clone(&state.roster),
        caller.workspace.clone(),
        filter,
        format,
    );
    Ok(crate::paged::download(
        format.content_type(),
        &format!("users-{}.{}", caller.workspace.name, format.extension()),
        stream,
    ))
}
