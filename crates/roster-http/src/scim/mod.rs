//! SCIM 2.0 (RFC 7643 resources, RFC 7644 protocol, RFC 9865 cursors) at `/scim/v2`: the
//! surface identity providers (Okta, Microsoft Entra ID, any RFC client) provision through.
//! A thin adapter like every other surface: it maps SCIM's resources, filters, PATCH
//! operations, versions and errors onto the core's operations and decides nothing.
//!
//! - Authentication: `Authorization: Bearer <secret key>` with the `scim` scope (or `admin`).
//! - Users ([`users`], mapping in [`user_resource`]), Groups ([`groups`]), Bulk ([`bulk`]),
//!   discovery ([`discovery`]); filters ([`filter`]) and PATCH ([`patch`]).
//! - Every answer is `application/scim+json`; requests may be `application/scim+json` or
//!   `application/json`.
//! - Errors are RFC 7644 §3.12 error resources ([`ScimError`]), `status` a string, with the
//!   `scimType` the RFC names for the cause.

pub mod bulk;
pub mod discovery;
pub mod filter;
pub mod groups;
mod list;
pub mod patch;
mod user_json;
pub mod user_resource;
pub mod users;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, ETAG, LOCATION, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use roster_core::{Code, ErrorKind, Scope};
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::surface::Surface;
use crate::AppState;

/// Where SCIM is mounted.
pub const PREFIX: &str = "/scim/v2";
/// The media type of every SCIM answer.
pub const MEDIA_TYPE: &str = "application/scim+json";
/// The largest request body SCIM accepts (a group PATCH of thousands of members, a bulk
/// request); advertised as the bulk `maxPayloadSize`.
pub const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;

pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The SCIM routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/scim/v2/ServiceProviderConfig",
            get(discovery::service_provider_config),
        )
        .route("/scim/v2/ResourceTypes", get(discovery::resource_types))
        .route("/scim/v2/ResourceTypes/{id}", get(discovery::resource_type))
        .route("/scim/v2/Schemas", get(discovery::schemas))
        .route("/scim/v2/Schemas/{id}", get(discovery::schema))
        .route(
            "/scim/v2/Users",
            get(list::list::<users::Users>).post(users::create),
        )
        .route("/scim/v2/Users/.search", post(list::search::<users::Users>))
        .route(
            "/scim/v2/Users/{id}",
            get(users::get)
                .put(users::replace)
                .patch(users::patch)
                .delete(users::delete),
        )
        .route(
            "/scim/v2/Groups",
            get(list::list::<groups::Groups>).post(groups::create),
        )
        .route(
            "/scim/v2/Groups/.search",
            post(list::search::<groups::Groups>),
        )
        .route(
            "/scim/v2/Groups/{id}",
            get(groups::get)
                .put(groups::replace)
                .patch(groups::patch)
                .delete(groups::delete),
        )
        .route("/scim/v2/Bulk", post(bulk::bulk))
        .route("/scim/v2/.search", post(search_all))
}

/// `POST /.search` (RFC 7644 §3.4.3): a search across Users and Groups, users first. A
/// filter naming an attribute only one type has matches nothing of the other.
async fn search_all(
    axum::extract::State(state): axum::extract::State<AppState>,
    ScimCaller(caller): ScimCaller,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let params = list::ListParams::from_body(&body)?;
    if params.cursor.is_some() {
        return Err(ScimError::bad(
            ScimType::InvalidCursor,
            "A search of every resource type pages by startIndex.",
        ));
    }
    let start = params.start_index.unwrap_or(1);
    let size = u64::from(params.page_size());
    // Each type's page covers the whole window up to this one's end.
    let window = list::ListParams {
        start_index: Some(1),
        count: Some(
            u32::try_from((start - 1 + size).min(u64::from(list::MAX_COUNT)))
                .unwrap_or(list::MAX_COUNT),
        ),
        ..params.clone()
    };
    let base = base_url(&headers);
    let mut resources = Vec::new();
    let mut total = 0;
    for outcome in [
        users::run_list(&state, &caller.workspace, window.clone(), &base)
            .await
            .and_then(users::UserPage::into_page),
        groups::run_list(&state, &caller.workspace, window, &base).await,
    ] {
        let page = match outcome {
            Ok(page) => page,
            Err(ScimError::Request {
                scim_type: Some(ScimType::InvalidFilter),
                ..
            }) if params
                .filter
                .as_deref()
                .is_some_and(|f| filter::parse(f).is_ok()) =>
            {
                continue
            }
            Err(err) => return Err(err),
        };
        total += page.total_results;
        resources.extend(page.resources);
    }
    let skip = usize::try_from(start - 1).unwrap_or(usize::MAX);
    let take = usize::try_from(size).unwrap_or(usize::MAX);
    let page = resources.into_iter().skip(skip).take(take).collect();
    Ok(scim_json(&list::response(page, total, Some(start), None)).into_response())
}

/// RFC 7644 §3.12's `scimType` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    /// RFC 9865: a cursor that is not valid (or no longer).
    InvalidCursor,
}

