//! Bulk import of users from NDJSON or CSV.
//!
//! A surface (the HTTP API, the CLI) feeds the file line by line to an [`Importer`]; rows are
//! validated one by one and written in batches of [`BATCH_SIZE`], each batch one transaction
//! with one `user.import` event. Rows are matched to existing users by `external_id` (or,
//! without one, by email), so running the same import twice updates and never duplicates. A
//! rejected row is reported with its line number and error and leaves nothing behind.

use std::collections::{HashMap, HashSet};

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::attributes::{self, Attributes};
use crate::audit::{Action, AuditContext};
use crate::error::{Code, Error, Result};
use crate::ids;
use crate::roster::Roster;
use crate::store::{ImportWrite, StoreError};
use crate::user::{
    email_key, validate_email, validate_external_id, validate_name, validate_role, User, UserStatus,
};
use crate::workspace::Workspace;

/// Rows written per transaction. Larger batches write each touched index page once for more
/// rows (the email index takes keys in random order); this size imports a million users in
/// under a minute on two cores and holds the write lock for a fraction of a second.
pub const BATCH_SIZE: usize = 5000;
/// Rejected rows reported in full; past this only counted.
pub const MAX_REPORTED_ERRORS: usize = 1000;
/// The longest line an import reads; a longer one is rejected as a row.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

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

/// A rejected row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowError {
    pub line: u64,
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportReport {
    /// Data rows read (header and blank lines not counted).
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    /// Rows that matched a user and changed nothing.
    pub unchanged: u64,
    pub rejected: u64,
    /// The first [`MAX_REPORTED_ERRORS`] rejected rows, in line order.
    pub errors: Vec<RowError>,
    /// True when more rows were rejected than `errors` lists.
    pub errors_truncated: bool,
}

impl ImportReport {
    fn reject(&mut self, line: u64, err: Error) {
        self.rejected += 1;
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(RowError {
                line,
                code: err.code.as_str(),
                message: err.message,
                field: err.field,
            });
        } else {
            self.errors_truncated = true;
        }
    }
}

