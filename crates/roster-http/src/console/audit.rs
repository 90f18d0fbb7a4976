//! The audit log: filters, each event's changes (before and after), the chain's
//! verification, and the pages.

use axum::extract::{Query, State};
use maud::{html, Markup};
use roster_core::{Action, AuditEvent, AuditFilter, Page};
use serde::Deserialize;

use super::layout::{self, notice, problem, Nav};
use super::session::Console;
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    cursor: Option<String>,
}

impl AuditQuery {
    fn filter(&self) -> AuditFilter {
        let some = |t: &str| Some(t.trim().to_owned()).filter(|t| !t.is_empty());
        AuditFilter {
            action: some(&self.action),
            user_id: some(&self.user_id),
            actor_id: None,
            start_time: some(&self.since),
            end_time: some(&self.until),
        }
    }

    fn to_query(&self, cursor: &str) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("action", &self.action)
            .append_pair("user_id", &self.user_id)
            .append_pair("since", &self.since)
            .append_pair("until", &self.until)
            .append_pair("cursor", cursor)
            .finish()
    }
}

/// The changes of an event, one line per field: `field: before → after`.
fn changes_text(changes: &str) -> String {
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_str::<serde_json::Value>(changes)
    else {
        return changes.to_owned();
    };
    fields
        .iter()
        .map(
            |(field, change)| match (change.get("before"), change.get("after")) {
                (Some(before), Some(after)) => format!("{field}: {before} → {after}"),
                _ => format!("{field}: {change}"),
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

/// Table rows of events (also on a user's page).
pub fn event_rows(events: &[AuditEvent]) -> Markup {
    html! {
        @for event in events {
            tr {
                td.nowrap { (layout::time(event.occurred_at)) }
                td { code { (event.action) } }
                td { (event.actor_kind) " " span.muted { (event.actor_id.as_deref().unwrap_or("")) } }
                td {
                    details {
                        summary { "Before and after" }
                        pre.diff { (changes_text(&event.changes)) }
                        p.muted { "Event " (event.id) " · request " (event.request_id.as_deref().unwrap_or("—")) }
                    }
                }
            }
        }
        @if events.is_empty() { tr { td colspan="4" { "No event." } } }
    }
}

pub async fn list(
    State(state): State<AppState>,
    console: Console,
    Query(query): Query<AuditQuery>,
) -> Markup {
    let page = Page {
        limit: Some(50),
        cursor: query.cursor.clone(),
    };
    let listed = state
        .roster
        .list_audit_events(&console.workspace, &query.filter(), &page)
        .await;
    let body = html! {
        form.filters method="get" action="/console/audit" {
            div {
                label for="a-action" { "Action" }
                select #a-action name="action" {
                    option value="" { "Any action" }
                    @for action in Action::ALL {
                        option value=(action.as_str()) selected[action.as_str() == query.action] { (action.as_str()) }
                    }
                }
            }
            div { label for="a-user" { "User id" } input #a-user name="user_id" value=(query.user_id) placeholder="usr_…"; }
            div { label for="a-since" { "From (date)" } input #a-since type="date" name="since" value=(query.since); }
            div { label for="a-until" { "Until (date)" } input #a-until type="date" name="until" value=(query.until); }
            div { button type="submit" { "Filter" } }
        }
        div.row {
            form method="post" action="/console/audit/verify" hx-post="/console/audit/verify" hx-target="#verified" {
                (layout::csrf(&console))
                button.secondary type="submit" { "Verify the chain" }
            }
            a.button.secondary href={"/console/audit/export?" (query.to_query(""))} download { "Export (NDJSON)" }
            div #verified aria-live="polite" {}
        }
        @match listed {
            Ok(listed) => {
                div.table-wrap { table {
                    thead { tr { th { "When" } th { "Action" } th { "Actor" } th { "Changes" } } }
                    tbody { (event_rows(&listed.events)) }
                } }
                @if let Some(next) = &listed.next_cursor {
                    p { a.button.secondary href={"/console/audit?" (query.to_query(&next.encode()))} { "Older events" } }
                }
            }
            Err(err) => { (problem(&err.message)) }
        }
    };
    console.page("Audit log", Nav::Audit, body)
}

/// Check the workspace's chain; the answer is a fragment for the page (or a page).
pub async fn verify(State(state): State<AppState>, console: Console) -> Markup {
    match state.roster.verify_audit_chain(&console.workspace).await {
        Ok(report) => match &report.broken {
            None => notice(&format!(
                "The chain is intact: {} events checked.{}",
                layout::count(report.checked),
                if report.warnings.is_empty() {
                    String::new()
                } else {
                    format!(" Notes: {}", report.warnings.join("; "))
                }
            )),
            Some((event, why)) => problem(&format!("The chain is broken at event {event}: {why}")),
        },
        Err(err) => problem(&err.message),
    }
}

/// The events of the page's filter, as NDJSON.
pub async fn export(
    State(state): State<AppState>,
    console: Console,
    Query(query): Query<AuditQuery>,
) -> axum::response::Response {
    let filter = query.filter();
    if let Err(err) = filter.query(&console.workspace, &Page::default()) {
        return layout::error_response(&err);
    }
    let format = roster_core::FileFormat::Ndjson;
    let stream = roster_core::transfer::export::events(
        roster_core::Roster::clone(&state.roster),
        console.workspace.clone(),
        filter,
        format,
    );
    crate::paged::download(
        format.content_type(),
        &format!("audit-{}.{}", console.workspace.name, format.extension()),
        stream,
    )
}
