//! Bulk import of users from NDJSON or CSV.
//!
//! A surface (the HTTP API, the CLI) feeds the file line by line to an [`Importer`]; rows are
//! validated one by one and written in batches of [`BATCH_SIZE`], each batch one transaction
//! with one `user.import` event. Rows are matched to existing users by `external_id` (or,
//! without one, by email), so running the same import twice updates and never duplicates. A
//! rejected row is reported with its line number and error and leaves nothing behind.
//!
//! **One batch in flight.** A batch's transaction runs as a task of its own while the next
//! batch is read, parsed and checked; the next batch is matched against the store only once
//! the one before is written, so a row always sees the rows above it. The store's writer
//! (SQLite's one thread) therefore never waits for the parsing.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::{json, Value};

use crate::attributes::{self, Attributes};
use crate::audit::{Action, AuditContext, NewEvent};
use crate::error::{Code, Error, Result};
use crate::ids;
use crate::roster::Roster;
use crate::store::{ImportWrite, StoreError};
use crate::transfer::format::{FileFormat, ImportRow, RowParser};
use crate::user::{
    email_key, validate_email, validate_external_id, validate_name, validate_role, User, UserStatus,
};
use crate::workspace::Workspace;

/// Rows written per transaction. Larger batches write each touched index page once for more
/// rows (the email, user name and name indexes take keys in random order) and leave the
/// search index fewer segments to merge: at a million users on two cores, batches of 5,000
/// imported in 72 s and batches of 20,000 in 57 s. A batch holds SQLite's write lock for
/// about a second at that size (other writes wait behind it).
pub const BATCH_SIZE: usize = 20000;
/// Rejected rows reported in full; past this only counted.
pub const MAX_REPORTED_ERRORS: usize = 1000;
/// The longest line an import reads; a longer one is rejected as a row.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

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
    user_name: Option<String>,
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
            user_name: text(row.user_name)
                .map(|v| crate::user::validate_user_name(&v))
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
        set(&mut user.user_name, &self.user_name);
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
    /// The batch being written while the next one is read.
    writing: Option<Writing>,
}

/// A batch whose transaction runs as a task of its own.
struct Writing {
    lines: Vec<u64>,
    task: tokio::task::JoinHandle<(Vec<ImportWrite>, Result<(), StoreError>)>,
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
            writing: None,
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
        self.written().await?;
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
        // The batch before must be in the store before this one is matched against it.
        self.written().await?;
        let plan = self.plan(checked).await?;
        self.start_writing(plan);
        Ok(())
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
            user_name: match &row.user_name {
                Some(user_name) => user_name.clone(),
                None => required("email", &row.email)?,
            },
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

    /// Start writing the batch in one transaction, as a task of its own (see
    /// [`written`](Self::written)).
    fn start_writing(&mut self, writes: Vec<(u64, ImportWrite)>) {
        if writes.is_empty() {
            return;
        }
        let (lines, writes): (Vec<u64>, Vec<ImportWrite>) = writes.into_iter().unzip();
        let event = self.batch_event(&lines, &writes);
        let store = self.roster.store.clone();
        let workspace_key = self.workspace.key;
        let task = tokio::spawn(async move {
            let result = store.import_users(workspace_key, &writes, &event).await;
            (writes, result)
        });
        self.writing = Some(Writing { lines, task });
    }

    /// Wait for the batch being written, if any. If a concurrent writer got in the way (an
    /// email taken, a row changed since it was read), write its rows one by one instead, so
    /// only the rows that collide are rejected.
    async fn written(&mut self) -> Result<()> {
        let Some(writing) = self.writing.take() else {
            return Ok(());
        };
        let (writes, result) = writing
            .task
            .await
            .map_err(|e| Error::new(Code::Internal, format!("import batch failed: {e}")))?;
        match result {
            Ok(()) => {
                self.count_written(&writes);
                Ok(())
            }
            Err(StoreError::Unique(_) | StoreError::Stale) => {
                self.write_one_by_one(writing.lines, writes).await
            }
            Err(err) => Err(err.into()),
        }
    }

    async fn write_one_by_one(&mut self, lines: Vec<u64>, writes: Vec<ImportWrite>) -> Result<()> {
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
        let event = self.batch_event(lines, writes);
        self.roster
            .store()
            .import_users(self.workspace.key, writes, &event)
            .await?;
        self.count_written(writes);
        Ok(())
    }

    /// Count `writes`, just written, in the report: the users created and updated.
    fn count_written(&mut self, writes: &[ImportWrite]) {
        let created = writes
            .iter()
            .filter(|w| w.expected_version.is_none())
            .count() as u64;
        self.report.created += created;
        self.report.updated += writes.len() as u64 - created;
    }

    /// The `user.import` event of a batch: the ids it creates and updates, and its lines.
    fn batch_event(&self, lines: &[u64], writes: &[ImportWrite]) -> NewEvent {
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
        self.roster
            .event(&self.ctx, Action::UserImport, None, changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
