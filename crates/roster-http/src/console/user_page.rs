//! A user's page: its fields and their edit form, its lifecycle actions, sessions, groups,
//! personal token, and its own audit timeline.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use roster_core::{AuditFilter, Page, User, UserPatch, UserStatus};
use serde::Deserialize;

use super::audit::event_rows;
use super::layout::{self, maybe_time, notice, problem, status_badge, Nav};
use super::session::Console;
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct ShowQuery {
    /// What the last action did, to say so (a short known word, never echoed).
    done: Option<String>,
    made: Option<String>,
}

/// What an action word says on the page after it ran.
fn done_text(done: &str) -> Option<&'static str> {
    Some(match done {
        "deactivate" => "The user was deactivated: its sessions ended.",
        "reactivate" => "The user was reactivated.",
        "delete" => "The user was deleted. It can be restored.",
        "restore" => "The user was restored.",
        "invite" => "A new invitation was sent.",
        "logout" => "Every session of the user ended.",
        "revoke_token" => "The personal token was revoked.",
        "password" => "The password was set; the user's sessions ended.",
        "session" => "The session ended.",
        "join" => "The user joined the group.",
        "leave" => "The user left the group.",
        "saved" => "Saved.",
        _ => return None,
    })
}

pub async fn show(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Response {
    let user = match state
        .roster
        .get_user_any_state(&console.workspace, &id)
        .await
    {
        Ok(user) => user,
        Err(err) => return layout::error_response(&err),
    };
    let said = query.done.as_deref().and_then(done_text);
    let said = if query.made.is_some() {
        Some("The user was created.")
    } else {
        said
    };
    render(&state, &console, &user, said, None)
        .await
        .into_response()
}

/// The whole page of `user`, with what the last action said (`said`) or where it failed
/// (`failed`).
pub async fn render(
    state: &AppState,
    console: &Console,
    user: &User,
    said: Option<&str>,
    failed: Option<&str>,
) -> Markup {
    let live = !user.is_deleted();
    let Around {
        sessions,
        groups,
        all_groups,
        events,
    } = around(state, console, user).await;
    let body = html! {
        @if let Some(said) = said { (notice(said)) }
        @if let Some(failed) = failed { (problem(failed)) }
        p { a href="/console/users" { "← All users" } }
        div.grid2 {
            section.panel aria-labelledby="fields-h" {
                h2 #fields-h { "Fields" }
                (fields(user))
            }
            section.panel aria-labelledby="actions-h" {
                h2 #actions-h { "Lifecycle" }
                (super::user_actions::lifecycle(console, user))
            }
        }
        @if live {
            section.panel aria-labelledby="edit-h" {
                h2 #edit-h { "Edit" }
                (edit_form(console, user))
            }
            div.grid2 {
                section.panel aria-labelledby="sessions-h" {
                    h2 #sessions-h { "Sessions" }
                    (super::user_actions::sessions(console, user, &sessions))
                }
                section.panel aria-labelledby="groups-h" {
                    h2 #groups-h { "Groups" }
                    (super::user_actions::groups(console, user, &groups, &all_groups))
                }
            }
        }
        section aria-labelledby="timeline-h" {
            h2 #timeline-h { "Audit timeline" }
            div.table-wrap { table {
                thead { tr { th { "When" } th { "Action" } th { "Actor" } th { "Changes" } } }
                tbody { (event_rows(&events)) }
            } }
            p { a href={"/console/audit?user_id=" (user.id)} { "The whole timeline in the audit log" } }
        }
    };
    console.page(&user.name, Nav::Users, body)
}

/// What the page shows around a user: its sessions, its groups (and every group, to add
/// it to one), its latest audit events.
struct Around {
    sessions: Vec<roster_core::Session>,
    groups: Vec<(roster_core::Group, roster_core::Membership)>,
    all_groups: Vec<roster_core::Group>,
    events: Vec<roster_core::AuditEvent>,
}

async fn around(state: &AppState, console: &Console, user: &User) -> Around {
    let (ws, roster) = (&console.workspace, &state.roster);
    let live = !user.is_deleted();
    let first = |limit| Page {
        limit: Some(limit),
        cursor: None,
    };
    let filter = AuditFilter {
        user_id: Some(user.id.clone()),
        ..AuditFilter::default()
    };
    let twenty = first(20);
    let (sessions, groups, all_groups, events) = tokio::join!(
        async {
            match live {
                true => roster
                    .list_user_sessions(ws, &user.id)
                    .await
                    .unwrap_or_default(),
                false => Vec::new(),
            }
        },
        async {
            match live {
                true => roster.user_groups(ws, &user.id).await.unwrap_or_default(),
                false => Vec::new(),
            }
        },
        super::groups::first_groups(state, console),
        roster.list_audit_events(ws, &filter, &twenty),
    );
    Around {
        sessions,
        groups,
        all_groups,
        events: events.map(|p| p.events).unwrap_or_default(),
    }
}

fn fields(user: &User) -> Markup {
    let attributes = serde_json::to_string_pretty(&user.attributes).unwrap_or_default();
    html! {
        dl.fields {
            dt { "Id" } dd { code { (user.id) } }
            dt { "Status" } dd { (status_badge(user.status.as_str(), user.is_deleted())) }
            dt { "Email" } dd { (if user.has_email() { user.email.as_str() } else { "—" }) }
            dt { "Role" } dd { (user.role) }
            dt { "User name" } dd { (user.user_name) }
            dt { "External id" } dd { (user.external_id.as_deref().unwrap_or("—")) }
            dt { "Created" } dd { (layout::time(user.created_at)) }
            dt { "Updated" } dd { (layout::time(user.updated_at)) }
            dt { "Deleted" } dd { (maybe_time(user.deleted_at)) }
            dt { "Last sign-in" } dd { (maybe_time(user.current_sign_in_at)) }
            dt { "Personal token" } dd {
                @if user.has_authentication_token { "Yes" }
                @else if user.allow_authentication_token { "Allowed, none made" }
                @else { "Not allowed" }
            }
            dt { "Attributes" } dd { pre.diff { (attributes) } }
        }
    }
}

fn edit_form(console: &Console, user: &User) -> Markup {
    html! {
        form method="post" action={"/console/users/" (user.id)} {
            (layout::csrf(console))
            input type="hidden" name="version" value=(user.version);
            div.grid2 {
                div {
                    label for="e-name" { "Name" }
                    input #e-name name="name" value=(user.name) required;
                    label for="e-email" { "Email" }
                    input #e-email type="email" name="email" value=(user.email);
                    label for="e-role" { "Role" }
                    select #e-role name="role" {
                        @for role in &console.workspace.roles {
                            option value=(role) selected[*role == user.role] { (role) }
                        }
                    }
                }
                div {
                    label for="e-user-name" { "User name" }
                    input #e-user-name name="user_name" value=(user.user_name);
                    label for="e-external" { "External id" }
                    input #e-external name="external_id" value=(user.external_id.as_deref().unwrap_or(""));
                    label.inline {
                        input type="checkbox" name="allow_token" value="on" checked[user.allow_authentication_token];
                        "May make a personal token"
                    }
                }
            }
            p { button type="submit" { "Save" } }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct EditForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    user_name: String,
    #[serde(default)]
    external_id: String,
    allow_token: Option<String>,
}

pub async fn edit(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Form(form): Form<EditForm>,
) -> Response {
    let optional = |text: &str| Some(Some(text.trim().to_owned()).filter(|t| !t.is_empty()));
    let patch = UserPatch {
        name: Some(Some(form.name.trim().to_owned())),
        email: optional(&form.email),
        role: Some(Some(form.role.trim().to_owned())),
        external_id: optional(&form.external_id),
        user_name: Some(form.user_name.trim().to_owned()).filter(|t| !t.is_empty()),
        allow_authentication_token: Some(form.allow_token.is_some()),
        ..UserPatch::default()
    };
    let ws = &console.workspace;
    match state
        .roster
        .update_user(ws, console.audit(), id.as_str(), &patch)
        .await
    {
        Ok(user) => Redirect::to(&format!("/console/users/{}?done=saved", user.id)).into_response(),
        Err(err) => failed_on(&state, &console, &id, &err).await,
    }
}

/// The user's page again, saying where `err` happened (or the error page, when the user
/// itself cannot be shown).
pub async fn failed_on(
    state: &AppState,
    console: &Console,
    id: &str,
    err: &roster_core::Error,
) -> Response {
    match state
        .roster
        .get_user_any_state(&console.workspace, id)
        .await
    {
        Ok(user) => {
            let status = crate::error::kind_status(err.kind());
            let page = render(state, console, &user, None, Some(&err.message)).await;
            (status, page).into_response()
        }
        Err(_) => layout::error_response(err),
    }
}

/// Whether a user in `status` can be reactivated (else the button is not offered).
pub fn can_reactivate(user: &User) -> bool {
    user.status == UserStatus::Inactive
}
