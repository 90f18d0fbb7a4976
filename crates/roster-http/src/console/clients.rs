//! API clients (seed 000's client id and secret): the list, a new client (its secret shown
//! once), the admin API switched on or off, revocation.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use roster_core::console::CONSOLE_GRANTS;
use roster_core::{ClientPatch, ClientRequest, Scope};

use super::layout::{self, notice, problem, Nav};
use super::session::Console;
use crate::AppState;

async fn page(state: &AppState, console: &Console, top: Markup) -> Markup {
    let clients = state
        .roster
        .list_api_clients(&console.workspace)
        .await
        .unwrap_or_default();
    let body = html! {
        (top)
        section.panel aria-labelledby="new-client-h" {
            h2 #new-client-h { "New API client" }
            form method="post" action="/console/clients" {
                (layout::csrf(console))
                label for="client-name" { "Name" }
                input #client-name name="name" required;
                fieldset {
                    legend { "Scopes (none ticked: users:read and users:write)" }
                    @for scope in Scope::ALL {
                        label.inline { input type="checkbox" name="scope" value=(scope.as_str()); (scope.as_str()) }
                    }
                }
                label.inline { input type="checkbox" name="admin_api" value="on"; "Enable the admin API" }
                p { button type="submit" { "Create client" } }
            }
        }
        h2 { "Clients" }
        div.table-wrap { table {
            thead { tr { th { "Name" } th { "Client id" } th { "Scopes" } th { "Admin API" } th { "Created" } th { "Change" } } }
            tbody {
                @for client in &clients {
                    @let scopes: Vec<&str> = client.scopes.iter().map(|s| s.as_str()).collect();
                    tr {
                        td { (client.name) }
                        td { code { (client.client_id) } }
                        td { (scopes.join(", ")) }
                        td { @if client.admin_api_enabled { "enabled" } @else { "disabled" } }
                        td.nowrap { (layout::time(client.created_at)) }
                        td.actions {
                            form method="post" action={"/console/clients/" (client.client_id) "/admin-api"} {
                                (layout::csrf(console))
                                input type="hidden" name="enable" value=(if client.admin_api_enabled { "off" } else { "on" });
                                button.secondary type="submit" {
                                    @if client.admin_api_enabled { "Disable admin API" } @else { "Enable admin API" }
                                }
                            }
                            form method="post" action={"/console/clients/" (client.client_id) "/revoke"}
                                data-confirm={"Revoke the client " (client.name) "? Its tokens stop working."} {
                                (layout::csrf(console))
                                button.danger type="submit" aria-label={"Revoke " (client.name)} { "Revoke" }
                            }
                        }
                    }
                }
                @if clients.is_empty() { tr { td colspan="6" { "No API client." } } }
            }
        } }
    };
    console.page("API clients", Nav::Clients, body)
}

pub async fn list(State(state): State<AppState>, console: Console) -> Markup {
    page(&state, &console, html! {}).await
}

fn failed(err: &roster_core::Error) -> StatusCode {
    crate::error::kind_status(err.kind())
}

pub async fn create(
    State(state): State<AppState>,
    console: Console,
    body: axum::body::Bytes,
) -> Response {
    let (mut name, mut scopes, mut admin_api) = (String::new(), Vec::new(), false);
    for (key, value) in form_urlencoded::parse(&body) {
        match key.as_ref() {
            "name" => name = value.into_owned(),
            "scope" => scopes.push(value.into_owned()),
            "admin_api" => admin_api = value == "on",
            _ => {}
        }
    }
    let request = ClientRequest {
        name: Some(name),
        scopes: (!scopes.is_empty()).then_some(scopes),
        admin_api_enabled: admin_api,
        rate_limit_per_minute: None,
    };
    match state
        .roster
        .create_api_client(&console.workspace, console.audit(), request, CONSOLE_GRANTS)
        .await
    {
        Ok(issued) => {
            let top = html! {
                section.panel aria-labelledby="client-secret-h" {
                    h2 #client-secret-h { "The secret of \"" (issued.client.name) "\"" }
                    (notice("Copy it now: it is shown only this once and cannot be read again."))
                    p { "Client id " code { (issued.client.client_id) } }
                    p #new-client-secret.secret { (issued.secret) }
                    button type="button" data-copy="new-client-secret" { "Copy" }
                }
            };
            (StatusCode::CREATED, page(&state, &console, top).await).into_response()
        }
        Err(err) => (
            failed(&err),
            page(&state, &console, problem(&err.message)).await,
        )
            .into_response(),
    }
}

pub async fn admin_api(
    State(state): State<AppState>,
    console: Console,
    Path(client_id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let enable = form_urlencoded::parse(&body).any(|(key, value)| key == "enable" && value == "on");
    let patch = ClientPatch {
        admin_api_enabled: Some(enable),
        ..ClientPatch::default()
    };
    match state
        .roster
        .update_api_client(
            &console.workspace,
            console.audit(),
            &client_id,
            &patch,
            CONSOLE_GRANTS,
        )
        .await
    {
        Ok(_) => Redirect::to("/console/clients").into_response(),
        Err(err) => (
            failed(&err),
            page(&state, &console, problem(&err.message)).await,
        )
            .into_response(),
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    console: Console,
    Path(client_id): Path<String>,
) -> Response {
    match state
        .roster
        .revoke_api_client(
            &console.workspace,
            console.audit(),
            &client_id,
            CONSOLE_GRANTS,
        )
        .await
    {
        Ok(()) => Redirect::to("/console/clients").into_response(),
        Err(err) => (
            failed(&err),
            page(&state, &console, problem(&err.message)).await,
        )
            .into_response(),
    }
}
