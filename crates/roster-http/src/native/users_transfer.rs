//! `POST /v1/users/import` and `GET /v1/users/export`: users in bulk, as NDJSON or CSV,
//! streamed both ways. An export is a valid import (its `id` and timestamps are ignored), so
//! users move between workspaces and installations with the two. The formats are the
//! core's ([`roster_core::transfer`]), which `roster users import` and `roster users export`
//! use as well.

use axum::body::Body;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use roster_core::import::{ImportReport, RowError};
use roster_core::{FileFormat, Importer, Page, Roster, Scope, UserFilter, UserListRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::QueryParams;
use crate::AppState;

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
    match roster_core::transfer::import_stream(&mut importer, body.into_data_stream()).await {
        Ok(()) => {}
        Err(roster_core::transfer::ImportFailure::Core(err)) => return Err(err.into()),
        Err(roster_core::transfer::ImportFailure::Body(message)) => {
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
    let stream = roster_core::transfer::export::users(
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
