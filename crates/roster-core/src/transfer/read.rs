//! Reading an import file: any stream of byte chunks (an HTTP body, a file) cut into lines
//! and fed to an [`Importer`], with bounded memory whatever the file's size.

use futures_util::{Stream, StreamExt};

use crate::import::{Importer, MAX_LINE_BYTES};

/// Why an import stopped before the end of its file.
#[derive(Debug)]
pub enum ImportFailure {
    /// The file could not be read.
    Body(String),
    /// A bad CSV header, or the store failed.
    Core(crate::Error),
}

/// Feed `body` to `importer` line by line: a line longer than [`MAX_LINE_BYTES`] is
/// rejected unread, as is one that is not UTF-8.
pub async fn import_stream<S, B, E>(
    importer: &mut Importer<'_>,
    mut body: S,
) -> Result<(), ImportFailure>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    let mut buffer: Vec<u8> = Vec::new();
    // Inside a line that is too long: drop bytes up to its end.
    let mut skipping = false;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ImportFailure::Body(e.to_string()))?;
        let mut rest = chunk.as_ref();
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            let (head, tail) = rest.split_at(end);
            rest = &tail[1..];
            if skipping {
                skipping = false;
                continue;
            }
            buffer.extend_from_slice(head);
            push(importer, &buffer).await?;
            buffer.clear();
        }
        if !skipping {
            buffer.extend_from_slice(rest);
            if buffer.len() > MAX_LINE_BYTES {
                importer.reject_oversized_line();
                buffer.clear();
                skipping = true;
            }
        }
    }
    if !skipping && !buffer.is_empty() {
        push(importer, &buffer).await?;
    }
    Ok(())
}

async fn push(importer: &mut Importer<'_>, line: &[u8]) -> Result<(), ImportFailure> {
    if line.len() > MAX_LINE_BYTES {
        importer.reject_oversized_line();
        return Ok(());
    }
    match std::str::from_utf8(line) {
        Ok(text) => importer.push_line(text).await.map_err(ImportFailure::Core),
        Err(_) => {
            importer.reject_line_not_utf8();
            Ok(())
        }
    }
}
