//! Who is at the console: the session cookie, the CSRF token, the security headers, and
//! [`Console`], the signed-in admin a page acts as.

use axum::body::{to_bytes, Body};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use roster_core::console::ConsoleAdmin;
use roster_core::{Actor, AuditContext, Workspace};
use sha2::{Digest, Sha256};

use super::layout;
use crate::AppState;

/// The session cookie: a sign-in session token of the core.
pub const SESSION_COOKIE: &str = "roster_console";
/// Before sign-in: a random value the sign-in and setup forms repeat (double submit).
pub const PRE_COOKIE: &str = "roster_pre";
/// The workspace an operator admin is looking at (its public id; not a secret).
pub const WORKSPACE_COOKIE: &str = "roster_ws";
/// The header htmx sends the CSRF token in.
const CSRF_HEADER: &str = "x-csrf-token";
/// The form field that carries it.
pub const CSRF_FIELD: &str = "csrf";
/// The largest form body read to find the CSRF field.
const MAX_FORM_BYTES: usize = 256 * 1024;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The value of cookie `name` in a request's headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

/// A `Set-Cookie` value for a console cookie (`None` clears it).
pub fn set_cookie(name: &str, value: Option<&str>, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = match value {
        Some(value) => format!("{name}={value}; Path=/console; HttpOnly; SameSite=Strict{secure}"),
        None => format!("{name}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The CSRF token of a session: derived from its token, so it needs no storage and dies
/// with the session; it reveals nothing of the token.
pub fn csrf_of_session(session_token: &str) -> String {
    let digest = Sha256::digest(format!("roster-console-csrf\0{session_token}").as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..24])
}

/// The forms that come before a session: they repeat the pre-session cookie, whatever
/// session cookie (an expired one, say) the browser still sends.
const BEFORE_SESSION: &[&str] = &["/console/signin", "/console/setup"];

/// The CSRF token a request to `path` must carry: the pre-session cookie's value for the
/// forms before a session, else its session's.
fn expected_csrf(headers: &HeaderMap, path: &str) -> Option<String> {
    if BEFORE_SESSION.contains(&path) {
        return cookie(headers, PRE_COOKIE).map(str::to_owned);
    }
    cookie(headers, SESSION_COOKIE).map(csrf_of_session)
}

/// Equal, in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// `request` if it carries the CSRF token it must (re-built, when its form was read to find
/// it); `None` if it does not.
async fn check_csrf(request: Request) -> Option<Request> {
    let expected = expected_csrf(request.headers(), request.uri().path())?;
    if let Some(sent) = request.headers().get(CSRF_HEADER) {
        let sent = sent.to_str().ok()?;
        return same(sent, &expected).then_some(request);
    }
    let is_form = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return None;
    }
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, MAX_FORM_BYTES).await.ok()?;
    let carried = form_urlencoded::parse(&bytes)
        .any(|(key, value)| key == CSRF_FIELD && same(&value, &expected));
    carried.then(|| Request::from_parts(parts, Body::from(bytes)))
}

/// The answer to a state-changing request without its CSRF token.
fn csrf_refused() -> Response {
    let message = "This form did not come from this console session (or the session changed). Reload the page and try again.";
    (
        StatusCode::FORBIDDEN,
        layout::bare("Refused", &layout::problem(message)),
    )
        .into_response()
}

/// Every state-changing console request must carry its CSRF token. (The security headers
/// go on every console answer in [`crate::surface::guard`].)
pub async fn protect(State(_): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    match check_csrf(request).await {
        Some(request) => next.run(request).await,
        None => csrf_refused(),
    }
}

/// The console's security headers on `response` (also on answers no console route made:
/// an unknown page, a refused request; [`crate::surface::guard`] adds them there).
pub fn with_security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        ("content-security-policy", CSP),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The signed-in admin a console page acts as, in the workspace it looks at.
pub struct Console {
    pub admin: ConsoleAdmin,
    /// The workspace acted in (the admin's own, or one an operator admin switched to).
    pub workspace: Workspace,
    pub csrf: String,
    audit: AuditContext,
}

impl Console {
    /// Who changes things, for the audit log: the admin, through this request.
    pub fn audit(&self) -> &AuditContext {
        &self.audit
    }

    /// The shell of a page for this admin.
    pub fn page(&self, title: &str, active: layout::Nav, body: maud::Markup) -> maud::Markup {
        layout::page(self, title, active, body)
    }
}

/// Where a request without a usable session goes: the sign-in page (htmx is told to load it
/// as a whole page).
pub struct SignInFirst {
    next: String,
    htmx: bool,
}

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        let target = format!(
            "/console/signin?next={}",
            percent_encoding::utf8_percent_encode(&self.next, percent_encoding::NON_ALPHANUMERIC)
        );
        if self.htmx {
            let mut response = StatusCode::NO_CONTENT.into_response();
            if let Ok(value) = HeaderValue::from_str(&target) {
                response.headers_mut().insert("hx-redirect", value);
            }
            return response;
        }
        Redirect::to(&target).into_response()
    }
}

impl FromRequestParts<AppState> for Console {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let sign_in_first = || {
            let next = if parts.method == Method::GET {
                parts
                    .uri
                    .path_and_query()
                    .map_or("/console/users", |p| p.as_str())
            } else {
                "/console/users"
            };
            SignInFirst {
                next: next.to_owned(),
                htmx: parts.headers.contains_key("hx-request"),
            }
            .into_response()
        };
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE).map(str::to_owned) else {
            return Err(sign_in_first());
        };
        let token = token.as_str();
        let admin = match state.roster.console_admin(token).await {
            Ok(admin) => admin,
            Err(err) if err.kind() == roster_core::ErrorKind::Unavailable => {
                return Err(layout::error_response(&err));
            }
            Err(_) => return Err(sign_in_first()),
        };
        let chosen = cookie(&parts.headers, WORKSPACE_COOKIE).map(str::to_owned);
        let chosen = chosen.as_deref();
        let workspace = match state.roster.console_workspace(&admin, chosen).await {
            Ok(workspace) => workspace,
            Err(_) => admin.workspace.clone(),
        };
        let origin = crate::auth::RequestOrigin::from_request_parts(parts, state)
            .await
            .map_or_else(|never| match never {}, |origin| origin.0);
        let audit = AuditContext {
            actor: Actor::User {
                user_id: admin.user.id.clone(),
            },
            ..origin
        };
        Ok(Self {
            csrf: csrf_of_session(token),
            admin,
            workspace,
            audit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("roster_pre=abc; roster_console=ses_x; other=1"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("ses_x"));
        assert_eq!(cookie(&headers, PRE_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "roster"), None);
    }

    #[test]
    fn the_csrf_token_is_the_sessions_own() {
        assert_eq!(csrf_of_session("ses_a"), csrf_of_session("ses_a"));
        assert_ne!(csrf_of_session("ses_a"), csrf_of_session("ses_b"));
        assert!(!csrf_of_session("ses_a").contains("ses_a"));
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }
}