impl ScimType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidFilter => "invalidFilter",
            Self::TooMany => "tooMany",
            Self::Uniqueness => "uniqueness",
            Self::Mutability => "mutability",
            Self::InvalidSyntax => "invalidSyntax",
            Self::InvalidPath => "invalidPath",
            Self::NoTarget => "noTarget",
            Self::InvalidValue => "invalidValue",
            Self::InvalidVers => "invalidVers",
            Self::InvalidCursor => "invalidCursor",
        }
    }
}

/// A SCIM error: the core's, or one the surface found in the request (a bad filter, path,
/// body or version).
#[derive(Debug)]
pub enum ScimError {
    Core(roster_core::Error),
    Request {
        status: StatusCode,
        scim_type: Option<ScimType>,
        detail: String,
    },
}

impl From<roster_core::Error> for ScimError {
    fn from(err: roster_core::Error) -> Self {
        Self::Core(err)
    }
}

impl ScimError {
    /// A 400 with `scim_type`.
    pub fn bad(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::Request {
            status: StatusCode::BAD_REQUEST,
            scim_type: Some(scim_type),
            detail: detail.into(),
        }
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::Request {
            status: StatusCode::NOT_FOUND,
            scim_type: None,
            detail: detail.into(),
        }
    }

    pub fn precondition_failed() -> Self {
        Self::Request {
            status: StatusCode::PRECONDITION_FAILED,
            scim_type: None,
            detail: "The resource's version is not the one If-Match names.".into(),
        }
    }

    /// Status, `scimType`, detail and `Retry-After` as the client sees them.
    pub fn parts(self) -> (StatusCode, Option<ScimType>, String, Option<i64>) {
        match self {
            Self::Request {
                status,
                scim_type,
                detail,
            } => (status, scim_type, detail, None),
            Self::Core(err) => {
                let code = err.code;
                let shown = crate::error::expose(err);
                let (status, scim_type) = core_status(code, shown.kind);
                (status, scim_type, shown.message, shown.retry_after)
            }
        }
    }
}

/// The status and `scimType` of a core error.
fn core_status(code: Code, kind: ErrorKind) -> (StatusCode, Option<ScimType>) {
    match (code, kind) {
        (Code::VersionMismatch, _) => (StatusCode::PRECONDITION_FAILED, None),
        (Code::InvalidFilter, _) => (StatusCode::BAD_REQUEST, Some(ScimType::InvalidFilter)),
        (Code::InvalidCursor, _) => (StatusCode::BAD_REQUEST, Some(ScimType::InvalidCursor)),
        (
            Code::EmailTaken | Code::UserNameTaken | Code::ExternalIdTaken | Code::GroupNameTaken,
            _,
        ) => (StatusCode::CONFLICT, Some(ScimType::Uniqueness)),
        (_, ErrorKind::Invalid) => (StatusCode::BAD_REQUEST, Some(ScimType::InvalidValue)),
        (_, kind) => (crate::error::kind_status(kind), None),
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let (status, scim_type, detail, retry_after) = self.parts();
        let mut response =
            (status, scim_json(&error_body(status, scim_type, &detail))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Bearer realm="roster""#),
            );
        }
        let code = scim_type.map_or("scim_error", ScimType::as_str);
        let response = crate::dialects::with_retry_after(response, retry_after);
        crate::surface::mark(response, Surface::Scim, code, &detail)
    }
}

/// An RFC 7644 §3.12 error resource.
pub fn error_body(status: StatusCode, scim_type: Option<ScimType>, detail: &str) -> Value {
    let mut body = json!({
        "schemas": [ERROR_SCHEMA],
        "status": status.as_u16().to_string(),
        "detail": detail,
    });
    if let Some(scim_type) = scim_type {
        body["scimType"] = json!(scim_type.as_str());
    }
    body
}

/// An error the HTTP layer found (an unknown route, a body too large), in SCIM's format.
pub fn response(status: StatusCode, code: &'static str, message: String) -> Response {
    let scim_type = (code == "invalid_json").then_some(ScimType::InvalidSyntax);
    let response = (status, scim_json(&error_body(status, scim_type, &message))).into_response();
    crate::surface::mark(response, Surface::Scim, code, &message)
}

/// A JSON body answered as `application/scim+json`.
pub struct ScimJson(Vec<u8>);

/// `value` written as the body of a SCIM answer.
pub fn scim_json(value: &impl serde::Serialize) -> ScimJson {
    // SCIM's bodies are maps with string keys and lists, which always serialize.
    ScimJson(serde_json::to_vec(value).unwrap_or_default())
}

/// A page of resources written straight from their rows (no serde_json `RawValue` in it,
/// which only serde_json writes) as the body of a SCIM answer, into a buffer of `capacity`
/// bytes to begin with. sonic-rs escapes strings with SIMD: a 100-user page is mostly
/// strings, and `bench/scim` measured its page 10% faster than with serde_json.
pub fn scim_page_json(
    value: &impl serde::Serialize,
    capacity: usize,
) -> Result<ScimJson, ScimError> {
    Ok(ScimJson(crate::json_reply::to_vec(value, capacity)?))
}

impl IntoResponse for ScimJson {
    fn into_response(self) -> Response {
        (
            [(CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE))],
            self.0,
        )
            .into_response()
    }
}

