//! Listing users: filters, page sizes and opaque keyset cursors.
//!
//! Lists are ordered newest first by the user's integer key. A cursor carries the last key
//! a page showed and a fingerprint of the filters it was made under, so the next page starts
//! strictly after it (stable while other users are created) and a cursor cannot be replayed
//! against other filters. A checksum makes any edit of the token a 400 rather than a jump to
//! an arbitrary place; the cursor grants nothing, since every page is still scoped to the
//! caller's workspace.

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::{Code, Error, Result};
use crate::user::{email_key, validate_role, UserStatus};
use crate::workspace::Workspace;

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;
/// Searches are trigram-indexed, so a search needs three characters to use the index; a
/// shorter one would scan every user, and is refused instead.
pub const MIN_SEARCH_CHARS: usize = 3;
pub const MAX_SEARCH_CHARS: usize = 128;

const CURSOR_VERSION: u8 = 1;
const CURSOR_LEN: usize = 1 + 8 + 8 + 8 + 8;

/// Filters as a surface received them (strings, unchecked).
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub role: Option<String>,
    pub status: Option<String>,
    pub search: Option<String>,
    pub email: Option<String>,
    /// A group id: only users whose membership of it counts now.
    pub group: Option<String>,
    /// Soft-deleted users too.
    pub include_deleted: bool,
}

/// One page request as a surface received it.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl Page {
    /// Check the page size and cursor of a list keyed by one integer (newest first), made
    /// under filters with fingerprint `print`: the page size, and the key to continue below.
    pub(crate) fn bounds(&self, print: [u8; 8]) -> Result<(u32, Option<i64>)> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::field(
                Code::InvalidLimit,
                "limit",
                format!("limit must be between 1 and {MAX_LIMIT}."),
            ));
        }
        let before = match non_empty(&self.cursor) {
            Some(token) => Some(Cursor::decode_for(token, print)?.position().0),
            None => None,
        };
        Ok((limit, before))
    }
}

/// Cut `items` (fetched with one more than `limit`) to the page, and return the cursor
/// after its last item when more follow.
pub(crate) fn cut_page<T>(
    items: &mut Vec<T>,
    limit: u32,
    print: [u8; 8],
    key: impl Fn(&T) -> i64,
) -> Option<Cursor> {
    let size = usize::try_from(limit).unwrap_or(usize::MAX);
    if items.len() > size {
        items.truncate(size);
        items.last().map(|last| Cursor::new((key(last), 0), print))
    } else {
        None
    }
}

/// A checked list request, as the store receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserListRequest {
    pub workspace_key: i64,
    pub role: Option<String>,
    pub status: Option<UserStatus>,
    /// Case-insensitive substring of name or email; trimmed, never empty.
    pub search: Option<String>,
    /// Exact match on the lower-cased email.
    pub email_key: Option<String>,
    pub include_deleted: bool,
    /// Only members of this group whose membership counts at `as_of` (micros since the
    /// epoch are what the stores compare).
    pub group_key: Option<i64>,
    pub as_of: chrono::DateTime<chrono::Utc>,
    /// Only users whose key is below this (the previous page's last key).
    pub before_key: Option<i64>,
    /// Skip this many matching users first (numbered pages, seed 004's `page=N`).
    pub offset: u64,
    /// How many rows to fetch.
    pub limit: u32,
}

