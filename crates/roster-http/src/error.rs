//! The native error envelope (seed 002):
//! `{"error": {"code", "message", "status", "request_id"}}`, plus `field` when one input
//! field is at fault.
//!
//! Core errors keep their codes ([`roster_core::Code`]) and get their status from their
//! kind. The codes only HTTP can produce are in [`HttpCode`], the one table of them.
//! Internal failures are logged with their detail and answered with a bare 500.

use std::any::Any;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_core::ErrorKind;
use serde::Serialize;
use utoipa::ToSchema;

use crate::request_id;

macro_rules! http_codes {
    ($($variant:ident => $text:literal, $status:ident, $message:literal;)*) => {
        /// Error codes produced by the HTTP layer itself.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum HttpCode { $($variant),* }

        impl HttpCode {
            pub const ALL: &'static [HttpCode] = &[$(HttpCode::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(HttpCode::$variant => $text),* }
            }

            pub fn status(self) -> StatusCode {
                match self { $(HttpCode::$variant => StatusCode::$status),* }
            }

            /// The message used when no more specific one is given.
            pub fn message(self) -> &'static str {
                match self { $(HttpCode::$variant => $message),* }
            }
        }
    };
}

http_codes! {
    MissingApiKey => "missing_api_key", UNAUTHORIZED,
        "No API key was provided; send it as 'Authorization: Bearer sk_live_...'.";
    InvalidApiKey => "invalid_api_key", UNAUTHORIZED,
        "The provided API key is invalid or has been revoked.";
    InvalidJson => "invalid_json", BAD_REQUEST,
        "The request body is not valid JSON.";
    InvalidBody => "invalid_body", BAD_REQUEST,
        "The request body does not have the expected fields and types.";
    InvalidParameter => "invalid_parameter", BAD_REQUEST,
        "A query parameter is malformed.";
    InvalidPath => "invalid_path", BAD_REQUEST,
        "The path holds a NUL character or is not UTF-8 once percent-decoded.";
    UriTooLong => "uri_too_long", URI_TOO_LONG,
        "The request URI is too long.";
    HeadersTooLarge => "headers_too_large", REQUEST_HEADER_FIELDS_TOO_LARGE,
        "The request headers are too large.";
    PayloadTooLarge => "payload_too_large", PAYLOAD_TOO_LARGE,
        "The request body is too large.";
    RequestTimeout => "request_timeout", REQUEST_TIMEOUT,
        "The request body paused for longer than the server waits; send it again.";
    RouteNotFound => "route_not_found", NOT_FOUND,
        "No route matches this path.";
    MethodNotAllowed => "method_not_allowed", METHOD_NOT_ALLOWED,
        "This route does not accept this method.";
    InternalError => "internal_error", INTERNAL_SERVER_ERROR,
        "An internal error occurred; try again later.";
}

/// An error on its way to becoming a response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<&'static str>,
    /// Seconds, sent as `Retry-After`.
    retry_after: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable code.
    #[schema(example = "invalid_api_key")]
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
    /// The HTTP status, repeated.
    pub status: u16,
    /// The request's id, as in the `X-Request-Id` header.
    pub request_id: String,
    /// The input field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
}

impl ApiError {
    pub fn http(code: HttpCode) -> Self {
        Self {
            status: code.status(),
            code: code.as_str(),
            message: code.message().to_owned(),
            field: None,
            retry_after: None,
        }
    }

