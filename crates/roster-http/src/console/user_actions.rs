//! What can be done to one user from its page: lifecycle steps (each confirmed; a purge
//! only after typing the user's email), a new password, ending sessions, group membership.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{NaiveDate, TimeZone, Utc};
use maud::{html, Markup};
use roster_core::{Group, Membership, Session, User, UserStatus};
use serde::Deserialize;

use super::layout::{self, maybe_time};
use super::session::Console;
use super::user_page::{can_reactivate, failed_on};
use crate::AppState;

/// One confirmed button posting an action.
fn action_button(
    console: &Console,
    user: &User,
    action: &str,
    label: &str,
    confirm: &str,
    danger: bool,
) -> Markup {
    html! {
        form method="post" action={"/console/users/" (user.id) "/do/" (action)} data-confirm=(confirm) {
            (layout::csrf(console))
            button.danger[danger].secondary[!danger] type="submit" { (label) }
        }
    }
}

/// The lifecycle actions a user in its state can take.
pub fn lifecycle(console: &Console, user: &User) -> Markup {
    let name = &user.name;
    html! {
        div.actions {
            @if user.is_deleted() {
                (action_button(console, user, "restore", "Restore", &format!("Restore {name}?"), false))
            } @else {
                @if user.status == UserStatus::Active || user.status == UserStatus::Invited {
                    (action_button(console, user, "deactivate", "Deactivate", &format!("Deactivate {name}? Its sessions end and it cannot sign in."), true))
                }
                @if can_reactivate(user) {
                    (action_button(console, user, "reactivate", "Reactivate", &format!("Reactivate {name}?"), false))
                }
                @if user.status == UserStatus::Invited {
                    (action_button(console, user, "invite", "Resend invitation", &format!("Send {name} a new invitation? The old link stops working."), false))
                }
                (action_button(console, user, "logout", "Force logout", &format!("End every session of {name}?"), false))
                @if user.has_authentication_token {
                    (action_button(console, user, "revoke_token", "Revoke personal token", &format!("Revoke {name}'s personal token?"), true))
                }
                (action_button(console, user, "delete", "Delete", &format!("Delete {name}? It can be restored later."), true))
            }
        }
        @if !user.is_deleted() {
            form method="post" action={"/console/users/" (user.id) "/password"} {
                (layout::csrf(console))
                label for="new-password" { "Set a new password" }
                div.row {
                    input #new-password type="password" name="password" autocomplete="new-password" required;
                    button.secondary type="submit" { "Set password" }
                }
            }
        }
        details {
            summary { "Purge (erase for good)" }
            form method="post" action={"/console/users/" (user.id) "/do/purge"} {
                (layout::csrf(console))
                label for="purge-confirm" { "Type the user's email (or id, if it has none) to erase it and all it owns; this cannot be undone" }
                input #purge-confirm name="confirm" autocomplete="off" required;
                p { button.danger type="submit" { "Purge" } }
            }
        }
    }
}

pub fn sessions(console: &Console, user: &User, sessions: &[Session]) -> Markup {
    html! {
        @if sessions.is_empty() {
            p.muted { "No live session." }
        } @else {
            div.table-wrap { table {
                thead { tr { th { "Started" } th { "Last seen" } th { "From" } th { span.hide-narrow { "End" } } } }
                tbody {
                    @for session in sessions {
                        tr {
                            td.nowrap { (layout::time(session.created_at)) }
                            td.nowrap { (layout::time(session.last_seen_at)) }
                            td { (session.ip.as_deref().unwrap_or("")) " " span.muted { (session.user_agent.as_deref().unwrap_or("")) } }
                            td {
                                form method="post" action={"/console/users/" (user.id) "/sessions/" (session.id) "/end"} {
                                    (layout::csrf(console))
                                    button.secondary type="submit" aria-label={"End the session started " (session.created_at.format("%Y-%m-%d %H:%M"))} { "End" }
                                }
                            }
                        }
                    }
                }
            } }
        }
    }
}

