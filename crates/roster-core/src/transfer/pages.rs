//! A whole listing read page by page into one stream of lines (exports, streamed lists).

use std::future::Future;
use std::sync::Arc;

use futures_util::{stream, Stream};

/// A stream that starts with `header` and then holds `line(item)` for every item of every
/// page, one chunk a page: `fetch(cursor)` reads a page and the cursor of the next (none
/// after the last). `first`, if given, is a first page already read (so that a failure to
/// read it could still be answered with an error status rather than a truncated body). An
/// error ends the stream.
pub fn lines<T, F, Fut, L>(
    header: Vec<u8>,
    first: Option<(Vec<T>, Option<String>)>,
    mut fetch: F,
    line: L,
) -> impl Stream<Item = crate::Result<Vec<u8>>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = crate::Result<(Vec<T>, Option<String>)>>,
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
                    Some((Ok(chunk), state))
                }
                Err(err) => {
                    state.done = true;
                    Some((Err(err), state))
                }
            }
        }
    })
}
