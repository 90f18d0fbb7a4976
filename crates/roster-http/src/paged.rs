//! Streaming a whole listing, page by page, as the body of one response (exports).

use std::future::Future;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use futures_util::{stream, Stream};

/// A body that starts with `header` and then holds `line(item)` for every item of every
/// page: `fetch(cursor)` reads a page and the cursor of the next (none after the last). An
/// error ends the stream (the client sees a truncated body; the status already went out).
pub fn lines<T, F, Fut, L>(
    header: Vec<u8>,
    fetch: F,
    line: L,
) -> impl Stream<Item = Result<Bytes, roster_core::Error>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = roster_core::Result<(Vec<T>, Option<String>)>>,
    L: Fn(T) -> Vec<u8>,
{
    lines_after(header, None, fetch, line)
}

/// [`lines`], starting with `first`, a first page already read (so that a failure to read
/// it could still be answered with an error status rather than a truncated body).
pub fn lines_after<T, F, Fut, L>(
    header: Vec<u8>,
    first: Option<(Vec<T>, Option<String>)>,
    mut fetch: F,
    line: L,
) -> impl Stream<Item = Result<Bytes, roster_core::Error>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = roster_core::Result<(Vec<T>, Option<String>)>>,
    L: Fn(T) -> Vec<u8>,
{
    struct State<T> {
        header: Option<Vec<u8>>,
        first: Option<(Vec<T>, Option<String>)>,
        cursor: Option<String>,
        done: bool,
    }
    let state = State {
        header: Some(header),
        first,
        cursor: None,
        done: false,
    };
    let line = Arc::new(line);
    stream::unfold(state, move |mut state| {
        let first = state.first.take();
        let next = (first.is_none() && !state.done).then(|| fetch(state.cursor.take()));
        let line = line.clone();
        async move {
            let page = match (first, next) {
                (Some(page), _) => Ok(page),
                (None, Some(next)) => next.await,
                (None, None) => return None,
            };
            let mut chunk = state.header.take().unwrap_or_default();
            match page {
                Ok((items, cursor)) => {
                    for item in items {
                        chunk.extend(line(item));
                    }
                    state.done = cursor.is_none();
                    state.cursor = cursor;
                    Some((Ok(Bytes::from(chunk)), state))
                }
                Err(err) => {
                    state.done = true;
                    Some((Err(err), state))
                }
            }
        }
    })
}

/// A streamed download: `body` with its content type, saved by browsers as `filename`.
pub fn download(
    content_type: &str,
    filename: &str,
    body: impl Stream<Item = Result<Bytes, roster_core::Error>> + Send + 'static,
) -> Response {
    (
        [
            (CONTENT_TYPE, content_type.to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response()
}