impl UserListRequest {
    /// Check `filter` and `page` for `workspace`. The returned request's `limit` is one
    /// more than the page size, so the caller can tell whether more follow.
    /// `group_key` is the key of `filter.group`, which the caller has looked up; `as_of` is
    /// the time group memberships are judged at.
    pub fn build(
        workspace: &Workspace,
        filter: &UserFilter,
        page: &Page,
        group_key: Option<i64>,
        as_of: chrono::DateTime<chrono::Utc>,
    ) -> Result<Self> {
        let limit = page.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::field(
                Code::InvalidLimit,
                "limit",
                format!("limit must be between 1 and {MAX_LIMIT}."),
            ));
        }
        let role = non_empty(&filter.role)
            .map(|role| validate_role(workspace, role))
            .transpose()?;
        let status = non_empty(&filter.status)
            .map(UserStatus::parse)
            .transpose()?;
        let search = non_empty(&filter.search).map(str::to_owned);
        let search_chars = search.as_ref().map_or(0, |s| s.chars().count());
        if search_chars > MAX_SEARCH_CHARS {
            return Err(Error::field(
                Code::FieldTooLong,
                "search",
                format!("search may be at most {MAX_SEARCH_CHARS} characters."),
            ));
        }
        if (1..MIN_SEARCH_CHARS).contains(&search_chars) {
            return Err(Error::field(
                Code::SearchTooShort,
                "search",
                format!("search needs at least {MIN_SEARCH_CHARS} characters."),
            ));
        }
        let email_key = non_empty(&filter.email).map(email_key);
        let mut request = Self {
            workspace_key: workspace.key,
            role,
            status,
            search,
            email_key,
            include_deleted: filter.include_deleted,
            group_key,
            as_of,
            before_key: None,
            offset: 0,
            limit: limit + 1,
        };
        if let Some(token) = non_empty(&page.cursor) {
            let cursor = Cursor::decode_for(token, request.fingerprint())?;
            request.before_key = Some(cursor.position().0);
        }
        Ok(request)
    }

    /// The page size the caller asked for.
    pub fn page_size(&self) -> usize {
        usize::try_from(self.limit.saturating_sub(1)).unwrap_or(usize::MAX)
    }

    /// A cursor that continues after `last_key` under the same filters.
    pub fn cursor_after(&self, last_key: i64) -> Cursor {
        Cursor::new((last_key, 0), self.fingerprint())
    }

    fn fingerprint(&self) -> [u8; 8] {
        fingerprint(&[
            self.role.as_deref(),
            self.status.map(UserStatus::as_str),
            self.search.as_deref(),
            self.email_key.as_deref(),
            Some(if self.include_deleted { "d" } else { "" }),
            self.group_key.map(|k| k.to_string()).as_deref(),
        ])
    }
}

/// A short hash of a list's filters, so a cursor cannot be replayed under other filters.
pub(crate) fn fingerprint(parts: &[Option<&str>]) -> [u8; 8] {
    let mut hash = Sha256::new();
    for part in parts {
        // Length-prefix each part so that no two filter sets hash the same input.
        let part = part.unwrap_or("\u{0}");
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    first_8(&hash.finalize())
}

/// Where the next page starts: the last position a page showed (one or two numbers, as the
/// list orders by them) and the fingerprint of its filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    position: (i64, i64),
    fingerprint: [u8; 8],
}

impl Cursor {
    pub(crate) fn new(position: (i64, i64), fingerprint: [u8; 8]) -> Self {
        Self {
            position,
            fingerprint,
        }
    }

    pub(crate) fn position(&self) -> (i64, i64) {
        self.position
    }

    /// Decode `token` and check it was made under filters with this fingerprint.
    pub(crate) fn decode_for(token: &str, fingerprint: [u8; 8]) -> Result<Self> {
        let cursor = Self::decode(token)?;
        if cursor.fingerprint != fingerprint {
            return Err(Error::field(
                Code::InvalidCursor,
                "cursor",
                "This cursor was made for other filters; repeat the filters it came with.",
            ));
        }
        Ok(cursor)
    }

    /// The opaque token handed to clients.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(CURSOR_LEN);
        bytes.push(CURSOR_VERSION);
        bytes.extend_from_slice(&self.position.0.to_be_bytes());
        bytes.extend_from_slice(&self.position.1.to_be_bytes());
        bytes.extend_from_slice(&self.fingerprint);
        let sum = checksum(&bytes);
        bytes.extend_from_slice(&sum);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn decode(token: &str) -> Result<Self> {
        let bad = || {
            Error::field(
                Code::InvalidCursor,
                "cursor",
                "The cursor is not one Roster issued; pass next_cursor from the previous page unchanged.",
            )
        };
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.as_bytes())
            .map_err(|_| bad())?;
        if bytes.len() != CURSOR_LEN || bytes[0] != CURSOR_VERSION {
            return Err(bad());
        }
        let (body, sum) = bytes.split_at(CURSOR_LEN - 8);
        if checksum(body) != sum {
            return Err(bad());
        }
        let number = |at: usize| {
            let mut raw = [0u8; 8];
            raw.copy_from_slice(&body[at..at + 8]);
            i64::from_be_bytes(raw)
        };
        let mut fingerprint = [0u8; 8];
        fingerprint.copy_from_slice(&body[17..25]);
        Ok(Self {
            position: (number(1), number(9)),
            fingerprint,
        })
    }
}

