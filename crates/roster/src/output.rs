//! What the CLI prints on standard output. A reader that goes away early (`| head -3`,
//! `| true`) ends the command quietly with success, as it does for other Unix tools; Rust
//! ignores SIGPIPE, so `println!` would panic on the closed pipe instead.

use std::io::Write;

/// Write one line to standard output; an error (a closed pipe among them) is returned.
pub fn line(args: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(args)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Whether `err` is a write to a closed pipe, somewhere in its chain.
pub fn is_closed_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `println!` for commands: a failed write returns from the calling function with the
/// error (which [`is_closed_pipe`] recognises).
macro_rules! say {
    () => {
        $crate::output::line(format_args!(""))?
    };
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))?
    };
}
pub(crate) use say;
