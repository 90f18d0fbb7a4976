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
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::http(HttpCode::PayloadTooLarge).with_message(format!(
                    "The request body is larger than {} bytes.",
                    crate::MAX_BODY_BYTES
                ))
            } else {
                ApiError::http(HttpCode::InvalidBody).with_message(rejection.body_text())
            }
        })?;
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
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::http(HttpCode::PayloadTooLarge)
            } else {
                ApiError::http(HttpCode::InvalidBody).with_message(rejection.body_text())
            }
        })?;
        if !has_body || bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        parse_json(&bytes).map(OptionalJsonBody)
    }
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let code = if inner.is_syntax() || inner.is_eof() {
            HttpCode::InvalidJson
        } else {
            HttpCode::InvalidBody
        };
        let message = if path == "." || code == HttpCode::InvalidJson {
            format!("{}: {inner}", code.message())
        } else {
            format!("Invalid value at '{path}': {inner}")
        };
        ApiError::http(code).with_message(message)
    })?;
    deserializer.end().map_err(|err| {
        ApiError::http(HttpCode::InvalidJson)
            .with_message(format!("{}: {err}", HttpCode::InvalidJson.message()))
    })?;
    Ok(value)
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
        assert_eq!(parse_json::<Body>(b"{\"name\": \"a\"}").unwrap().name, "a");
    }
}