/// A resource answer: the body with its `ETag` (`meta.version`) and, for a creation, its
/// `Location`.
pub fn resource(status: StatusCode, body: Value) -> Response {
    let version = body["meta"]["version"].as_str().map(str::to_owned);
    let location = body["meta"]["location"].as_str().map(str::to_owned);
    let mut response = (status, scim_json(&body)).into_response();
    if let Some(etag) = version.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response.headers_mut().insert(ETAG, etag);
    }
    if status == StatusCode::CREATED {
        if let Some(location) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            response.headers_mut().insert(LOCATION, location);
        }
    }
    response
}

/// A version as SCIM shows it (`meta.version`, `ETag`): a weak entity tag.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// The version an `If-Match` / `If-None-Match` value names: `Some(None)` for `*`; `None`
/// when the header is absent. Weak and strong forms are the same here.
pub fn precondition(headers: &HeaderMap, name: &str) -> Result<Option<Option<i64>>, ScimError> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(Some(None));
    }
    let tag = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    tag.parse::<i64>()
        .map(|v| Some(Some(v)))
        .map_err(|_| ScimError::Request {
            status: StatusCode::PRECONDITION_FAILED,
            scim_type: None,
            detail: format!("{name} names no version of this resource."),
        })
}

/// The version a write must find (`If-Match`), if it names one.
pub fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ScimError> {
    Ok(precondition(headers, "if-match")?.flatten())
}

/// `If-None-Match` naming the current version: 304; `If-Match` naming another: 412.
pub fn conditional_get(headers: &HeaderMap, version: i64) -> Result<Option<Response>, ScimError> {
    if let Some(tag) = precondition(headers, "if-none-match").unwrap_or(None) {
        if tag.is_none_or(|v| v == version) {
            let mut response = StatusCode::NOT_MODIFIED.into_response();
            if let Ok(etag) = etag(version).parse() {
                response
                    .headers_mut()
                    .insert(axum::http::header::ETAG, etag);
            }
            return Ok(Some(response));
        }
    }
    if if_match(headers)?.is_some_and(|v| v != version) {
        return Err(ScimError::precondition_failed());
    }
    Ok(None)
}

/// The authenticated SCIM caller: a Bearer secret key holding the `scim` scope (or `admin`).
pub struct ScimCaller(pub Caller);

impl FromRequestParts<AppState> for ScimCaller {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ScimError> {
        let credential = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::auth::presented_credential)
            .ok_or_else(|| {
                ScimError::from(roster_core::Error::new(
                    Code::InvalidApiKey,
                    "Send the SCIM token as 'Authorization: Bearer <secret key>'.",
                ))
            })?;
        let caller = crate::auth::admit(state, &credential, parts).await?;
        caller.require(Scope::Scim)?;
        Ok(Self(caller))
    }
}

/// A SCIM request body: a JSON object, sent as `application/scim+json` or
/// `application/json` (or unlabelled).
pub struct ScimBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for ScimBody {
    type Rejection = ScimError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ScimError> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
        if let Some(kind) = content_type.filter(|k| !k.is_empty()) {
            if kind != MEDIA_TYPE && kind != "application/json" {
                return Err(ScimError::Request {
                    status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    scim_type: None,
                    detail: format!("Send {MEDIA_TYPE} or application/json."),
                });
            }
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            let status = e.status();
            ScimError::Request {
                status,
                scim_type: None,
                detail: if status == StatusCode::PAYLOAD_TOO_LARGE {
                    format!("A SCIM request body may be at most {MAX_PAYLOAD_BYTES} bytes.")
                } else {
                    "The request body could not be read.".into()
                },
            }
        })?;
        parse_body(&bytes).map(ScimBody)
    }
}

/// A request body as a JSON object.
pub fn parse_body(bytes: &[u8]) -> Result<Value, ScimError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(ScimError::bad(
            ScimType::InvalidSyntax,
            "The request body must be a JSON object.",
        )),
        Err(e) => Err(ScimError::bad(
            ScimType::InvalidSyntax,
            format!("The request body is not valid JSON: {e}."),
        )),
    }
}

/// Whether `body` declares `schema` among its `schemas` (case-insensitively); a missing
/// `schemas` is accepted, as Okta and Entra ID sometimes omit it.
pub fn check_schemas(body: &Value, schema: &str) -> Result<(), ScimError> {
    match body.get("schemas") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(schemas)) => {
            if schemas
                .iter()
                .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(schema)))
            {
                Ok(())
            } else {
                Err(ScimError::bad(
                    ScimType::InvalidValue,
                    format!("schemas must include {schema}."),
                ))
            }
        }
        Some(_) => Err(ScimError::bad(
            ScimType::InvalidSyntax,
            "schemas must be an array of URIs.",
        )),
    }
}

/// The absolute base URL of this request's SCIM endpoint (for `meta.location`), from
/// `Host` (and `X-Forwarded-Proto` when a proxy set it).
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]_".contains(c))
        })
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| *p == "https" || *p == "http")
        .unwrap_or("http");
    format!("{scheme}://{host}{PREFIX}")
}
