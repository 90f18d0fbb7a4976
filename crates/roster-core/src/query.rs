//! Querying users by conditions on their fields: the core's form of a SCIM filter
//! (RFC 7644 §3.4.2.2), sorted and paged either by position (`startIndex`) or by a keyset
//! cursor (RFC 9865).
//!
//! A surface translates its own filter language into a [`Condition`] tree; the store turns
//! the tree into one SQL statement. Text comparisons follow each field's [`UserField::case_exact`]:
//! the case-insensitive fields compare lower-cased forms the stores keep indexed, so `eq`
//! and `sw` are index lookups and range scans, and `co` on the user name, email and name
//! walks the trigram indexes.

use chrono::{DateTime, Utc};

use crate::error::{Code, Error, Result};
use base64::Engine;

use crate::listing::{checksum, fingerprint};
use crate::user::User;
use crate::workspace::Workspace;

/// The largest page a query returns.
pub const MAX_QUERY_LIMIT: u32 = 1_000;
/// A condition tree may hold at most this many comparisons (each is a SQL term).
pub const MAX_CONDITION_TERMS: usize = 64;
/// A comparison value may be at most this long.
pub const MAX_VALUE_CHARS: usize = 512;

/// A user field a condition can compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserField {
    /// The public id, `usr_…`.
    Id,
    UserName,
    Email,
    ExternalId,
    /// The display name.
    Name,
    GivenName,
    FamilyName,
    CreatedAt,
    UpdatedAt,
    /// `true` for an active user (bool comparisons only).
    Active,
}

impl UserField {
    /// Whether text comparisons on the field respect case (SCIM's `caseExact`).
    pub fn case_exact(self) -> bool {
        matches!(self, Self::Id | Self::ExternalId)
    }

    pub fn is_time(self) -> bool {
        matches!(self, Self::CreatedAt | Self::UpdatedAt)
    }

    /// Whether the field can be absent (SCIM's `pr` is false for it then).
    pub fn optional(self) -> bool {
        matches!(self, Self::ExternalId | Self::GivenName | Self::FamilyName)
    }
}

/// A comparison operator (SCIM's, `pr` aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Eq,
    Ne,
    Contains,
    StartsWith,
    EndsWith,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

/// What a field is compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Text(String),
    Time(DateTime<Utc>),
    Bool(bool),
}

/// A condition on a user.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Every user (no filter).
    All,
    Compare(UserField, Operator, Operand),
    /// The field has a value.
    Present(UserField),
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
}

impl Condition {
    fn terms(&self) -> usize {
        match self {
            Self::All => 0,
            Self::Compare(..) | Self::Present(_) => 1,
            Self::And(parts) | Self::Or(parts) => parts.iter().map(Self::terms).sum(),
            Self::Not(inner) => inner.terms(),
        }
    }

    /// Check operands against their fields: text for text fields (lower-cased for the
    /// case-insensitive ones, so stores compare the forms they index), times for times,
    /// booleans for `active` with `eq`/`ne` only.
    fn normalise(self) -> Result<Self> {
        Ok(match self {
            Self::Compare(field, op, operand) => {
                let operand = check_operand(field, op, operand)?;
                Self::Compare(field, op, operand)
            }
            Self::And(parts) => Self::And(
                parts
                    .into_iter()
                    .map(Self::normalise)
                    .collect::<Result<_>>()?,
            ),
            Self::Or(parts) => Self::Or(
                parts
                    .into_iter()
                    .map(Self::normalise)
                    .collect::<Result<_>>()?,
            ),
            Self::Not(inner) => Self::Not(Box::new(inner.normalise()?)),
            other => other,
        })
    }
}

fn check_operand(field: UserField, op: Operator, operand: Operand) -> Result<Operand> {
    let ordering = matches!(
        op,
        Operator::Greater | Operator::GreaterOrEqual | Operator::Less | Operator::LessOrEqual
    );
    let substring = matches!(
        op,
        Operator::Contains | Operator::StartsWith | Operator::EndsWith
    );
    match (field, operand) {
        (UserField::Active, Operand::Bool(b)) if !ordering && !substring => Ok(Operand::Bool(b)),
        (f, Operand::Time(t)) if f.is_time() && !substring => Ok(Operand::Time(t)),
        (f, Operand::Text(text)) if !f.is_time() && f != UserField::Active => {
            if text.chars().count() > MAX_VALUE_CHARS {
                return Err(invalid(format!(
                    "A comparison value may be at most {MAX_VALUE_CHARS} characters."
                )));
            }
            // No stored value holds one, and PostgreSQL's text cannot.
            if text.contains('\0') {
                return Err(invalid(
                    "A comparison value may not hold a NUL character.".into(),
                ));
            }
            Ok(Operand::Text(if f.case_exact() {
                text
            } else {
                text.to_lowercase()
            }))
        }
        (f, _) => Err(invalid(format!(
            "This comparison does not apply to {f:?}: {}.",
            if f == UserField::Active {
                "active compares with true or false, eq or ne"
            } else if f.is_time() {
                "a time compares with an RFC 3339 date-time"
            } else {
                "a text field compares with a string"
            }
        ))),
    }
}

fn invalid(message: String) -> Error {
    Error::field(Code::InvalidFilter, "filter", message)
}

/// The order of a query's results. Ties (and the default) go by creation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortField {
    /// Creation order (the user's integer key).
    #[default]
    Key,
    UserName,
    CreatedAt,
    UpdatedAt,
}

