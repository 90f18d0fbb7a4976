//! Secret keys: the list, a new key with its scopes (its secret shown once, with a copy
//! button), revocation.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use roster_core::console::CONSOLE_GRANTS;
use roster_core::keys::{ApiKey, KeyRequest};
use roster_core::Scope;

use super::layout::{self, maybe_time, notice, problem, Nav};
use super::session::Console;
use crate::AppState;

async fn page(state: &AppState, console: &Console, top: Markup) -> Markup {
    let keys = state
        .roster
        .list_api_keys(&console.workspace)
        .await
        .unwrap_or_default();
    let body = html! {
        (top)
        section.panel aria-labelledby="new-key-h" {
            h2 #new-key-h { "New key" }
            form method="post" action="/console/keys" {
                (layout::csrf(console))
                label for="key-name" { "Name" }
                input #key-name name="name" required placeholder="okta-provisioning";
                fieldset {
                    legend { "Scopes" }
                    @for scope in Scope::ALL {
                        label.inline { input type="checkbox" name="scope" value=(scope.as_str()); (scope.as_str()) }
                    }
                }
                p { button type="submit" { "Create key" } }
            }
        }
        h2 { "Keys" }
        div.table-wrap { table {
            thead { tr { th { "Name" } th { "Starts with" } th { "Scopes" } th { "Created" } th { "Last used" } th { "Revoke" } } }
            tbody { @for key in &keys { (row(console, key)) } }
        } }
    };
    console.page("API keys", Nav::Keys, body)
}

fn row(console: &Console, key: &ApiKey) -> Markup {
    let scopes: Vec<&str> = key.scopes.iter().map(|s| s.as_str()).collect();
    html! {
        tr {
            td { (key.name) }
            td { code { (key.prefix) "…" } }
            td { (scopes.join(", ")) }
            td.nowrap { (layout::time(key.created_at)) }
            td.nowrap { (maybe_time(key.last_used_at)) }
            td {
                form method="post" action={"/console/keys/" (key.id) "/revoke"}
                    data-confirm={"Revoke the key " (key.name) "? Programs using it stop working."} {
                    (layout::csrf(console))
                    button.danger type="submit" aria-label={"Revoke " (key.name)} { "Revoke" }
                }
            }
        }
    }
}

pub async fn list(State(state): State<AppState>, console: Console) -> Markup {
    page(&state, &console, html! {}).await
}

pub async fn create(
    State(state): State<AppState>,
    console: Console,
    body: axum::body::Bytes,
) -> Response {
    let mut name = String::new();
    let mut scopes = Vec::new();
    for (key, value) in form_urlencoded::parse(&body) {
        match key.as_ref() {
            "name" => name = value.into_owned(),
            "scope" => scopes.push(value.into_owned()),
            _ => {}
        }
    }
    let request = KeyRequest {
        name: Some(name),
        scopes: Some(scopes),
        expires_at: None,
        rate_limit_per_minute: None,
    };
    match state
        .roster
        .create_api_key(&console.workspace, console.audit(), request, CONSOLE_GRANTS)
        .await
    {
        Ok(issued) => {
            let top = html! {
                section.panel aria-labelledby="secret-h" {
                    h2 #secret-h { "The secret of \"" (issued.key.name) "\"" }
                    (notice("Copy it now: it is shown only this once and cannot be read again."))
                    p #new-secret.secret { (issued.secret) }
                    button type="button" data-copy="new-secret" { "Copy" }
                }
            };
            (StatusCode::CREATED, page(&state, &console, top).await).into_response()
        }
        Err(err) => {
            let status = crate::error::kind_status(err.kind());
            (status, page(&state, &console, problem(&err.message)).await).into_response()
        }
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
) -> Response {
    match state
        .roster
        .revoke_api_key(&console.workspace, console.audit(), &id, CONSOLE_GRANTS)
        .await
    {
        Ok(()) => Redirect::to("/console/keys").into_response(),
        Err(err) => {
            let status = crate::error::kind_status(err.kind());
            (status, page(&state, &console, problem(&err.message)).await).into_response()
        }
    }
}
