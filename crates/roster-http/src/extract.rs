//! Body and query extractors whose rejections are [`ApiError`]s in the envelope, never
//! axum's plain-text ones.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::error::{ApiError, HttpCode};

/// A JSON body. The `Content-Type` is not checked: seed 002's own example posts JSON with
/// `curl -d`, which labels it `application/x-www-form-urlencoded`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// A JSON body that may be left out: an empty body is `T::default()`.
#[derive(Debug)]
pub struct OptionalJsonBody<T>(pub T);

impl<T, S> FromRequest<S> for OptionalJsonBody<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let has_body = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .is_none_or(|len| len != "0");
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        if !has_body || bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        parse_json(&bytes).map(OptionalJsonBody)
    }
}

/// Why a body could not be read: too large (413), stalled past the body timeout (408), or
/// broken off (400).
fn body_rejection(rejection: axum::extract::rejection::BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::http(HttpCode::PayloadTooLarge).with_message(format!(
            "The request body is larger than {} bytes.",
            crate::MAX_BODY_BYTES
        ));
    }
    let stalled = std::iter::successors(
        Some(&rejection as &(dyn std::error::Error + 'static)),
        |err| err.source(),
    )
    .any(|err| err.is::<tower_http::timeout::TimeoutError>());
    if stalled {
        return HttpCode::RequestTimeout.into();
    }
    ApiError::http(HttpCode::InvalidBody).with_message(rejection.body_text())
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if roster_core::transfer::format::json_holds_nul(bytes) {
        return Err(ApiError::http(HttpCode::InvalidBody).with_message(
            "The request body holds a NUL character (\\u0000), which no field accepts.",
        ));
    }
    let mut tree: serde_json::Value = serde_json::from_slice(bytes).map_err(|err| {
        ApiError::http(HttpCode::InvalidJson).with_message(format!(
            "The request body is not valid JSON: {}",
            plain_message(&err.to_string())
        ))
    })?;
    let Some(fields) = tree.as_object_mut() else {
        return Err(ApiError::http(HttpCode::InvalidBody)
            .with_message("The request body must be a JSON object."));
    };
    integral_numbers_as_integers(fields);
    serde_path_to_error::deserialize(tree).map_err(|err| {
        let path = err.path().to_string();
        let detail = plain_message(&err.into_inner().to_string());
        let message = if path == "." {
            format!("The request body is not as expected: {detail}")
        } else {
            format!("Invalid value at '{path}': {detail}")
        };
        ApiError::http(HttpCode::InvalidBody).with_message(message)
    })
}

/// A top-level number written with a zero fraction (`30.0`) is the integer it equals, as
/// JSON Schema counts it; serde would refuse it for an integer field. Nested values (a
/// user's attributes) are kept exactly as sent.
fn integral_numbers_as_integers(fields: &mut serde_json::Map<String, serde_json::Value>) {
    for value in fields.values_mut() {
        let Some(float) = value.as_f64().filter(|_| value.is_f64()) else {
            continue;
        };
        if float.fract() == 0.0 && float.abs() < 9.0e15 {
            // Exact: |float| < 2^53.
            #[allow(clippy::cast_possible_truncation)]
            let integer = float as i64;
            *value = serde_json::Value::from(integer);
        }
    }
}

/// serde's message in words for people: no Rust type names, no line and column.
fn plain_message(message: &str) -> String {
    let message = match message.find(" at line ") {
        Some(at) => &message[..at],
        None => message,
    };
    let mut words: Vec<String> = Vec::new();
    let mut parts = message.split(' ').peekable();
    while let Some(word) = parts.next() {
        let replacement = match word {
            "struct" => Some("an object"),
            "enum" => Some("one of the documented values"),
            "tuple" => Some("an array"),
            _ => None,
        };
        if let Some(replacement) = replacement {
            // "expected struct UpdateUser with 11 elements" -> "expected an object"
            let _ = parts.next();
            if let Some(last) = words.last_mut() {
                if last == "a" || last == "an" {
                    words.pop();
                }
            }
            words.push(replacement.to_owned());
            while parts.peek().is_some_and(|w| !w.ends_with(',')) {
                let _ = parts.next();
            }
            if let Some(w) = parts.next() {
                if let Some(last) = words.last_mut() {
                    last.push_str(&w[w.len() - 1..]);
                }
            }
            continue;
        }
        words.push(word.to_owned());
    }
    words.join(" ")
}

/// For `#[serde(default, deserialize_with = "present")]` on an `Option<Option<T>>` field of
/// a partial update: absent is `None` (leave alone), `null` is `Some(None)` (clear), a value
/// is `Some(Some(v))`.
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Query parameters. Unknown parameters are ignored; malformed known ones are a 400.
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<T, S> FromRequestParts<S> for QueryParams<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(QueryParams)
            .map_err(|err| {
                let path = err.path().to_string();
                let message = if path == "." {
                    format!("Invalid query parameters: {}", err.into_inner())
                } else {
                    format!(
                        "Invalid value for query parameter '{path}': {}",
                        err.into_inner()
                    )
                };
                ApiError::http(HttpCode::InvalidParameter).with_message(message)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_no_types() {
        assert_eq!(
            plain_message("invalid type: sequence, expected struct UpdateUser with 11 elements at line 1 column 10"),
            "invalid type: sequence, expected an object"
        );
        assert_eq!(
            plain_message("invalid type: integer `5`, expected a string at line 1 column 10"),
            "invalid type: integer `5`, expected a string"
        );
        assert_eq!(
            plain_message("invalid type: map, expected enum Status"),
            "invalid type: map, expected one of the documented values"
        );
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        name: String,
    }

    #[test]
    fn syntax_and_type_errors_are_told_apart() {
        let err = parse_json::<Body>(b"{\"name\": ").unwrap_err();
        assert_eq!(err.code(), "invalid_json");
        let err = parse_json::<Body>(b"{\"name\": 5}").unwrap_err();
        assert_eq!(err.code(), "invalid_body");
        let err = parse_json::<Body>(b"{\"name\": \"a\"} trailing").unwrap_err();
        assert_eq!(err.code(), "invalid_json");
        #[derive(Debug, serde::Deserialize)]
        struct Limit {
            limit: u32,
        }
        assert_eq!(parse_json::<Limit>(b"{\"limit\": 30.0}").unwrap().limit, 30);
        assert_eq!(
            parse_json::<Limit>(b"{\"limit\": 30.5}")
                .unwrap_err()
                .code(),
            "invalid_body"
        );
        let err = parse_json::<Body>(b"[\"a\"]").unwrap_err();
        assert_eq!(err.code(), "invalid_body");
        assert_eq!(err.message(), "The request body must be a JSON object.");
        let err = parse_json::<Body>(b"{\"name\": \"a\\u0000b\"}").unwrap_err();
        assert_eq!(err.code(), "invalid_body");
        assert_eq!(
            parse_json::<Body>(b"{\"name\": \"a\\\\u0000\"}")
                .unwrap()
                .name,
            "a\\u0000",
            "an escaped backslash before u0000 is no NUL"
        );
        assert_eq!(parse_json::<Body>(b"{\"name\": \"a\"}").unwrap().name, "a");
    }
}
