//! The console's page shell and the small pieces every page uses.

use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{html, Markup, DOCTYPE};

use super::session::{Console, CSRF_FIELD};

/// The sections in the navigation bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Users,
    Groups,
    Import,
    Keys,
    Clients,
    Audit,
    Outbox,
    Settings,
}

const NAV: &[(Nav, &str, &str)] = &[
    (Nav::Users, "/console/users", "Users"),
    (Nav::Groups, "/console/groups", "Groups"),
    (Nav::Import, "/console/import", "Import & export"),
    (Nav::Keys, "/console/keys", "API keys"),
    (Nav::Clients, "/console/clients", "API clients"),
    (Nav::Audit, "/console/audit", "Audit log"),
    (Nav::Outbox, "/console/outbox", "Outbox"),
    (Nav::Settings, "/console/settings", "Settings"),
];

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="color-scheme" content="light dark";
            // No inline styles from htmx (the CSP forbids them) and no eval.
            meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}"#;
            title { (title) " · Roster" }
            link rel="stylesheet" href=(super::assets::href("console.css"));
            script src=(super::assets::href("htmx.min.js")) defer {}
            script src=(super::assets::href("console.js")) defer {}
        }
    }
}

/// A page without the navigation (sign-in, setup, errors).
pub fn bare(title: &str, body: &Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.bare {
                main.narrow {
                    p.brand { "Roster" }
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A signed-in page: the navigation, the workspace switcher, sign-out, and `body`.
pub fn page(console: &Console, title: &str, active: Nav, body: Markup) -> Markup {
    let headers = format!(r#"{{"X-CSRF-Token": "{}"}}"#, console.csrf);
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body hx-headers=(headers) {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    span.brand { "Roster" }
                    nav aria-label="Sections" {
                        ul {
                            @for (nav, href, label) in NAV {
                                li {
                                    a href=(href) aria-current=[(*nav == active).then_some("page")] { (label) }
                                }
                            }
                        }
                    }
                    div.who {
                        (workspace_switcher(console))
                        span.me { (console.admin.user.email) }
                        form method="post" action="/console/signout" {
                            (csrf(console))
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main #main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

fn workspace_switcher(console: &Console) -> Markup {
    if !console.admin.workspace.is_operator {
        return html! { span.ws { (console.workspace.name) } };
    }
    html! {
        form.ws method="post" action="/console/workspace" {
            (csrf(console))
            label for="ws-switch" { "Workspace" }
            input #ws-switch name="workspace" value=(console.workspace.name) size="12"
                autocomplete="off";
            button type="submit" { "Switch" }
        }
    }
}

/// The hidden CSRF field of a form.
pub fn csrf(console: &Console) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(console.csrf); }
}

/// A problem, in words, where it happened.
pub fn problem(message: &str) -> Markup {
    html! { p.problem role="alert" { (message) } }
}

/// Something that went well.
pub fn notice(message: &str) -> Markup {
    html! { p.notice role="status" { (message) } }
}

/// A core error as a page: its status, its message.
pub fn error_response(err: &roster_core::Error) -> Response {
    let status = crate::error::kind_status(err.kind());
    let title = match err.kind() {
        roster_core::ErrorKind::NotFound => "Not found",
        roster_core::ErrorKind::Gone => "Gone",
        roster_core::ErrorKind::Forbidden => "Not allowed",
        roster_core::ErrorKind::Unavailable => "Unavailable",
        _ => "Something went wrong",
    };
    let body = html! {
        (problem(&err.message))
        p { a href="/console/users" { "Back to the users" } }
    };
    (status, bare(title, &body)).into_response()
}

/// A time as the console shows it (UTC, to the minute), in a `<time>` element.
pub fn time(at: DateTime<Utc>) -> Markup {
    html! { time datetime=(at.to_rfc3339()) { (at.format("%Y-%m-%d %H:%M")) } }
}

/// An optional time, or a dash.
pub fn maybe_time(at: Option<DateTime<Utc>>) -> Markup {
    match at {
        Some(at) => time(at),
        None => html! { span.muted { "—" } },
    }
}

/// A number with thousands separators.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A status badge.
pub fn status_badge(status: &str, deleted: bool) -> Markup {
    let (class, text) = if deleted {
        ("badge deleted", "deleted")
    } else {
        (
            match status {
                "active" => "badge active",
                "invited" => "badge invited",
                _ => "badge inactive",
            },
            status,
        )
    };
    html! { span class=(class) { (text) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_000_000), "1,000,000");
        assert_eq!(count(12_345_678), "12,345,678");
    }
}