pub(crate) fn checksum(bytes: &[u8]) -> [u8; 8] {
    let mut hash = Sha256::new();
    hash.update(b"roster.cursor.v1");
    hash.update(bytes);
    first_8(&hash.finalize())
}

fn first_8(bytes: &[u8]) -> [u8; 8] {
    let mut out = [0u8; 8];
    out.copy_from_slice(&bytes[..8]);
    out
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn workspace() -> Workspace {
        Workspace {
            key: 7,
            id: "ws_1".into(),
            name: "default".into(),
            roles: vec!["admin".into(), "viewer".into()],
            created_at: Utc::now(),
            is_operator: false,
            rate_limit_per_minute: None,
            audit_retention_days: 90,
            invitations: Default::default(),
            auth: Default::default(),
        }
    }

    #[test]
    fn cursor_round_trips_under_same_filters() {
        let filter = UserFilter {
            role: Some("admin".into()),
            ..Default::default()
        };
        let first =
            UserListRequest::build(&workspace(), &filter, &Page::default(), None, Utc::now())
                .unwrap();
        assert_eq!(first.limit, DEFAULT_LIMIT + 1);
        let token = first.cursor_after(42).encode();
        let page = Page {
            limit: Some(5),
            cursor: Some(token),
        };
        let next = UserListRequest::build(&workspace(), &filter, &page, None, Utc::now()).unwrap();
        assert_eq!(next.before_key, Some(42));
        assert_eq!(next.page_size(), 5);
    }

    #[test]
    fn tampered_or_foreign_cursors_are_refused() {
        let request = UserListRequest::build(
            &workspace(),
            &UserFilter::default(),
            &Page::default(),
            None,
            Utc::now(),
        )
        .unwrap();
        let token = request.cursor_after(42).encode();
        let mut tampered = token.clone().into_bytes();
        tampered[4] = if tampered[4] == b'A' { b'B' } else { b'A' };
        for bad in [
            String::from_utf8(tampered).unwrap(),
            "eyJpZCI6ICJ1c3Jf".into(),
            "!!".into(),
        ] {
            let page = Page {
                cursor: Some(bad),
                ..Default::default()
            };
            let err = UserListRequest::build(
                &workspace(),
                &UserFilter::default(),
                &page,
                None,
                Utc::now(),
            )
            .unwrap_err();
            assert_eq!(err.code, Code::InvalidCursor);
        }
        let other = UserFilter {
            status: Some("active".into()),
            ..Default::default()
        };
        let page = Page {
            cursor: Some(token),
            ..Default::default()
        };
        let err =
            UserListRequest::build(&workspace(), &other, &page, None, Utc::now()).unwrap_err();
        assert_eq!(err.code, Code::InvalidCursor);
    }

    #[test]
    fn limits_and_filters_are_checked() {
        for limit in [0, MAX_LIMIT + 1] {
            let page = Page {
                limit: Some(limit),
                ..Default::default()
            };
            let err = UserListRequest::build(
                &workspace(),
                &UserFilter::default(),
                &page,
                None,
                Utc::now(),
            )
            .unwrap_err();
            assert_eq!(err.code, Code::InvalidLimit);
        }
        let bad_role = UserFilter {
            role: Some("editor".into()),
            ..Default::default()
        };
        assert_eq!(
            UserListRequest::build(&workspace(), &bad_role, &Page::default(), None, Utc::now())
                .unwrap_err()
                .code,
            Code::UnknownRole
        );
        let short = UserFilter {
            search: Some(" ab ".into()),
            ..Default::default()
        };
        assert_eq!(
            UserListRequest::build(&workspace(), &short, &Page::default(), None, Utc::now())
                .unwrap_err()
                .code,
            Code::SearchTooShort
        );
        let bad_status = UserFilter {
            status: Some("deleted".into()),
            ..Default::default()
        };
        assert_eq!(
            UserListRequest::build(
                &workspace(),
                &bad_status,
                &Page::default(),
                None,
                Utc::now()
            )
            .unwrap_err()
            .code,
            Code::InvalidStatus
        );
        let email = UserFilter {
            email: Some(" Jane@Example.com ".into()),
            search: Some("  ".into()),
            ..Default::default()
        };
        let request =
            UserListRequest::build(&workspace(), &email, &Page::default(), None, Utc::now())
                .unwrap();
        assert_eq!(request.email_key.as_deref(), Some("jane@example.com"));
        assert_eq!(request.search, None);
    }
}