/// A CSV column.
#[derive(Debug, Clone)]
enum Column {
    Field(&'static str),
    /// `attributes.KEY`: a string attribute.
    Attribute(String),
    Ignored,
}

const CSV_FIELDS: [&str; 12] = [
    "external_id",
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

/// An argon2id PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) or a bcrypt hash
/// (`$2a$`, `$2b$` or `$2y$`, 53 characters of bcrypt's base64), within the cost bounds of
/// [`crate::password::within_cost_bounds`] (bcrypt cost 04–14; argon2id at most 128 MiB,
/// 10 passes, 16 lanes, memory × passes at most 256 MiB).
pub fn validate_password_hash(text: &str) -> Result<String> {
    let text = text.trim();
    if crate::password::within_cost_bounds(text) {
        Ok(text.to_owned())
    } else {
        Err(Error::field(
            Code::InvalidPasswordHash,
            "password_hash",
            "password_hash must be an argon2id PHC string (at most m=131072, t=10, p=16, m*t <= 262144) or a bcrypt ($2a$/$2b$/$2y$) hash of cost 04-14.",
        ))
    }
}

/// A row's fields, each checked.
#[derive(Debug)]
struct Checked {
    external_id: Option<String>,
    email: Option<String>,
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    role: Option<String>,
    status: Option<UserStatus>,
    attributes: Option<Attributes>,
    password_hash: Option<String>,
    sessions_limit: Option<u32>,
    allow_authentication_token: Option<bool>,
    send_invitation: bool,
    message: Option<String>,
    password: Option<String>,
}

impl Checked {
    fn new(row: ImportRow, workspace: &Workspace) -> Result<Self> {
        let text = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
        let both_passwords = row
            .password_hash
            .as_deref()
            .is_some_and(|h| !h.trim().is_empty());
        let part = |field: &'static str, value: Option<String>| -> Result<Option<String>> {
            match text(value) {
                None => Ok(None),
                Some(v) => crate::user::validate_part_name(field, Some(&v)),
            }
        };
        Ok(Self {
            external_id: text(row.external_id)
                .map(|v| validate_external_id(&v))
                .transpose()?,
            email: text(row.email).map(|v| validate_email(&v)).transpose()?,
            name: text(row.name).map(|v| validate_name(&v)).transpose()?,
            given_name: part("given_name", row.given_name)?,
            family_name: part("family_name", row.family_name)?,
            role: text(row.role)
                .map(|v| validate_role(workspace, &v))
                .transpose()?,
            status: text(row.status)
                .map(|v| UserStatus::parse(v.trim()))
                .transpose()?,
            attributes: match row.attributes {
                None | Some(Value::Null) => None,
                Some(value) => Some(attributes::validate(value)?),
            },
            password_hash: text(row.password_hash)
                .map(|v| validate_password_hash(&v))
                .transpose()?,
            sessions_limit: row
                .sessions_limit
                .map(crate::user::validate_sessions_limit)
                .transpose()?,
            allow_authentication_token: row.allow_authentication_token,
            send_invitation: row.send_invitation.unwrap_or(false),
            message: crate::invitation::validate_message(row.message.as_deref())?,
            password: match (text(row.password), both_passwords) {
                (Some(_), true) => {
                    return Err(Error::field(
                        Code::InvalidField,
                        "password",
                        "Give password or password_hash, not both.",
                    ))
                }
                (password, _) => password,
            },
        })
    }

    /// What identifies the row's user: its external id, else its email.
    fn key(&self) -> Option<String> {
        match (&self.external_id, &self.email) {
            (Some(external_id), _) => Some(format!("x:{external_id}")),
            (None, Some(email)) => Some(format!("e:{}", email_key(email))),
            (None, None) => None,
        }
    }

    /// The row's values written over `user`.
    fn apply(&self, user: &mut User) -> Result<()> {
        if let Some(status) = self.status {
            if !user.status.can_become(status) {
                return Err(Error::field(
                    Code::InvalidStatusTransition,
                    "status",
                    format!(
                        "A user cannot go from {} to {}.",
                        user.status.as_str(),
                        status.as_str()
                    ),
                ));
            }
            user.status = status;
        }
        let set = |target: &mut String, value: &Option<String>| {
            if let Some(value) = value {
                target.clone_from(value);
            }
        };
        set(&mut user.email, &self.email);
        set(&mut user.name, &self.name);
        if self.sessions_limit.is_some() {
            user.sessions_limit = self.sessions_limit;
        }
        if let Some(allow) = self.allow_authentication_token {
            user.allow_authentication_token = allow;
        }
        set(&mut user.role, &self.role);
        if self.external_id.is_some() {
            user.external_id.clone_from(&self.external_id);
        }
        if self.given_name.is_some() {
            user.given_name.clone_from(&self.given_name);
        }
        if self.family_name.is_some() {
            user.family_name.clone_from(&self.family_name);
        }
        if let Some(attributes) = &self.attributes {
            user.attributes.clone_from(attributes);
        }
        Ok(())
    }
}

/// One import in progress: feed it lines, then [`finish`](Importer::finish) it.
pub struct Importer<'r> {
    roster: &'r Roster,
    workspace: Workspace,
    ctx: AuditContext,
    parser: RowParser,
    line: u64,
    pending: Vec<(u64, ImportRow)>,
    report: ImportReport,
}

impl<'r> Importer<'r> {
    pub fn new(
        roster: &'r Roster,
        workspace: Workspace,
        ctx: AuditContext,
        format: FileFormat,
    ) -> Self {
        Self {
            roster,
            workspace,
            ctx,
            parser: RowParser::new(format),
            line: 0,
            pending: Vec::with_capacity(BATCH_SIZE),
            report: ImportReport::default(),
        }
    }

