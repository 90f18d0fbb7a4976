//! Import (a CSV or NDJSON file uploaded with a progress bar; the row report with line
//! numbers) and export (the users of the table's current filter).

use axum::body::Body;
use axum::extract::{Query, RawQuery, State};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use roster_core::import::ImportReport;
use roster_core::{FileFormat, Importer, Roster, UserListRequest};
use serde::Deserialize;

use super::layout::{self, count, problem, Nav};
use super::session::Console;
use super::users::TableQuery;
use crate::AppState;

pub async fn form(console: Console) -> Markup {
    let body = html! {
        section.panel aria-labelledby="import-h" {
            h2 #import-h { "Import users" }
            p { "A CSV file with a header row (" code { "email,name,role,external_id,…" } ") or NDJSON (one user object per line). Rows are matched by external id, else email: matches are updated, the rest created, so an import can be run again." }
            form method="post" action="/console/import" data-upload="import-result" {
                (layout::csrf(&console))
                label for="file" { "File" }
                input #file type="file" name="file" accept=".csv,.ndjson,.jsonl,text/csv,application/x-ndjson" required;
                p { button type="submit" { "Import" } }
                progress hidden value="0" max="1" aria-label="Upload progress" {}
            }
            div #import-result aria-live="polite" {}
        }
        section.panel aria-labelledby="export-h" {
            h2 #export-h { "Export users" }
            p { "Every user of the workspace (or of a filter from the users table: its "
                strong { "Export" } " link keeps the filter), newest first. The file is a valid import." }
            div.actions {
                a.button href="/console/export?format=csv" download { "Download CSV" }
                a.button.secondary href="/console/export?format=ndjson" download { "Download NDJSON" }
            }
        }
    };
    console.page("Import & export", Nav::Import, body)
}

fn report_view(report: &ImportReport) -> Markup {
    html! {
        @if report.rejected == 0 {
            (layout::notice(&format!("Imported {} rows: {} created, {} updated, {} unchanged.",
                count(report.rows), count(report.created), count(report.updated), count(report.unchanged))))
        } @else {
            (problem(&format!("{} of {} rows were rejected; the others were imported ({} created, {} updated, {} unchanged).",
                count(report.rejected), count(report.rows), count(report.created), count(report.updated), count(report.unchanged))))
            div.table-wrap { table {
                caption.muted { "Rejected rows" }
                thead { tr { th { "Line" } th { "Field" } th { "Why" } } }
                tbody {
                    @for row in &report.errors {
                        tr { td { "Line " (row.line) } td { (row.field.unwrap_or("")) } td { (row.message) } }
                    }
                }
            } }
            @if report.errors_truncated { p.muted { "Only the first rejected rows are listed." } }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct FormatQuery {
    format: Option<String>,
}

/// The uploaded file, streamed through the core's importer; the answer is the row report
/// (an HTML fragment the page shows in place).
pub async fn upload(
    State(state): State<AppState>,
    console: Console,
    Query(query): Query<FormatQuery>,
    body: Body,
) -> Response {
    let format = match FileFormat::parse(query.format.as_deref().unwrap_or("csv")) {
        Ok(format) => format,
        Err(err) => return problem(&err.message).into_response(),
    };
    let mut importer = Importer::new(
        &state.roster,
        console.workspace.clone(),
        console.audit().clone(),
        format,
    );
    let streamed =
        roster_core::transfer::import_stream(&mut importer, body.into_data_stream()).await;
    if let Err(failure) = streamed {
        let message = match failure {
            roster_core::transfer::ImportFailure::Core(err) => err.message,
            roster_core::transfer::ImportFailure::Body(message) => {
                format!("The file could not be read whole: {message}")
            }
        };
        return problem(&message).into_response();
    }
    match importer.finish().await {
        Ok(report) => report_view(&report).into_response(),
        Err(err) => problem(&err.message).into_response(),
    }
}

/// The users of the table's filter (`q`, `role`, `status`, `group`, `deleted` as in the
/// table's address), as CSV or NDJSON.
pub async fn export(
    State(state): State<AppState>,
    console: Console,
    RawQuery(raw): RawQuery,
) -> Response {
    let table = TableQuery::parse(raw.as_deref());
    let format = form_urlencoded::parse(raw.as_deref().unwrap_or_default().as_bytes())
        .find(|(key, _)| key == "format")
        .map(|(_, value)| value.into_owned());
    let format = match FileFormat::parse(format.as_deref().unwrap_or("csv")) {
        Ok(format) => format,
        Err(err) => return layout::error_response(&err),
    };
    let filter = table.filter();
    let checked = UserListRequest::build(
        &console.workspace,
        &filter,
        &roster_core::Page::default(),
        None,
        state.roster.now(),
    );
    if let Err(err) = checked {
        return layout::error_response(&err);
    }
    let stream = roster_core::transfer::export::users(
        Roster::clone(&state.roster),
        console.workspace.clone(),
        filter,
        format,
    );
    crate::paged::download(
        format.content_type(),
        &format!("users-{}.{}", console.workspace.name, format.extension()),
        stream,
    )
}
