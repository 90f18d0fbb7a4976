//! Which surface a request is for, and the guard every request passes through first.
//!
//! Each surface answers in its own envelope: the native `{"error": {…}}`, the Human API
//! dialects' `{"statusCode", "error", "message", "code"}`, Holistics' `{"errors": […]}`,
//! Publica.la's `{"CODE", "message"}`. Handlers and extractors of a surface build those
//! envelopes themselves and mark the response ([`Enveloped`]). [`guard`] makes the rest
//! true for everything else:
//!
//! - input refused before any handler runs, in the surface's envelope: a URI longer than
//!   [`MAX_URI_BYTES`] (414), headers larger than [`MAX_HEADER_BYTES`] (431), a NUL anywhere
//!   in the path or query, raw or percent-encoded, or a path that is not UTF-8 once decoded
//!   (400 `invalid_path` / `invalid_parameter`), a `Content-Length` over the body limit (413,
//!   answered before the body is read, so `Expect: 100-continue` gets no `100 Continue`);
//! - a response the framework made (an extractor's plain-text rejection, an unrouted path
//!   under a dialect's prefix answered by the native fallback) is re-rendered in the
//!   surface's envelope, keeping its status;
//! - every response to an authenticated request carries the rate-limit headers, whichever
//!   surface authenticated it.

use std::sync::{Arc, Mutex};

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use roster_core::{ErrorKind, RateDecision};

use crate::dialects::Dialects;
use crate::error::{ApiError, HttpCode};
use crate::AppState;

/// The longest request target (path and query) accepted.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header bytes (names and values) accepted.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// The surfaces, as far as errors are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// The native `/v1` API (and everything not claimed by a dialect).
    Native,
    /// Human API's admin API (`/api/v1/…`) and application API (`/v1/apps/…`).
    HumanApi,
    /// Holistics' user API (`/users.json`, `/users/…`).
    Holistics,
    /// Publica.la's integration API (`/integration-api/…`).
    Publica,
    /// SCIM 2.0 (`/scim/v2/…`), always on.
    Scim,
    /// The web console (`/console/…`): HTML pages, its own error pages.
    Console,
}

impl Surface {
    /// The surface that serves `path`, among the dialects switched on.
    pub fn of(path: &str, dialects: Dialects) -> Self {
        let under = |prefix: &str| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        if under(crate::scim::PREFIX) {
            Surface::Scim
        } else if under(crate::console::PREFIX) {
            Surface::Console
        } else if (dialects.human_api_admin && under("/api/v1"))
            || (dialects.human_api_app && under("/v1/apps"))
        {
            Surface::HumanApi
        } else if dialects.holistics && (path == "/users.json" || under("/users")) {
            Surface::Holistics
        } else if dialects.publica && under("/integration-api") {
            Surface::Publica
        } else {
            Surface::Native
        }
    }

    /// The status of a core error of `kind` on this surface. Holistics answers invalid input
    /// and conflicts 422, Publica.la invalid input 422 (Laravel's validation errors), as
    /// their documents show; otherwise every surface answers alike.
    pub fn status(self, kind: ErrorKind) -> StatusCode {
        match (self, kind) {
            (Surface::Holistics, ErrorKind::Invalid | ErrorKind::Conflict)
            | (Surface::Publica, ErrorKind::Invalid) => StatusCode::UNPROCESSABLE_ENTITY,
            _ => crate::error::kind_status(kind),
        }
    }

    /// An error the HTTP layer found, in this surface's envelope, with `status` kept.
    pub fn error(self, status: StatusCode, code: &'static str, message: String) -> Response {
        match self {
            Surface::Native => ApiError::http(HttpCode::InternalError)
                .with_status(status, code)
                .with_message(message)
                .into_response(),
            Surface::HumanApi => crate::dialects::human_api_response(status, code, message, None),
            Surface::Holistics => crate::dialects::holistics::response(status, code, message, None),
            Surface::Publica => {
                crate::dialects::publica::response(status, code, message, None, None)
            }
            Surface::Scim => crate::scim::response(status, code, message),
            Surface::Console => crate::console::error_page(status, message),
        }
    }
}

/// The mark of a response already in a surface's envelope, with what it said (so it can
/// be said again in another surface's).
#[derive(Debug, Clone)]
pub struct Enveloped {
    pub surface: Surface,
    pub code: &'static str,
    pub message: String,
}

/// `response`, marked as in `surface`'s envelope.
pub fn mark(
    mut response: Response,
    surface: Surface,
    code: &'static str,
    message: &str,
) -> Response {
    response.extensions_mut().insert(Enveloped {
        surface,
        code,
        message: message.to_owned(),
    });
    response
}

/// Where the credential check of a request leaves its rate decision, for [`guard`] to put
/// in the response's headers.
#[derive(Debug, Clone, Default)]
pub struct RateSlot(Arc<Mutex<Option<RateDecision>>>);

