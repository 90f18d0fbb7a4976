//! Streaming a whole listing, page by page, as the body of one response (exports). The
//! pages are read by the core ([`roster_core::transfer::pages`]); this module makes them a
//! response body.

use axum::body::{Body, Bytes};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};

/// A response body of `chunks`. An error ends the stream (the client sees a truncated body;
/// the status already went out).
pub fn body(chunks: impl Stream<Item = roster_core::Result<Vec<u8>>> + Send + 'static) -> Body {
    Body::from_stream(chunks.map(|chunk| chunk.map(Bytes::from)))
}

/// A streamed download: `chunks` with their content type, saved by browsers as `filename`.
pub fn download(
    content_type: &str,
    filename: &str,
    chunks: impl Stream<Item = roster_core::Result<Vec<u8>>> + Send + 'static,
) -> Response {
    (
        [
            (CONTENT_TYPE, content_type.to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body(chunks),
    )
        .into_response()
}
