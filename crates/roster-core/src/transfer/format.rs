//! The file formats users move in: NDJSON (one JSON object a line) and CSV (a header row,
//! then a row a user), read row by row into [`ImportRow`]s. The same formats serve the HTTP
//! API and the CLI, for import and for export.

use std::collections::HashSet;

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Code, Error, Result};

/// The file formats an import reads and an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FileFormat {
    /// One JSON object per line.
    #[default]
    Ndjson,
    /// Comma-separated, with a header row naming the columns.
    Csv,
}

impl FileFormat {
    /// The media type of a file in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Ndjson => "application/x-ndjson",
            Self::Csv => "text/csv; charset=utf-8",
        }
    }

    /// The usual file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Ndjson => "ndjson",
            Self::Csv => "csv",
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "ndjson" | "jsonl" => Ok(Self::Ndjson),
            "csv" => Ok(Self::Csv),
            other => Err(Error::field(
                Code::UnsupportedFormat,
                "format",
                format!(
                    "Unknown format '{}'; use ndjson or csv.",
                    other.chars().take(20).collect::<String>()
                ),
            )),
        }
    }
}

/// One row of an import file. Absent (or null, or in CSV empty) fields of an existing user
/// are left as they are; a new user needs `email`, `name` and `role`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportRow {
    pub external_id: Option<String>,
    /// Defaults to the email for a new user.
    pub user_name: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub role: Option<String>,
    /// `invited`, `active` (the default for new users: they exist elsewhere already) or
    /// `inactive`.
    pub status: Option<String>,
    pub attributes: Option<Value>,
    /// An argon2id PHC string or a bcrypt hash, so users keep their passwords when moving in.
    pub password_hash: Option<String>,
    /// 1 to 999,999 sessions at once.
    pub sessions_limit: Option<i64>,
    pub allow_authentication_token: Option<bool>,
    /// As on `POST /v1/users`, but false by default: an imported user exists elsewhere
    /// already. True makes a new user `invited` and queues its invitation mail in the
    /// batch's transaction; for a user the row matches it changes nothing (so running an
    /// import again sends nothing again).
    pub send_invitation: Option<bool>,
    /// A note for the invitation mail.
    pub message: Option<String>,
    /// A first password, checked against the workspace's policy and stored as argon2id
    /// (give this or `password_hash`, not both).
    pub password: Option<String>,
    // What an export writes that is Roster's to assign: read and ignored.
    #[serde(default, rename = "id")]
    _id: Option<IgnoredAny>,
    #[serde(default, rename = "created_at")]
    _created_at: Option<IgnoredAny>,
    #[serde(default, rename = "updated_at")]
    _updated_at: Option<IgnoredAny>,
    #[serde(default, rename = "deleted_at")]
    _deleted_at: Option<IgnoredAny>,
    #[serde(default, rename = "has_authentication_token")]
    _has_authentication_token: Option<IgnoredAny>,
    #[serde(default, rename = "current_sign_in_at")]
    _current_sign_in_at: Option<IgnoredAny>,
    #[serde(default, rename = "last_sign_in_at")]
    _last_sign_in_at: Option<IgnoredAny>,
}

/// A CSV column.
#[derive(Debug, Clone)]
enum Column {
    Field(&'static str),
    /// `attributes.KEY`: a string attribute.
    Attribute(String),
    Ignored,
}

const CSV_FIELDS: [&str; 13] = [
    "external_id",
    "user_name",
    "email",
    "name",
    "given_name",
    "family_name",
    "role",
    "status",
    "attributes",
    "password_hash",
    "send_invitation",
    "message",
    "password",
];
const CSV_IGNORED: [&str; 4] = ["id", "created_at", "updated_at", "deleted_at"];

/// Turns lines into rows.
#[derive(Debug, Clone)]
pub struct RowParser {
    format: FileFormat,
    columns: Option<Vec<Column>>,
}

impl RowParser {
    pub fn new(format: FileFormat) -> Self {
        Self {
            format,
            columns: None,
        }
    }