impl RateSlot {
    pub fn put(&self, decision: RateDecision) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(decision);
    }

    fn take(&self) -> Option<RateDecision> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// What [`guard`] needs: the dialects switched on, and the core (for the clock).
#[derive(Clone)]
pub struct GuardState {
    pub dialects: Dialects,
    pub app: AppState,
}

/// Whether `text` (a path or query as sent) holds a NUL, raw or percent-encoded.
fn has_nul(text: &str) -> bool {
    text.contains('\0') || text.as_bytes().windows(3).any(|w| w == b"%00")
}

/// Whether `path` decodes to UTF-8, as the router's path parameters must.
fn path_is_utf8(path: &str) -> bool {
    percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .is_ok()
}

/// The refusal of a request no handler should see, if it is one.
fn refusal(request: &Request) -> Option<(StatusCode, &'static str, String)> {
    let uri = request.uri();
    let target = uri.path_and_query().map_or("", |pq| pq.as_str());
    if target.len() > MAX_URI_BYTES {
        return Some((
            StatusCode::URI_TOO_LONG,
            HttpCode::UriTooLong.as_str(),
            format!("The request URI is longer than {MAX_URI_BYTES} bytes."),
        ));
    }
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return Some((
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            HttpCode::HeadersTooLarge.as_str(),
            format!("The request headers are larger than {MAX_HEADER_BYTES} bytes."),
        ));
    }
    if has_nul(uri.path()) || !path_is_utf8(uri.path()) {
        return Some((
            StatusCode::BAD_REQUEST,
            HttpCode::InvalidPath.as_str(),
            HttpCode::InvalidPath.message().to_owned(),
        ));
    }
    if uri.query().is_some_and(has_nul) {
        return Some((
            StatusCode::BAD_REQUEST,
            HttpCode::InvalidParameter.as_str(),
            "A query parameter holds a NUL character.".to_owned(),
        ));
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let limit = crate::body_limit(uri.path());
    if let Some(limit) = limit.filter(|l| declared.is_some_and(|len| len > *l as u64)) {
        return Some((
            StatusCode::PAYLOAD_TOO_LARGE,
            HttpCode::PayloadTooLarge.as_str(),
            format!("The request body is larger than {limit} bytes."),
        ));
    }
    None
}

/// The code of a framework response of `status`.
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => HttpCode::RouteNotFound.as_str(),
        StatusCode::METHOD_NOT_ALLOWED => HttpCode::MethodNotAllowed.as_str(),
        StatusCode::PAYLOAD_TOO_LARGE => HttpCode::PayloadTooLarge.as_str(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => {
            HttpCode::InvalidParameter.as_str()
        }
        s if s.is_server_error() => HttpCode::InternalError.as_str(),
        _ => "request_refused",
    }
}

/// The guard: refuse what no handler should see, re-render framework answers in the
/// surface's envelope, add the rate-limit headers.
pub async fn guard(State(state): State<GuardState>, mut request: Request, next: Next) -> Response {
    let surface = Surface::of(request.uri().path(), state.dialects);
    if let Some((status, code, message)) = refusal(&request) {
        let refused = surface.error(status, code, message);
        if surface == Surface::Console {
            return crate::console::with_security_headers(refused);
        }
        return refused;
    }
    let slot = RateSlot::default();
    request.extensions_mut().insert(slot.clone());
    let response = next.run(request).await;
    let mut response = match response.extensions().get::<Enveloped>().cloned() {
        Some(said) if said.surface == surface => response,
        Some(said) => {
            let status = response.status();
            surface.error(status, said.code, said.message)
        }
        // The console renders its own error pages.
        None if surface == Surface::Console => response,
        None if response.status().is_client_error() || response.status().is_server_error() => {
            reenvelope(surface, response).await
        }
        None => response,
    };
    if surface == Surface::Console {
        response = crate::console::with_security_headers(response);
    }
    if let Some(decision) = slot.take() {
        let now = state.app.roster.now().timestamp();
        for (name, value) in crate::auth::rate_headers(&decision, now) {
            response
                .headers_mut()
                .insert(header::HeaderName::from_static(name), value);
        }
    }
    response
}

/// A framework's plain answer, in `surface`'s envelope: its status kept, its text (a short
/// one, never a type name) as the message.
async fn reenvelope(surface: Surface, response: Response) -> Response {
    let status = response.status();
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let text = to_bytes(response.into_body(), 4 * 1024)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty() && t.len() < 400)
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("Error").to_owned());
    let mut answer = surface.error(status, code_of(status), text);
    if let Some(value) = retry_after {
        answer.headers_mut().insert(header::RETRY_AFTER, value);
    }
    answer
}