/// A query as a surface asks for it.
#[derive(Debug, Clone, Default)]
pub struct QueryRequest {
    pub condition: Option<Condition>,
    pub sort: SortField,
    pub descending: bool,
    /// 1-based position of the first result (SCIM's `startIndex`); ignored with a cursor.
    pub start_index: Option<u64>,
    /// Continue after the page this came from (RFC 9865 `cursor`); an empty string asks for
    /// the first page of a cursor walk.
    pub cursor: Option<String>,
    /// Page size; 0 asks only for the total.
    pub limit: u32,
}

/// A checked query, as the store receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct UserQuery {
    pub workspace_key: i64,
    /// Soft-deleted users are never matched.
    pub condition: Condition,
    pub sort: SortField,
    pub descending: bool,
    /// Skip this many matches (position paging).
    pub offset: u64,
    /// Keyset position: continue strictly after this sort value and key.
    pub after: Option<(SortValue, i64)>,
    /// Rows to fetch (one more than the page, to tell whether more follow).
    pub limit: u32,
}

/// A sort field's value, as cursors carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortValue {
    Key,
    Text(String),
    Time(DateTime<Utc>),
}

impl SortValue {
    fn of(sort: SortField, user: &User) -> Self {
        match sort {
            SortField::Key => Self::Key,
            SortField::UserName => Self::Text(user.user_name_key()),
            SortField::CreatedAt => Self::Time(user.created_at),
            SortField::UpdatedAt => Self::Time(user.updated_at),
        }
    }
}

/// One page of a query.
#[derive(Debug, Clone)]
pub struct QueryPage {
    pub users: Vec<User>,
    /// How many users match in all.
    pub total: u64,
    /// Where the next page starts, for cursor walks that have more.
    pub next_cursor: Option<String>,
}

impl UserQuery {
    /// Check `request` for `workspace`.
    pub fn build(workspace: &Workspace, request: QueryRequest) -> Result<Self> {
        if request.limit > MAX_QUERY_LIMIT {
            return Err(Error::field(
                Code::InvalidLimit,
                "count",
                format!("A page holds at most {MAX_QUERY_LIMIT} results."),
            ));
        }
        let condition = request.condition.unwrap_or(Condition::All);
        if condition.terms() > MAX_CONDITION_TERMS {
            return Err(invalid(format!(
                "A filter may hold at most {MAX_CONDITION_TERMS} comparisons."
            )));
        }
        let condition = condition.normalise()?;
        let mut query = Self {
            workspace_key: workspace.key,
            condition,
            sort: request.sort,
            descending: request.descending,
            offset: 0,
            after: None,
            limit: request.limit.saturating_add(1),
        };
        match request.cursor.as_deref() {
            Some("") | None => {}
            Some(token) => {
                query.after = Some(decode_cursor(token, query.sort, query.fingerprint())?)
            }
        }
        if query.after.is_none() {
            query.offset = request.start_index.unwrap_or(1).saturating_sub(1);
        }
        Ok(query)
    }

    /// The page size asked for.
    pub fn page_size(&self) -> usize {
        usize::try_from(self.limit.saturating_sub(1)).unwrap_or(usize::MAX)
    }

    fn fingerprint(&self) -> [u8; 8] {
        fingerprint(&[
            Some(&format!("{:?}", self.condition)),
            Some(&format!("{:?}{}", self.sort, self.descending)),
        ])
    }

    /// The cursor continuing after `last`.
    pub fn cursor_after(&self, last: &User) -> String {
        encode_cursor(
            &SortValue::of(self.sort, last),
            last.key,
            self.fingerprint(),
        )
    }
}

const QUERY_CURSOR_VERSION: u8 = 2;

/// A query cursor: version, key, fingerprint, the sort value's bytes, checksum. Unlike a
/// list cursor it carries a sort value of any length (a user name).
fn encode_cursor(value: &SortValue, key: i64, print: [u8; 8]) -> String {
    let mut bytes = vec![QUERY_CURSOR_VERSION];
    bytes.extend_from_slice(&key.to_be_bytes());
    bytes.extend_from_slice(&print);
    match value {
        SortValue::Key => {}
        SortValue::Text(text) => bytes.extend_from_slice(text.as_bytes()),
        SortValue::Time(at) => bytes.extend_from_slice(&at.timestamp_micros().to_be_bytes()),
    }
    let sum = checksum(&bytes);
    bytes.extend_from_slice(&sum);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn decode_cursor(token: &str, sort: SortField, print: [u8; 8]) -> Result<(SortValue, i64)> {
    let bad = || {
        Error::field(
            Code::InvalidCursor,
            "cursor",
            "The cursor is not one this query issued; pass nextCursor from the previous page unchanged, with the same filter and sort.",
        )
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.as_bytes())
        .map_err(|_| bad())?;
    if bytes.len() < 1 + 8 + 8 + 8 || bytes[0] != QUERY_CURSOR_VERSION {
        return Err(bad());
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    if checksum(body) != sum || body[9..17] != print {
        return Err(bad());
    }
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&body[1..9]);
    let key = i64::from_be_bytes(raw);
    let rest = &body[17..];
    let value = match sort {
        SortField::Key => SortValue::Key,
        SortField::UserName => {
            SortValue::Text(String::from_utf8(rest.to_vec()).map_err(|_| bad())?)
        }
        SortField::CreatedAt | SortField::UpdatedAt => {
            let raw: [u8; 8] = rest.try_into().map_err(|_| bad())?;
            SortValue::Time(
                DateTime::from_timestamp_micros(i64::from_be_bytes(raw)).ok_or_else(bad)?,
            )
        }
    };
    Ok((value, key))
}