    /// The report so far (rows read, written and rejected), for progress displays.
    pub fn report(&self) -> &ImportReport {
        &self.report
    }

    /// Read the file's next line. Errors end the import: a bad CSV header, or a store
    /// failure (batches written before it stay written).
    pub async fn push_line(&mut self, line: &str) -> Result<()> {
        self.line += 1;
        match self.parser.parse(line) {
            Ok(None) => {}
            Ok(Some(row)) => {
                self.report.rows += 1;
                self.pending.push((self.line, row));
            }
            Err(err) if err.code == Code::InvalidImportHeader => return Err(err),
            Err(err) => {
                self.report.rows += 1;
                self.report.reject(self.line, err);
            }
        }
        if self.pending.len() >= BATCH_SIZE {
            self.flush().await?;
        }
        Ok(())
    }

    /// The next line was longer than [`MAX_LINE_BYTES`]: reject it unread.
    pub fn reject_oversized_line(&mut self) {
        self.reject_line(format!("The line is longer than {MAX_LINE_BYTES} bytes."));
    }

    /// The next line was not UTF-8: reject it unread.
    pub fn reject_line_not_utf8(&mut self) {
        self.reject_line("The line is not valid UTF-8.".to_owned());
    }

    fn reject_line(&mut self, message: String) {
        self.line += 1;
        self.report.rows += 1;
        self.report
            .reject(self.line, Error::new(Code::InvalidRow, message));
    }

    /// Write what is pending and return the report.
    pub async fn finish(mut self) -> Result<ImportReport> {
        self.flush().await?;
        self.report.errors.sort_by_key(|e| e.line);
        Ok(self.report)
    }

    async fn flush(&mut self) -> Result<()> {
        let rows = std::mem::take(&mut self.pending);
        if rows.is_empty() {
            return Ok(());
        }
        let mut checked = Vec::with_capacity(rows.len());
        let mut keys = HashSet::new();
        for (line, row) in rows {
            match Checked::new(row, &self.workspace) {
                Ok(row) => match row.key() {
                    None => self.report.reject(
                        line,
                        Error::field(
                            Code::FieldRequired,
                            "email",
                            "A row needs an external_id or an email to be matched by.",
                        ),
                    ),
                    Some(key) if !keys.insert(key.clone()) => self.report.reject(
                        line,
                        Error::new(
                            Code::DuplicateRow,
                            "An earlier row of the same batch is for the same user.",
                        ),
                    ),
                    Some(_) => checked.push((line, row)),
                },
                Err(err) => self.report.reject(line, err),
            }
        }
        let checked = self.hash_passwords(checked).await?;
        let plan = self.plan(checked).await?;
        self.write(plan).await
    }

    /// Rows with a plain `password`: checked against the workspace's policy and hashed
    /// (argon2id, on the bounded password pool), or rejected.
    async fn hash_passwords(&mut self, rows: Vec<(u64, Checked)>) -> Result<Vec<(u64, Checked)>> {
        let mut kept = Vec::with_capacity(rows.len());
        for (line, mut row) in rows {
            if let Some(password) = row.password.take() {
                let hashed = self
                    .roster
                    .passwords
                    .hash_with(
                        &password,
                        self.workspace.auth.password_policy(),
                        self.roster.random.as_ref(),
                    )
                    .await;
                match hashed {
                    Ok(hash) => row.password_hash = Some(hash),
                    Err(err) if err.kind() == crate::error::ErrorKind::Invalid => {
                        self.report.reject(line, err);
                        continue;
                    }
                    Err(err) => return Err(err),
                }
            }
            kept.push((line, row));
        }
        Ok(kept)
    }

