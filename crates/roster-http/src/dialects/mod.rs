//! The vendor dialects: each seed's user admin API at its documented paths, as a thin
//! adapter over the same core operations as the native API. Each module documents its
//! mapping (ids, fields, statuses), carries credentials its own way and answers errors in its
//! own format; none holds a business rule. Each can be switched off ([`Dialects`]).

/// A dialect's error: a core error, answered in the dialect's envelope by the type's own
/// `IntoResponse`.
macro_rules! dialect_error {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name(roster_core::Error);

        impl From<roster_core::Error> for $name {
            fn from(err: roster_core::Error) -> Self {
                Self(err)
            }
        }
    };
}

/// A dialect's authenticated caller, found by `$find` (an async call with `parts` and
/// `state` in scope) and refused with the dialect's error.
macro_rules! dialect_caller {
    ($(#[$doc:meta])* $name:ident, $error:ty, |$parts:ident, $state:ident| $find:expr) => {
        $(#[$doc])*
        pub struct $name(crate::auth::Caller);

        impl axum::extract::FromRequestParts<crate::AppState> for $name {
            type Rejection = $error;

            async fn from_request_parts(
                $parts: &mut axum::http::request::Parts,
                $state: &crate::AppState,
            ) -> Result<Self, $error> {
                Ok(Self($find.await?))
            }
        }
    };
}

pub mod holistics;
pub mod human_api_admin;
pub mod human_api_app;
mod lenient;
pub mod publica;

use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use futures_util::StreamExt;
use roster_core::{Code, Page, Roster, User, UserFilter, Workspace};
use serde_json::json;

use crate::auth::{self, Caller};
use crate::surface::Surface;
use crate::AppState;

/// Which dialects are served (all by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialects {
    pub human_api_admin: bool,
    pub human_api_app: bool,
    pub holistics: bool,
    pub publica: bool,
}

impl Default for Dialects {
    fn default() -> Self {
        Self {
            human_api_admin: true,
            human_api_app: true,
            holistics: true,
            publica: true,
        }
    }
}

impl Dialects {
    /// The routes of the dialects switched on.
    pub fn routes(self) -> Router<AppState> {
        let mut router = Router::new();
        if self.human_api_admin {
            router = router.merge(human_api_admin::routes());
        }
        if self.human_api_app {
            router = router.merge(human_api_app::routes());
        }
        if self.holistics {
            router = router.merge(holistics::routes());
        }
        if self.publica {
            router = router.merge(publica::routes());
        }
        router
    }
}

/// Every live user of `workspace`, newest first, as one streamed JSON array of `item(user)`:
/// the seeds' list calls return plain arrays, with no pages.
pub(crate) async fn json_array<F>(
    roster: Roster,
    workspace: Workspace,
    item: F,
) -> roster_core::Result<Response>
where
    F: Fn(User) -> serde_json::Value + Send + Sync + 'static,
{
    let item = std::sync::Arc::new(item);
    json_array_of_pages(move |cursor| {
        let (roster, workspace, item) = (roster.clone(), workspace.clone(), item.clone());
        async move {
            let page = Page {
                limit: Some(roster_core::listing::MAX_LIMIT),
                cursor,
            };
            let found = roster
                .list_users(&workspace, &UserFilter::default(), &page)
                .await?;
            let items = found.users.into_iter().map(|u| item(u)).collect();
            Ok((items, found.next_cursor.map(|c| c.encode())))
        }
    })
    .await
}

/// One streamed JSON array of every item of every page: `fetch(cursor)` reads a page of
/// items and the cursor of the next (none after the last). The first page is read before
/// the answer starts, so a store that cannot be read is an error status, not a truncated
/// 200.
pub(crate) async fn json_array_of_pages<F, Fut>(mut fetch: F) -> roster_core::Result<Response>
where
    F: FnMut(Option<String>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = roster_core::Result<(Vec<serde_json::Value>, Option<String>)>>
        + Send
        + 'static,
{
    let page = fetch(None).await?;
    let first = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let lines = roster_core::transfer::pages::lines(
        b"[".to_vec(),
        Some(page),
        fetch,
        move |item: serde_json::Value| {
            let mut line = if first.swap(false, std::sync::atomic::Ordering::Relaxed) {
                Vec::new()
            } else {
                b",".to_vec()
            };
            // A JSON value always serializes.
            line.extend(serde_json::to_vec(&item).unwrap_or_default());
            line
        },
    );
    let end = futures_util::stream::once(async { Ok(b"]".to_vec()) });
    let body = crate::paged::body(lines.chain(end));
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}

dialect_error!(
    /// The error format of seeds 000 and 001 (both Human API products):
    /// `{"statusCode": 404, "error": "Not Found", "message": "…", "code": "user_not_found"}` —
    /// the HTTP reason phrase as `error`, Roster's stable code as `code`.
    HumanApiError
);

impl IntoResponse for HumanApiError {
    fn into_response(self) -> Response {
        let shown = crate::error::expose(self.0);
        let status = Surface::HumanApi.status(shown.kind);
        human_api_response(status, shown.code, shown.message, shown.retry_after)
    }
}

/// A Human API error response (seeds 000 and 001).
pub(crate) fn human_api_response(
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<i64>,
) -> Response {
    let body = json!({
        "statusCode": status.as_u16(),
        "error": status.canonical_reason().unwrap_or("Error"),
        "message": message,
        "code": code,
    });
    let mut response = (status, Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Bearer realm="roster", Basic realm="roster""#),
        );
    }
    let response = with_retry_after(response, retry_after);
    crate::surface::mark(response, crate::surface::Surface::HumanApi, code, &message)
}

/// The caller of a Human API dialect: the `Authorization` credential (Bearer, or Basic with
/// a blank password) authenticated and admitted by the core.
pub(crate) async fn human_api_caller(
    parts: &Parts,
    state: &AppState,
    missing: &'static str,
) -> Result<Caller, HumanApiError> {
    let credential = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(auth::presented_credential)
        .ok_or_else(|| roster_core::Error::new(Code::InvalidApiKey, missing))?;
    Ok(auth::admit(state, &credential, parts).await?)
}

/// An invalid-input error about `field`, for the dialects' own checks.
pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> roster_core::Error {
    roster_core::Error::field(Code::InvalidField, field, message)
}

/// A request body as the seeds write them (comments, trailing commas, bare keys), as a JSON
/// object; an empty body is an empty object.
pub(crate) fn body_object(
    bytes: &[u8],
) -> Result<serde_json::Map<String, serde_json::Value>, roster_core::Error> {
    let text = std::str::from_utf8(bytes).map_err(|_| invalid("body", "The body is not UTF-8."))?;
    if text.trim().is_empty() {
        return Ok(serde_json::Map::new());
    }
    if roster_core::transfer::format::json_holds_nul(bytes) {
        return Err(invalid(
            "body",
            "The body holds a NUL character, which no field accepts.",
        ));
    }
    match serde_json::from_str(&lenient::clean(text)) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid("body", "The body must be a JSON object.")),
        Err(e) => Err(invalid("body", format!("The body is not valid JSON: {e}"))),
    }
}

/// The caller whose secret key is in the `header` (seed 003's `X-Holistics-Key`, seed 004's
/// `X-User-Token`), authenticated and admitted by the core.
pub(crate) async fn header_key_caller(
    parts: &Parts,
    state: &AppState,
    header: &'static str,
    missing: &'static str,
) -> Result<Caller, roster_core::Error> {
    let key = parts
        .headers
        .get(header)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| roster_core::Error::new(Code::InvalidApiKey, missing))?;
    auth::admit(state, key, parts).await
}

/// `response` with `Retry-After` when `err` says when to retry.
pub(crate) fn with_retry_after(mut response: Response, retry_after: Option<i64>) -> Response {
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}