    /// The row on `line`, or `None` for a blank line or the CSV header. An error with code
    /// `invalid_import_header` is about the whole file; any other is about this row.
    pub fn parse(&mut self, line: &str) -> Result<Option<ImportRow>> {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.trim().is_empty() {
            return Ok(None);
        }
        let nul = match self.format {
            FileFormat::Ndjson => json_holds_nul(line.as_bytes()),
            FileFormat::Csv => line.contains('\0'),
        };
        if nul {
            return Err(Error::new(
                Code::InvalidRow,
                "The row holds a NUL character, which no field accepts.",
            ));
        }
        match self.format {
            FileFormat::Ndjson => serde_json::from_str(line).map(Some).map_err(|e| {
                Error::new(Code::InvalidRow, format!("Not a valid user object: {e}."))
            }),
            FileFormat::Csv => match &self.columns {
                None => {
                    self.columns = Some(header(line)?);
                    Ok(None)
                }
                Some(columns) => csv_row(columns, line).map(Some),
            },
        }
    }
}

fn csv_record(line: &str) -> Result<csv::StringRecord, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(line.as_bytes());
    match reader.records().next() {
        Some(Ok(record)) => Ok(record),
        Some(Err(e)) => Err(e.to_string()),
        None => Ok(csv::StringRecord::new()),
    }
}

fn header(line: &str) -> Result<Vec<Column>> {
    let bad = |message: String| Error::new(Code::InvalidImportHeader, message);
    let record = csv_record(line).map_err(|e| bad(format!("The header row is not CSV: {e}.")))?;
    let mut seen = HashSet::new();
    let mut columns = Vec::new();
    for name in record.iter().map(str::trim) {
        if !seen.insert(name.to_owned()) {
            return Err(bad(format!("Column '{name}' appears twice.")));
        }
        let column = if let Some(field) = CSV_FIELDS.iter().find(|f| **f == name) {
            Column::Field(field)
        } else if let Some(key) = name.strip_prefix("attributes.") {
            Column::Attribute(key.to_owned())
        } else if CSV_IGNORED.contains(&name) {
            Column::Ignored
        } else {
            return Err(bad(format!(
                "Unknown column '{}'; columns are {}, and attributes.KEY.",
                name.chars().take(40).collect::<String>(),
                CSV_FIELDS.join(", ")
            )));
        };
        columns.push(column);
    }
    Ok(columns)
}

fn csv_row(columns: &[Column], line: &str) -> Result<ImportRow> {
    let record = csv_record(line)
        .map_err(|e| Error::new(Code::InvalidRow, format!("Not a valid CSV row: {e}.")))?;
    if record.len() != columns.len() {
        return Err(Error::new(
            Code::InvalidRow,
            format!(
                "The row has {} fields; the header names {}.",
                record.len(),
                columns.len()
            ),
        ));
    }
    let mut row = ImportRow::default();
    let mut attributes = Map::new();
    for (column, value) in columns.iter().zip(record.iter()) {
        if value.is_empty() {
            continue;
        }
        let value = csv_value(value);
        let text = Some(value.to_owned());
        match column {
            Column::Field("external_id") => row.external_id = text,
            Column::Field("user_name") => row.user_name = text,
            Column::Field("email") => row.email = text,
            Column::Field("name") => row.name = text,
            Column::Field("given_name") => row.given_name = text,
            Column::Field("family_name") => row.family_name = text,
            Column::Field("role") => row.role = text,
            Column::Field("status") => row.status = text,
            Column::Field("password_hash") => row.password_hash = text,
            Column::Field("message") => row.message = text,
            Column::Field("password") => row.password = text,
            Column::Field("send_invitation") => {
                row.send_invitation = Some(match value.trim() {
                    "true" | "TRUE" | "True" | "1" => true,
                    "false" | "FALSE" | "False" | "0" => false,
                    _ => {
                        return Err(Error::field(
                            Code::InvalidField,
                            "send_invitation",
                            "send_invitation must be true or false.",
                        ))
                    }
                });
            }
            Column::Field(_) => {
                let parsed: Value = serde_json::from_str(value).map_err(|e| {
                    Error::field(
                        Code::InvalidAttributes,
                        "attributes",
                        format!("attributes is not a JSON object: {e}."),
                    )
                })?;
                row.attributes = Some(parsed);
            }
            Column::Attribute(key) => {
                attributes.insert(key.clone(), Value::String(value.to_owned()));
            }
            Column::Ignored => {}
        }
    }
    if !attributes.is_empty() {
        let mut merged = match row.attributes.take() {
            Some(Value::Object(map)) => map,
            Some(_) => {
                return Err(Error::field(
                    Code::InvalidAttributes,
                    "attributes",
                    "attributes must be a JSON object.",
                ))
            }
            None => Map::new(),
        };
        merged.extend(attributes);
        row.attributes = Some(Value::Object(merged));
    }
    Ok(row)
}