    /// Decide for each row: a new user, an update, nothing, or a rejection.
    async fn plan(&mut self, rows: Vec<(u64, Checked)>) -> Result<Vec<(u64, ImportWrite)>> {
        let external_ids: Vec<String> = rows
            .iter()
            .filter_map(|(_, r)| r.external_id.clone())
            .collect();
        let email_keys: Vec<String> = rows
            .iter()
            .filter_map(|(_, r)| r.email.as_deref().map(email_key))
            .collect();
        let found = self
            .roster
            .store()
            .find_import_matches(self.workspace.key, &external_ids, &email_keys)
            .await?;
        let mut by_external_id = HashMap::new();
        let mut by_email = HashMap::new();
        for user in found {
            if let Some(external_id) = &user.external_id {
                by_external_id.insert(external_id.clone(), user.clone());
            }
            if !user.is_deleted() {
                by_email.insert(user.email_key(), user);
            }
        }
        let now = self.roster.now();
        // Emails this batch gives to users, so two rows cannot claim one.
        let mut claimed: HashMap<String, String> = HashMap::new();
        let mut writes = Vec::with_capacity(rows.len());
        for (line, row) in rows {
            let existing = match &row.external_id {
                Some(external_id) => by_external_id.get(external_id),
                None => row
                    .email
                    .as_deref()
                    .and_then(|e| by_email.get(&email_key(e))),
            };
            let planned = match existing {
                Some(user) if user.is_deleted() => Err(Error::field(
                    Code::ExternalIdRetired,
                    "external_id",
                    "This external_id belonged to a deleted user and cannot be reused.",
                )),
                Some(user) => self.update(user, &row, now),
                None => self.create(&row, now),
            };
            let write = match planned {
                Ok(Some(write)) => write,
                Ok(None) => {
                    self.report.unchanged += 1;
                    continue;
                }
                Err(err) => {
                    self.report.reject(line, err);
                    continue;
                }
            };
            // The email must be free: not another stored user's, not claimed by another row.
            let key = write.user.email_key();
            let taken_by_stored = by_email
                .get(&key)
                .is_some_and(|other| other.id != write.user.id);
            let taken_in_batch = claimed
                .get(&key)
                .is_some_and(|other| *other != write.user.id);
            if taken_by_stored || taken_in_batch {
                self.report
                    .reject(line, StoreError::Unique(crate::UniqueKey::UserEmail).into());
                continue;
            }
            claimed.insert(key, write.user.id.clone());
            writes.push((line, write));
        }
        Ok(writes)
    }

    fn create(
        &self,
        row: &Checked,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<ImportWrite>> {
        let required = |field: &'static str, value: &Option<String>| {
            value.clone().ok_or_else(|| {
                Error::field(
                    Code::FieldRequired,
                    field,
                    format!("{field} is required for a new user."),
                )
            })
        };
        let random = self.roster.random.as_ref();
        let user = User {
            key: 0,
            id: ids::new_sortable_id("usr", now, random),
            uuid: ids::new_uuid_v7(now, random),
            workspace_key: self.workspace.key,
            external_id: row.external_id.clone(),
            email: required("email", &row.email)?,
            name: required("name", &row.name)?,
            given_name: row.given_name.clone(),
            family_name: row.family_name.clone(),
            role: required("role", &row.role)?,
            status: match (row.send_invitation, row.status) {
                (true, None | Some(UserStatus::Invited)) => UserStatus::Invited,
                (true, Some(_)) => {
                    return Err(Error::field(
                        Code::InvalidField,
                        "send_invitation",
                        "A user sent an invitation starts invited; leave status out or make it invited.",
                    ))
                }
                (false, status) => status.unwrap_or(UserStatus::Active),
            },
            attributes: row.attributes.clone().unwrap_or_default(),
            created_at: now,
            updated_at: now,
            deleted_at: None,
            version: 1,
            sessions_limit: row.sessions_limit,
            allow_authentication_token: row.allow_authentication_token.unwrap_or(false),
            has_authentication_token: false,
            current_sign_in_at: None,
            last_sign_in_at: None,
        };
        let plan = if row.send_invitation {
            self.roster.plan(self.roster.invitation_effects(
                &self.workspace,
                &user,
                row.message.as_deref(),
            ))
        } else {
            Vec::new()
        };
        Ok(Some(ImportWrite {
            user,
            expected_version: None,
            password_hash: row.password_hash.clone(),
            plan,
        }))
    }

