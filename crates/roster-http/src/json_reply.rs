//! JSON bodies written in one pass into one buffer.
//!
//! axum's `Json` writes through `serde_json` into a 128-byte `BytesMut` that grows as it
//! goes, a call per token: a 20-user page (about 12 KB) spent a fifth of its CPU in
//! escaping, small copies and regrowing (`perf`, `bench/run`). Here the buffer is sized
//! from the caller's estimate and sonic-rs escapes strings with SIMD.

use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use roster_core::{Code, Error};
use serde::Serialize;

/// About how many bytes a user takes in a JSON answer, to size a page's buffer.
pub const BYTES_PER_USER: usize = 640;

/// `value` as JSON, written into a buffer of `capacity` bytes to begin with. Only a value
/// whose `Serialize` fails (a map with non-string keys, which Roster's bodies never hold)
/// is an error.
pub fn to_vec(value: &impl Serialize, capacity: usize) -> Result<Vec<u8>, Error> {
    let mut body = Vec::with_capacity(capacity);
    sonic_rs::to_writer(&mut body, value)
        .map_err(|err| Error::new(Code::Internal, format!("writing a JSON answer: {err}")))?;
    Ok(body)
}

/// An `application/json` answer written by [`to_vec`]: `JsonReply(value, capacity)`.
pub struct JsonReply<T>(pub T, pub usize);

impl<T: Serialize> IntoResponse for JsonReply<T> {
    fn into_response(self) -> Response {
        match to_vec(&self.0, self.1) {
            Ok(body) => (
                [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                body,
            )
                .into_response(),
            Err(err) => crate::error::ApiError::from(err).into_response(),
        }
    }
}