/// A value as a CSV cell that no spreadsheet runs as a formula (OWASP's "CSV injection"
/// advice): a value starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a
/// leading `'`. So does one that starts with `'` and then one of those, so the import can
/// take exactly one `'` off again ([`csv_value`]) and an export imports as it was.
pub fn csv_cell(value: &str) -> std::borrow::Cow<'_, str> {
    let formula = |c: Option<char>| matches!(c, Some('=' | '+' | '-' | '@' | '\t' | '\r'));
    let mut chars = value.chars();
    let first = chars.next();
    if formula(first) || (first == Some('\'') && formula(chars.next())) {
        std::borrow::Cow::Owned(format!("'{value}"))
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

/// A CSV cell's value: [`csv_cell`] undone.
pub fn csv_value(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if csv_cell(rest).len() > rest.len() => rest,
        _ => cell,
    }
}

/// Whether a JSON text holds a NUL, raw or as `\u0000` in a string (an escaped backslash before `u0000`
/// does not count). NUL is refused everywhere input enters: PostgreSQL's text cannot hold it.
pub fn json_holds_nul(bytes: &[u8]) -> bool {
    let mut backslashes = 0usize;
    for (i, b) in bytes.iter().enumerate() {
        if *b == 0 {
            return true;
        }
        if *b == b'\\' {
            backslashes += 1;
            continue;
        }
        if *b == b'u' && backslashes % 2 == 1 && bytes[i + 1..].starts_with(b"0000") {
            return true;
        }
        backslashes = 0;
    }
    false
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn csv_cells_never_start_a_formula_and_read_back_as_they_were() {
        for (value, cell) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1 555 0100", "'+1 555 0100"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("'=x", "''=x"),
            ("'quoted", "'quoted"),
            ("plain", "plain"),
            ("", ""),
        ] {
            assert_eq!(csv_cell(value), cell, "{value:?}");
            assert_eq!(csv_value(&csv_cell(value)), value, "{value:?}");
        }
    }

    #[test]
    fn csv_rows_map_columns_and_attributes() {
        let mut parser = RowParser::new(FileFormat::Csv);
        assert!(parser
            .parse("external_id,email,name,role,attributes.team,id")
            .unwrap()
            .is_none());
        let row = parser
            .parse("e1,\"jane@example.com\",\"Doe, Jane\",viewer,blue,usr_ignored")
            .unwrap()
            .unwrap();
        assert_eq!(row.external_id.as_deref(), Some("e1"));
        assert_eq!(row.name.as_deref(), Some("Doe, Jane"));
        assert_eq!(row.attributes, Some(json!({"team": "blue"})));
        let err = parser.parse("e2,x@example.com").unwrap_err();
        assert_eq!(err.code, Code::InvalidRow);
    }

    #[test]
    fn csv_headers_name_known_columns_once() {
        for header in ["email,nickname", "email,email"] {
            let err = RowParser::new(FileFormat::Csv).parse(header).unwrap_err();
            assert_eq!(err.code, Code::InvalidImportHeader, "{header}");
        }
    }

    #[test]
    fn ndjson_rows_reject_unknown_fields_but_read_exports() {
        let mut parser = RowParser::new(FileFormat::Ndjson);
        let exported =
            r#"{"id":"usr_1","email":"a@example.com","created_at":"2026-01-01T00:00:00Z"}"#;
        assert!(parser.parse(exported).unwrap().is_some());
        assert!(parser.parse("  ").unwrap().is_none());
        let err = parser.parse(r#"{"emial":"a@example.com"}"#).unwrap_err();
        assert_eq!(err.code, Code::InvalidRow);
        assert!(err.message.contains("emial"), "{}", err.message);
    }
}