pub fn groups(
    console: &Console,
    user: &User,
    groups: &[(Group, Membership)],
    all: &[Group],
) -> Markup {
    html! {
        @if groups.is_empty() {
            p.muted { "In no group." }
        } @else {
            ul {
                @for (group, membership) in groups {
                    li.row {
                        span { (group.name) " " span.muted { "until " (maybe_time(membership.expires_at)) } }
                        form method="post" action={"/console/users/" (user.id) "/groups/" (group.id) "/leave"} {
                            (layout::csrf(console))
                            button.secondary type="submit" aria-label={"Remove from " (group.name)} { "Remove" }
                        }
                    }
                }
            }
        }
        @if !all.is_empty() {
            form method="post" action={"/console/users/" (user.id) "/groups"} {
                (layout::csrf(console))
                div.row {
                    label.inline for="join-group" { "Add to" }
                    select #join-group name="group" {
                        @for group in all { option value=(group.id) { (group.name) } }
                    }
                    label.inline for="join-until" { "until (optional)" }
                    input #join-until type="date" name="until";
                    button.secondary type="submit" { "Add" }
                }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    /// The purge's typed confirmation.
    #[serde(default)]
    confirm: String,
}

fn back(id: &str, done: &str) -> Response {
    Redirect::to(&format!("/console/users/{id}?done={done}")).into_response()
}

pub async fn act(
    State(state): State<AppState>,
    console: Console,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    let (ws, ctx, roster) = (&console.workspace, console.audit(), &state.roster);
    let id = id.as_str();
    let outcome = match action.as_str() {
        "deactivate" => roster.deactivate_user(ws, ctx, id).await.map(drop),
        "reactivate" => roster.reactivate_user(ws, ctx, id).await.map(drop),
        "delete" => roster.delete_user(ws, ctx, id).await,
        "restore" => roster.restore_user(ws, ctx, id).await.map(drop),
        "invite" => roster.resend_invitation(ws, ctx, id, None).await.map(drop),
        "logout" => roster.force_logout(ws, ctx, id).await.map(drop),
        "revoke_token" => roster.revoke_personal_token(ws, ctx, id).await.map(drop),
        "purge" => return purge(&state, &console, id, &form.confirm).await,
        _ => {
            let err = roster_core::Error::new(roster_core::Code::InvalidField, "No such action.");
            return layout::error_response(&err);
        }
    };
    match outcome {
        Ok(()) => back(id, &action),
        Err(err) => failed_on(&state, &console, id, &err).await,
    }
}

/// Erase a user, only when the typed confirmation is its email (or its id).
async fn purge(state: &AppState, console: &Console, id: &str, typed: &str) -> Response {
    let user = match state
        .roster
        .get_user_any_state(&console.workspace, id)
        .await
    {
        Ok(user) => user,
        Err(err) => return layout::error_response(&err),
    };
    let expected = if user.has_email() {
        &user.email
    } else {
        &user.id
    };
    if !typed.trim().eq_ignore_ascii_case(expected) {
        let err = roster_core::Error::new(
            roster_core::Code::InvalidField,
            "The typed text is not the user's email; nothing was purged.",
        );
        return failed_on(state, console, id, &err).await;
    }
    match state
        .roster
        .purge_user(&console.workspace, console.audit(), id)
        .await
    {
        Ok(()) => {
            let body = html! {
                (layout::notice(&format!("{} was erased for good.", user.name)))
                p { a href="/console/users" { "Back to the users" } }
            };
            console
                .page("User purged", layout::Nav::Users, body)
                .into_response()
        }
        Err(err) => failed_on(state, console, id, &err).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    password: String,
}

pub async fn set_password(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Response {
    match state
        .roster
        .set_password(
            &console.workspace,
            console.audit(),
            id.as_str(),
            &form.password,
        )
        .await
    {
        Ok(_) => back(&id, "password"),
        Err(err) => failed_on(&state, &console, &id, &err).await,
    }
}

pub async fn end_session(
    State(state): State<AppState>,
    console: Console,
    Path((id, session_id)): Path<(String, String)>,
) -> Response {
    match state
        .roster
        .end_user_session(&console.workspace, console.audit(), &id, &session_id)
        .await
    {
        Ok(()) => back(&id, "session"),
        Err(err) => failed_on(&state, &console, &id, &err).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct JoinForm {
    #[serde(default)]
    group: String,
    /// A date (the membership ends at its start, UTC), or empty for never.
    #[serde(default)]
    until: String,
}

pub async fn join_group(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Form(form): Form<JoinForm>,
) -> Response {
    let until = form.until.trim();
    let expires_at = if until.is_empty() {
        None
    } else {
        match NaiveDate::parse_from_str(until, "%Y-%m-%d") {
            Ok(date) => date
                .and_hms_opt(0, 0, 0)
                .map(|at| Utc.from_utc_datetime(&at)),
            Err(_) => {
                let err = roster_core::Error::new(
                    roster_core::Code::InvalidField,
                    "The end date is not a date (YYYY-MM-DD).",
                );
                return failed_on(&state, &console, &id, &err).await;
            }
        }
    };
    match state
        .roster
        .add_member(
            &console.workspace,
            console.audit(),
            &form.group,
            &id,
            expires_at,
        )
        .await
    {
        Ok(_) => back(&id, "join"),
        Err(err) => failed_on(&state, &console, &id, &err).await,
    }
}

pub async fn leave_group(
    State(state): State<AppState>,
    console: Console,
    Path((id, group_id)): Path<(String, String)>,
) -> Response {
    match state
        .roster
        .remove_member(&console.workspace, console.audit(), &group_id, &id)
        .await
    {
        Ok(()) => back(&id, "leave"),
        Err(err) => failed_on(&state, &console, &id, &err).await,
    }
}
