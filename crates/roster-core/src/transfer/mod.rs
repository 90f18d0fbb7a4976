//! Users and audit events in bulk: the file formats (NDJSON, CSV), the records they hold,
//! reading an import file and writing an export. The HTTP API and the CLI both move data
//! through this module, so a file one writes the other reads.

pub mod export;
pub mod format;
pub mod pages;
pub mod read;
pub mod records;

pub use format::{FileFormat, ImportRow, RowParser};
pub use read::{import_stream, ImportFailure};
pub use records::{EventRecord, UserRecord};
