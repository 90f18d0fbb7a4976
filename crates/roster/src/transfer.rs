//! Files in and out of the CLI: exports written with a progress bar, imports read with one.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use futures_util::{Stream, StreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use roster_core::transfer::{import_stream, ImportFailure};
use roster_core::{AuditContext, FileFormat, ImportReport, Importer, Roster, Workspace};

/// Bytes read from an import file at a time.
const CHUNK: usize = 256 * 1024;

/// Write an export stream (one record a line, after a CSV header) to `output` or standard
/// output, with a progress bar on standard error: a bar when `total` is known, else a
/// counter, and the rate either way.
pub async fn write_export(
    stream: impl Stream<Item = Result<Vec<u8>, roster_core::Error>>,
    format: FileFormat,
    total: Option<u64>,
    noun: &str,
    output: Option<PathBuf>,
) -> anyhow::Result<()> {
    let mut out: Box<dyn Write> = match &output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let progress = match total {
        Some(total) => ProgressBar::new(total).with_style(
            ProgressStyle::with_template(&format!(
                "{{spinner}} {{pos}}/{{len}} {noun} [{{bar:30}}] {{per_sec}} eta {{eta}}"
            ))?
            .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(ProgressStyle::with_template(&format!(
            "{{spinner}} {{pos}} {noun} {{per_sec}} {{elapsed}}"
        ))?),
    };
    let mut records = 0u64;
    let mut header_pending = format == FileFormat::Csv;
    let mut chunks = std::pin::pin!(stream);
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk?;
        out.write_all(&chunk)?;
        // One line a record: JSON escapes newlines, and no stored field holds one.
        let mut lines = chunk.iter().filter(|b| **b == b'\n').count() as u64;
        if header_pending && lines > 0 {
            lines -= 1;
            header_pending = false;
        }
        records += lines;
        progress.set_position(records);
    }
    out.flush()?;
    progress.finish_and_clear();
    if let Some(path) = output {
        eprintln!("exported {records} {noun} to {}", path.display());
    }
    Ok(())
}

/// Import `path` (`-` for standard input) into `workspace`, with a progress bar of the
/// bytes read, the rows per second and the time left.
pub async fn import_file(
    roster: &Roster,
    workspace: Workspace,
    ctx: AuditContext,
    format: FileFormat,
    path: &Path,
) -> anyhow::Result<ImportReport> {
    let (reader, size): (Box<dyn Read>, Option<u64>) = if path == Path::new("-") {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let size = file.metadata().ok().map(|m| m.len());
        (Box::new(file), size)
    };
    let progress = match size {
        Some(size) => ProgressBar::new(size).with_style(
            ProgressStyle::with_template(
                "{spinner} [{bar:30}] {bytes}/{total_bytes} {msg} eta {eta}",
            )?
            .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(ProgressStyle::with_template(
            "{spinner} {bytes} {msg} {elapsed}",
        )?),
    };
    let started = Instant::now();
    let mut lines = 0u64;
    let chunks = read_chunks(reader).map(|chunk| {
        if let Ok(bytes) = &chunk {
            lines += bytes.iter().filter(|b| **b == b'\n').count() as u64;
            let rate = lines as f64 / started.elapsed().as_secs_f64().max(1e-3);
            progress.inc(bytes.len() as u64);
            progress.set_message(format!("{lines} rows, {rate:.0} rows/s"));
        }
        chunk
    });
    let mut importer = Importer::new(roster, workspace, ctx, format);
    let read = import_stream(&mut importer, std::pin::pin!(chunks)).await;
    progress.finish_and_clear();
    match read {
        Ok(()) => {}
        Err(ImportFailure::Core(err)) => return Err(err.into()),
        Err(ImportFailure::Body(message)) => {
            anyhow::bail!("cannot read {}: {message}", path.display())
        }
    }
    let report = importer.finish().await?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "imported {} rows in {seconds:.1} s ({:.0} rows/s)",
        report.rows,
        report.rows as f64 / seconds.max(1e-3)
    );
    Ok(report)
}

/// The reader's bytes, a chunk at a time (the file is local: blocking reads are short).
fn read_chunks(mut reader: Box<dyn Read>) -> impl Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |_| {
        let mut buffer = vec![0; CHUNK];
        match reader.read(&mut buffer) {
            Ok(0) => std::task::Poll::Ready(None),
            Ok(n) => {
                buffer.truncate(n);
                std::task::Poll::Ready(Some(Ok(buffer)))
            }
            Err(err) => std::task::Poll::Ready(Some(Err(err))),
        }
    })
}

pub fn print_report(report: &ImportReport, json: bool) -> std::io::Result<()> {
    use crate::output::say;
    if json {
        say!("{}", serde_json::to_string(report).unwrap_or_default());
        return Ok(());
    }
    say!(
        "{} rows: {} created, {} updated, {} unchanged, {} rejected",
        report.rows,
        report.created,
        report.updated,
        report.unchanged,
        report.rejected
    );
    for error in &report.errors {
        say!("  line {}: {} ({})", error.line, error.message, error.code);
    }
    if report.errors_truncated {
        say!("  … and more rejected rows than listed");
    }
    Ok(())
}
