//! The workspace's settings: roles, invitation mail, password and session rules, the rate
//! limit and audit retention. Each form is one core call (and one `config.update` event).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use roster_core::invitation::InvitationSettings;
use roster_core::session::{AuthSettings, LimitPolicy};
use roster_core::Workspace;
use serde::Deserialize;

use super::layout::{self, notice, problem, Nav};
use super::session::Console;
use crate::AppState;

fn number(value: Option<u32>) -> String {
    value.map(|n| n.to_string()).unwrap_or_default()
}

fn page(console: &Console, said: Option<&str>, failed: Option<&str>) -> Markup {
    let ws: &Workspace = &console.workspace;
    let invitations = &ws.invitations;
    let auth = &ws.auth;
    let evict = auth.session_limit_policy.unwrap_or_default() == LimitPolicy::EvictOldest;
    let body = html! {
        @if let Some(said) = said { (notice(said)) }
        @if let Some(failed) = failed { (problem(failed)) }
        section.panel aria-labelledby="roles-h" {
            h2 #roles-h { "Roles" }
            form method="post" action="/console/settings/roles" {
                (layout::csrf(console))
                label for="roles" { "The workspace's roles, in order, separated by spaces (a role some user has cannot be removed)" }
                input #roles name="roles" value=(ws.roles.join(" ")) required;
                p { button type="submit" { "Save roles" } }
            }
        }
        section.panel aria-labelledby="inv-h" {
            h2 #inv-h { "Invitation mail" }
            form method="post" action="/console/settings/invitations" {
                (layout::csrf(console))
                label for="inv-hours" { "Invitations last (hours; empty for the default)" }
                input #inv-hours name="expiry_hours" inputmode="numeric" value=(number(invitations.expiry_hours));
                label for="inv-subject" { "Subject (empty for the default)" }
                input #inv-subject name="subject" value=(invitations.subject.as_deref().unwrap_or(""));
                label for="inv-text" { "Text (empty for the default; placeholders as documented in the API)" }
                textarea #inv-text name="text" rows="6" { (invitations.text.as_deref().unwrap_or("")) }
                p { button type="submit" { "Save invitation mail" } }
            }
        }
        section.panel aria-labelledby="auth-h" {
            h2 #auth-h { "Passwords and sessions" }
            form method="post" action="/console/settings/auth" {
                (layout::csrf(console))
                div.grid2 {
                    div {
                        label for="a-min" { "Shortest password (characters; empty for the default)" }
                        input #a-min name="min_password_length" inputmode="numeric" value=(number(auth.min_password_length));
                        label.inline {
                            input type="checkbox" name="check_common_passwords" value="on" checked[auth.check_common_passwords == Some(true)];
                            "Refuse common passwords"
                        }
                    }
                    div {
                        label for="a-idle" { "A session ends after this many idle minutes" }
                        input #a-idle name="session_idle_minutes" inputmode="numeric" value=(number(auth.session_idle_minutes));
                        label for="a-life" { "A session ends after this many hours at most" }
                        input #a-life name="session_lifetime_hours" inputmode="numeric" value=(number(auth.session_lifetime_hours));
                        label for="a-policy" { "When a user is at its sessions limit" }
                        select #a-policy name="session_limit_policy" {
                            option value="evict_oldest" selected[evict] { "end its oldest session" }
                            option value="refuse" selected[!evict] { "refuse the new sign-in" }
                        }
                    }
                }
                p { button type="submit" { "Save password and session rules" } }
            }
        }
        section.panel aria-labelledby="limits-h" {
            h2 #limits-h { "Rate limit and audit retention" }
            form method="post" action="/console/settings/limits" {
                (layout::csrf(console))
                label for="l-rate" { "Requests per minute per credential (empty for the server's default)" }
                input #l-rate name="rate_limit_per_minute" inputmode="numeric" value=(number(ws.rate_limit_per_minute));
                label for="l-days" { "Audit events are kept for (days)" }
                input #l-days name="audit_retention_days" inputmode="numeric" value=(ws.audit_retention_days) required;
                p { button type="submit" { "Save limits" } }
            }
        }
    };
    console.page("Settings", Nav::Settings, body)
}