    /// The same error with another status and code (for answers the HTTP layer re-renders).
    pub fn with_status(mut self, status: StatusCode, code: &'static str) -> Self {
        self.status = status;
        self.code = code;
        self
    }

    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<HttpCode> for ApiError {
    fn from(code: HttpCode) -> Self {
        Self::http(code)
    }
}

/// The status of each kind of core error (the dialects differ only where their documents
/// say so: see [`crate::surface::Surface::status`]).
pub fn kind_status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Gone => StatusCode::GONE,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A core error as a client may see it, on whichever surface: the one place that decides
/// what is shown. An internal failure is logged here with its detail and shown as a bare
/// `internal_error`; an unavailable store keeps its code (`store_unavailable`) and its
/// `Retry-After`; everything else keeps its code, message and field. A store error never
/// becomes a validation error or a 404 on the way (the core maps it to its own code).
#[derive(Debug)]
pub struct Exposed {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
    pub field: Option<&'static str>,
    pub retry_after: Option<i64>,
}

pub fn expose(err: roster_core::Error) -> Exposed {
    match err.kind() {
        ErrorKind::Internal => {
            tracing::error!(code = err.code.as_str(), error = ?err, "request failed");
            Exposed {
                kind: ErrorKind::Internal,
                code: HttpCode::InternalError.as_str(),
                message: HttpCode::InternalError.message().to_owned(),
                field: None,
                retry_after: None,
            }
        }
        kind => {
            if kind == ErrorKind::Unavailable {
                tracing::warn!(error = ?err, "request failed: a dependency is unavailable");
            }
            Exposed {
                kind,
                code: err.code.as_str(),
                message: err.message,
                field: err.field,
                retry_after: err.retry_after,
            }
        }
    }
}

impl From<roster_core::Error> for ApiError {
    fn from(err: roster_core::Error) -> Self {
        let shown = expose(err);
        Self {
            status: crate::surface::Surface::Native.status(shown.kind),
            code: shown.code,
            message: shown.message,
            field: shown.field,
            retry_after: shown.retry_after,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let said = (self.code, self.message.clone());
        let body = ErrorEnvelope {
            error: ErrorBody {
                code: self.code,
                message: self.message,
                status: self.status.as_u16(),
                request_id: request_id::current().unwrap_or_default(),
                field: self.field,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Bearer realm="roster", Basic realm="roster""#),
            );
        }
        crate::surface::mark(response, crate::surface::Surface::Native, said.0, &said.1)
    }
}

/// `docs/errors.md`: every code, core and HTTP, with its meaning and its status on each
/// surface. Generated from the code tables; a test fails when the committed file differs.
pub fn document() -> String {
    use crate::surface::Surface;
    let surfaces = [
        Surface::Native,
        Surface::HumanApi,
        Surface::Holistics,
        Surface::Publica,
    ];
    let mut out = String::from(
        "# Error codes\n\n\
         Generated from `crates/roster-core/src/error.rs` and `crates/roster-http/src/error.rs` \
         (`UPDATE_ERRORS_DOC=1 cargo test -p roster-http errors_doc` refreshes it; a test fails \
         when it is out of date). Every code is stable: its meaning never changes.\n\n\
         Each surface answers in its own envelope:\n\n\
         - native `/v1`: `{\"error\": {\"code\", \"message\", \"status\", \"request_id\", \"field\"?}}`;\n\
         - Human API (`/api/v1/…`, `/v1/apps/…`): `{\"statusCode\", \"error\", \"message\", \"code\"}`;\n\
         - Holistics (`/users…`): `{\"errors\": [message]}` (the code is not shown);\n\
         - Publica.la (`/integration-api/…`): 422 `{\"CODE\": \"validation_error\", \"message\", \"errors\": {field: [message]}, \"code\"}`, \
         401 `{\"CODE\": \"unauthenticated\", \"message\": \"Unauthenticated.\", \"code\"}`, others `{\"CODE\": code, \"message\"}`.\n\n\
         429 and 503 answers carry `Retry-After` (seconds), 401 answers `WWW-Authenticate`. An \
         internal error is logged with its detail and answered `internal_error` with no detail.\n\n\
         ## Codes of the core\n\n\
         | code | meaning | native | Human API | Holistics | Publica.la |\n\
         | --- | --- | ---: | ---: | ---: | ---: |\n",
    );
    for code in roster_core::Code::ALL {
        let statuses: Vec<String> = surfaces
            .iter()
            .map(|s| s.status(code.kind()).as_u16().to_string())
            .collect();
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            code.as_str(),
            code.meaning(),
            statuses.join(" | ")
        ));
    }
    out.push_str(
        "\n## Codes of the HTTP layer\n\n\
         The same status on every surface.\n\n\
         | code | meaning | status |\n| --- | --- | ---: |\n",
    );
    for code in HttpCode::ALL {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            code.as_str(),
            code.message(),
            code.status().as_u16()
        ));
    }
    out
}

pub async fn route_not_found() -> ApiError {
    HttpCode::RouteNotFound.into()
}

pub async fn method_not_allowed() -> ApiError {
    HttpCode::MethodNotAllowed.into()
}

/// A panic in a handler is a bug: log it and answer a plain 500 in the envelope.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = detail, "handler panicked");
    ApiError::http(HttpCode::InternalError).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_codes_do_not_reuse_core_codes_differently() {
        for code in HttpCode::ALL {
            let clash = roster_core::Code::ALL
                .iter()
                .find(|c| c.as_str() == code.as_str());
            // A code both layers use must get the same status from both.
            if let Some(core) = clash {
                assert_eq!(kind_status(core.kind()), code.status(), "{}", code.as_str());
            }
        }
    }

    #[test]
    fn errors_doc_is_up_to_date() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/errors.md");
        let generated = document();
        if std::env::var("UPDATE_ERRORS_DOC").is_ok() {
            std::fs::write(path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/errors.md is out of date: run `UPDATE_ERRORS_DOC=1 cargo test -p roster-http errors_doc` and commit it"
        );
    }

    #[test]
    fn unauthenticated_responses_carry_a_challenge() {
        let response = ApiError::http(HttpCode::MissingApiKey).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
    }
}