    fn update(
        &self,
        stored: &User,
        row: &Checked,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<ImportWrite>> {
        let mut user = stored.clone();
        row.apply(&mut user)?;
        if user == *stored && row.password_hash.is_none() {
            return Ok(None);
        }
        user.version = stored.version + 1;
        user.updated_at = now;
        Ok(Some(ImportWrite {
            user,
            expected_version: Some(stored.version),
            password_hash: row.password_hash.clone(),
            plan: Vec::new(),
        }))
    }

    /// Write the batch in one transaction. If a concurrent writer got in the way (an email
    /// taken, a row changed since it was read), write its rows one by one instead, so only
    /// the rows that collide are rejected.
    async fn write(&mut self, writes: Vec<(u64, ImportWrite)>) -> Result<()> {
        if writes.is_empty() {
            return Ok(());
        }
        let (lines, writes): (Vec<u64>, Vec<ImportWrite>) = writes.into_iter().unzip();
        match self.write_batch(&lines, &writes).await {
            Ok(()) => return Ok(()),
            Err(StoreError::Unique(_) | StoreError::Stale) if writes.len() > 1 => {}
            Err(err @ (StoreError::Unique(_) | StoreError::Stale)) => {
                self.report.reject(lines[0], err.into());
                return Ok(());
            }
            Err(err) => return Err(err.into()),
        }
        for (line, write) in lines.into_iter().zip(writes) {
            match self
                .write_batch(&[line], std::slice::from_ref(&write))
                .await
            {
                Ok(()) => {}
                Err(err @ (StoreError::Unique(_) | StoreError::Stale)) => {
                    self.report.reject(line, err.into())
                }
                Err(err) => return Err(err.into()),
            }
        }
        Ok(())
    }

    async fn write_batch(
        &mut self,
        lines: &[u64],
        writes: &[ImportWrite],
    ) -> Result<(), StoreError> {
        let ids = |new: bool| -> Vec<&str> {
            writes
                .iter()
                .filter(|w| w.expected_version.is_none() == new)
                .map(|w| w.user.id.as_str())
                .collect()
        };
        let (created, updated) = (ids(true), ids(false));
        let passwords: Vec<&str> = writes
            .iter()
            .filter(|w| w.password_hash.is_some())
            .map(|w| w.user.id.as_str())
            .collect();
        // Ids only: the rows' values are in the file, and password hashes never appear.
        let changes = json!({
            "created": created,
            "updated": updated,
            "password_set": passwords,
            "lines": {
                "first": lines.first(),
                "last": lines.last(),
            },
        });
        let event = self
            .roster
            .event(&self.ctx, Action::UserImport, None, changes);
        self.roster
            .store()
            .import_users(self.workspace.key, writes, &event)
            .await?;
        self.report.created += created.len() as u64;
        self.report.updated += updated.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn password_hashes_are_argon2id_or_bcrypt() {
        let argon2id =
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG";
        let bcrypt = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
        assert!(validate_password_hash(argon2id).is_ok());
        assert!(validate_password_hash(bcrypt).is_ok());
        for bad in [
            "secret",
            "$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
            "$2b$03$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
            "$2b$31$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
            "$argon2id$v=19$m=1048576,t=50,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
            "$2b$12$tooshort",
            "$argon2id$v=19$m=19456,t=2,p=1",
        ] {
            assert_eq!(
                validate_password_hash(bad).unwrap_err().code,
                Code::InvalidPasswordHash,
                "{bad}"
            );
        }
    }
}