/// A form's optional number: empty is none; anything else must be a whole number.
fn optional_number(field: &str, text: &str) -> Result<Option<u32>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| format!("{field} must be a whole number."))
}

#[derive(Debug, Default, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    roles: String,
    #[serde(default)]
    expiry_hours: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    min_password_length: String,
    check_common_passwords: Option<String>,
    #[serde(default)]
    session_idle_minutes: String,
    #[serde(default)]
    session_lifetime_hours: String,
    #[serde(default)]
    session_limit_policy: String,
    #[serde(default)]
    rate_limit_per_minute: String,
    #[serde(default)]
    audit_retention_days: String,
}

/// One section's change: the core call it maps to.
async fn apply(
    state: &AppState,
    console: &Console,
    section: &str,
    form: SettingsForm,
) -> Result<&'static str, String> {
    let (roster, ws, ctx) = (&state.roster, &console.workspace, console.audit());
    let text = |t: &str| Some(t.trim().to_owned()).filter(|t| !t.is_empty());
    let done = match section {
        "roles" => {
            let roles: Vec<String> = form.roles.split_whitespace().map(str::to_owned).collect();
            roster
                .set_roles(ws, ctx, &roles)
                .await
                .map(|_| "The roles were saved.")
        }
        "invitations" => {
            let settings = InvitationSettings {
                expiry_hours: optional_number("The invitation's hours", &form.expiry_hours)?,
                subject: text(&form.subject),
                text: text(&form.text),
            };
            let saved = roster.set_invitation_settings(ws, ctx, settings).await;
            saved.map(|_| "The invitation mail was saved.")
        }
        "auth" => {
            let settings = AuthSettings {
                min_password_length: optional_number(
                    "The shortest password",
                    &form.min_password_length,
                )?,
                check_common_passwords: Some(form.check_common_passwords.is_some()),
                session_idle_minutes: optional_number(
                    "The idle minutes",
                    &form.session_idle_minutes,
                )?,
                session_lifetime_hours: optional_number(
                    "The lifetime",
                    &form.session_lifetime_hours,
                )?,
                session_limit_policy: Some(match form.session_limit_policy.as_str() {
                    "refuse" => LimitPolicy::Refuse,
                    _ => LimitPolicy::EvictOldest,
                }),
            };
            let saved = roster.set_auth_settings(ws, ctx, settings).await;
            saved.map(|_| "The password and session rules were saved.")
        }
        "limits" => {
            let rate = optional_number("The rate limit", &form.rate_limit_per_minute)?;
            let days = optional_number("The retention", &form.audit_retention_days)?
                .ok_or("The retention (days) is required.")?;
            match roster.set_workspace_rate_limit(ws, ctx, rate).await {
                Ok(updated) => roster
                    .set_audit_retention(&updated, ctx, days)
                    .await
                    .map(|_| "The limits were saved."),
                Err(err) => Err(err),
            }
        }
        _ => return Err("There is no such settings section.".to_owned()),
    };
    done.map_err(|err| err.message)
}

pub async fn save(
    State(state): State<AppState>,
    console: Console,
    Path(section): Path<String>,
    Form(form): Form<SettingsForm>,
) -> Response {
    match apply(&state, &console, &section, form).await {
        Ok(said) => {
            Redirect::to(&format!("/console/settings?saved={}", urlencoded(said))).into_response()
        }
        Err(failed) => {
            (StatusCode::BAD_REQUEST, page(&console, None, Some(&failed))).into_response()
        }
    }
}

fn urlencoded(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[derive(Debug, Default, Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

/// The page, saying what the last save did (only the texts this module writes are shown).
pub async fn index(
    console: Console,
    axum::extract::Query(query): axum::extract::Query<SavedQuery>,
) -> Markup {
    const SAID: &[&str] = &[
        "The roles were saved.",
        "The invitation mail was saved.",
        "The password and session rules were saved.",
        "The limits were saved.",
    ];
    let said = query
        .saved
        .as_deref()
        .and_then(|s| SAID.iter().find(|t| **t == s).copied());
    page(&console, said, None)
}
