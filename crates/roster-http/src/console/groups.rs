//! Groups (the list and a new group) and the outbox (Roster's built-in mail catcher).

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use roster_core::{GroupInput, Page};
use serde::Deserialize;

use super::layout::{self, maybe_time, problem, Nav};
use super::session::Console;
use crate::AppState;

/// The workspace's first 100 groups, for the pickers (none when they cannot be read: the
/// page still works, without them).
pub(super) async fn first_groups(state: &AppState, console: &Console) -> Vec<roster_core::Group> {
    let first = Page {
        limit: Some(100),
        cursor: None,
    };
    state
        .roster
        .list_groups(&console.workspace, &first)
        .await
        .map(|page| page.groups)
        .unwrap_or_default()
}

async fn groups_page(state: &AppState, console: &Console, said: Option<&str>) -> Markup {
    let listed = state
        .roster
        .list_groups(
            &console.workspace,
            &Page {
                limit: Some(100),
                cursor: None,
            },
        )
        .await;
    let body = html! {
        @if let Some(said) = said { (problem(said)) }
        section.panel aria-labelledby="new-group-h" {
            h2 #new-group-h { "New group" }
            form method="post" action="/console/groups" {
                (layout::csrf(console))
                label for="group-name" { "Name" }
                input #group-name name="name" required;
                label for="group-description" { "Description (optional)" }
                input #group-description name="description";
                p { button type="submit" { "Create group" } }
            }
        }
        @match listed {
            Ok(page) => {
                div.table-wrap { table {
                    thead { tr { th { "Name" } th { "Description" } th { "Id" } th { "Members" } } }
                    tbody {
                        @for group in &page.groups {
                            tr {
                                td { (group.name) }
                                td { (group.description.as_deref().unwrap_or("")) }
                                td { code { (group.id) } }
                                td { a href={"/console/users?group=" (group.id)} { "Show members" } }
                            }
                        }
                    }
                } }
                @if page.next_cursor.is_some() { p.muted { "The first 100 groups are shown." } }
            }
            Err(err) => { (problem(&err.message)) }
        }
    };
    console.page("Groups", Nav::Groups, body)
}

pub async fn list(State(state): State<AppState>, console: Console) -> Markup {
    groups_page(&state, &console, None).await
}

#[derive(Debug, Deserialize)]
pub struct GroupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

pub async fn create(
    State(state): State<AppState>,
    console: Console,
    Form(form): Form<GroupForm>,
) -> Response {
    let description = Some(form.description.trim().to_owned()).filter(|d| !d.is_empty());
    let input = GroupInput {
        name: Some(form.name),
        description: Some(description),
        external_id: None,
    };
    match state
        .roster
        .create_group(&console.workspace, console.audit(), input)
        .await
    {
        Ok(_) => Redirect::to("/console/groups").into_response(),
        Err(err) => {
            let status = crate::error::kind_status(err.kind());
            (
                status,
                groups_page(&state, &console, Some(&err.message)).await,
            )
                .into_response()
        }
    }
}

/// The outbox: mail waiting, sent or failed; without an SMTP server, where invitations can
/// be read.
pub async fn outbox(State(state): State<AppState>, console: Console) -> Markup {
    let listed = state
        .roster
        .list_outbox(
            &console.workspace,
            None,
            &Page {
                limit: Some(50),
                cursor: None,
            },
        )
        .await;
    let body = html! {
        p.muted { "The newest 50 mails. Without --smtp-url, mail stays here: this is Roster's built-in mail catcher." }
        @match listed {
            Ok(page) => {
                @for mail in &page.mails {
                    details.panel {
                        summary {
                            (mail.subject) " — to " (mail.recipient) " · " (mail.status.as_str()) " · "
                            (layout::time(mail.created_at))
                        }
                        p.muted { "Sent " (maybe_time(mail.sent_at)) }
                        @if let Some(text) = &mail.text { pre.diff { (text) } }
                    }
                }
                @if page.mails.is_empty() { p { "The outbox is empty." } }
            }
            Err(err) => { (problem(&err.message)) }
        }
    };
    console.page("Outbox", Nav::Outbox, body)
}
