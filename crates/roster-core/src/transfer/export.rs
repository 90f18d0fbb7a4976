//! Exports: every user (or audit event) matching a filter, as NDJSON or CSV lines, read from
//! the store a page at a time so memory stays flat whatever the size.

use std::sync::Arc;

use futures_util::Stream;

use super::format::{csv_cell, FileFormat};
use super::pages;
use super::records::{EventRecord, UserRecord};
use crate::audit::AuditEvent;
use crate::audit_log::AuditFilter;
use crate::listing::{Page, UserFilter};
use crate::roster::Roster;
use crate::user::User;
use crate::workspace::Workspace;

/// Items per store read while exporting (the lists' largest page).
const PAGE: u32 = 100;

/// The CSV columns of a user export, in order.
pub const USER_CSV_HEADER: &str =
    "id,external_id,user_name,email,name,given_name,family_name,role,status,attributes,created_at,updated_at\n";

/// The CSV columns of an audit export, in order.
pub const EVENT_CSV_HEADER: &str = "id,occurred_at,action,actor_kind,actor_id,user_id,request_id,ip,user_agent,changes,seq,prev_hash,hash\n";

fn header(format: FileFormat, csv: &str) -> Vec<u8> {
    match format {
        FileFormat::Ndjson => Vec::new(),
        FileFormat::Csv => csv.as_bytes().to_vec(),
    }
}

/// `record` as one NDJSON line.
fn json_line(record: &impl serde::Serialize) -> Vec<u8> {
    // The records serialize whatever they hold (strings, numbers, JSON values, times).
    let mut line = serde_json::to_vec(record).unwrap_or_default();
    line.push(b'\n');
    line
}

/// One CSV row, each cell safe from spreadsheet formulas ([`csv_cell`]).
fn csv_line(cells: &[&str]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let cells: Vec<_> = cells.iter().map(|cell| csv_cell(cell)).collect();
    // Writing to a Vec cannot fail.
    let _ = writer.write_record(cells.iter().map(|c| c.as_bytes()));
    writer.into_inner().unwrap_or_default()
}

fn time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The first bytes of a user export in `format`.
pub fn user_header(format: FileFormat) -> Vec<u8> {
    header(format, USER_CSV_HEADER)
}

/// One user as a line of `format`: the native API's user object, or its CSV row.
pub fn user_line(format: FileFormat, user: User) -> Vec<u8> {
    let record = UserRecord::from(user);
    match format {
        FileFormat::Ndjson => json_line(&record),
        FileFormat::Csv => {
            let attributes = record.attributes.to_string();
            let (created_at, updated_at) = (time(record.created_at), time(record.updated_at));
            csv_line(&[
                &record.id,
                record.external_id.as_deref().unwrap_or_default(),
                &record.user_name,
                &record.email,
                &record.name,
                record.given_name.as_deref().unwrap_or_default(),
                record.family_name.as_deref().unwrap_or_default(),
                &record.role,
                record.status,
                &attributes,
                &created_at,
                &updated_at,
            ])
        }
    }
}

/// The first bytes of an audit export in `format`.
pub fn event_header(format: FileFormat) -> Vec<u8> {
    header(format, EVENT_CSV_HEADER)
}

/// One event as a line of `format`.
pub fn event_line(format: FileFormat, event: AuditEvent) -> Vec<u8> {
    match format {
        FileFormat::Ndjson => json_line(&EventRecord::from(event)),
        FileFormat::Csv => {
            let (occurred_at, seq) = (time(event.occurred_at), event.seq.to_string());
            csv_line(&[
                &event.id,
                &occurred_at,
                &event.action,
                &event.actor_kind,
                event.actor_id.as_deref().unwrap_or_default(),
                event.target_user_id.as_deref().unwrap_or_default(),
                event.request_id.as_deref().unwrap_or_default(),
                event.ip.as_deref().unwrap_or_default(),
                event.user_agent.as_deref().unwrap_or_default(),
                &event.changes,
                &seq,
                &event.prev_hash,
                &event.hash,
            ])
        }
    }
}

/// Every user matching `filter`, in the list's order, as `format`.
pub fn users(
    roster: Roster,
    workspace: Workspace,
    filter: UserFilter,
    format: FileFormat,
) -> impl Stream<Item = crate::Result<Vec<u8>>> {
    let filter = Arc::new(filter);
    pages::lines(
        user_header(format),
        None,
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
        move |user| user_line(format, user),
    )
}

/// Every audit event matching `filter`, newest first, as `format`.
pub fn events(
    roster: Roster,
    workspace: Workspace,
    filter: AuditFilter,
    format: FileFormat,
) -> impl Stream<Item = crate::Result<Vec<u8>>> {
    let filter = Arc::new(filter);
    pages::lines(
        event_header(format),
        None,
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
        move |event| event_line(format, event),
    )
}
