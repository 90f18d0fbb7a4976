//! Substring conditions (SCIM's `co` on `userName`, `emails` and the names), planned as a
//! search is: by the trigram counts of `roster_store_rows::search`, a needle of rare
//! trigrams asks the FTS5 index for a few of them and checks each candidate; a needle whose
//! every trigram is common (an email domain most users share) is checked on each user in
//! list order, which fills a page after a few rows and counts without reading the index's
//! long lists. Asking FTS5 for the needle as a phrase instead read every one of its
//! trigrams' lists with their positions: two seconds for a shared domain at 100,000 users.
//!
//! The check is `roster_contains(text, needle)`, a function registered on every connection:
//! the same case-insensitive substring test as a search's (`Needle::found_in`), so both
//! plans give the same answer.

use std::collections::HashMap;

use roster_core::query::{Condition, Operand, Operator, UserField};
use roster_core::store::StoreError;
use roster_store_rows::search::{Needle, Plan, TrigramCounts};
use rusqlite::functions::FunctionFlags;
use rusqlite::Connection;

use crate::reader::Reader;

/// The SQL name of the check.
pub(crate) const CONTAINS: &str = "roster_contains";

/// Register [`CONTAINS`] on `conn`: `roster_contains(text, needle)` is 1 when `text` holds
/// `needle` (case-insensitively), 0 when not, NULL when `text` is NULL.
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        CONTAINS,
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            // The needle is the same for every row: folded and split once per statement.
            let needle = ctx.get_or_create_aux(1, |value| -> rusqlite::Result<Needle> {
                Ok(Needle::new(value.as_str().unwrap_or_default()))
            })?;
            let text = ctx
                .get_raw(0)
                .as_str_or_null()
                .map_err(|e| rusqlite::Error::UserFunctionError(Box::new(e)))?;
            Ok(text.map(|text| needle.found_in(text)))
        },
    )
}

/// The fields whose substrings the FTS5 index holds, with its column for each.
pub(crate) fn indexed_column(field: UserField) -> Option<&'static str> {
    match field {
        UserField::UserName => Some("user_name"),
        UserField::Email => Some("email"),
        UserField::Name => Some("name"),
        _ => None,
    }
}

/// How to find each indexed substring `condition` asks for (needles of three characters
/// or more), by the index's trigram counts.
pub(crate) fn plans(
    reader: &Reader,
    counts: &TrigramCounts,
    condition: &Condition,
) -> Result<HashMap<String, Plan>, StoreError> {
    let mut needles = Vec::new();
    collect(condition, &mut needles);
    let mut plans = HashMap::new();
    for text in needles {
        if text.chars().count() >= 3 && !plans.contains_key(text) {
            let plan = crate::user_search::plan(reader, counts, &Needle::new(text))?;
            plans.insert(text.to_owned(), plan);
        }
    }
    Ok(plans)
}

fn collect<'c>(condition: &'c Condition, needles: &mut Vec<&'c str>) {
    match condition {
        Condition::Compare(field, Operator::Contains, Operand::Text(text))
            if indexed_column(*field).is_some() =>
        {
            needles.push(text);
        }
        Condition::Not(inner) => collect(inner, needles),
        Condition::And(parts) | Condition::Or(parts) => {
            for part in parts {
                collect(part, needles);
            }
        }
        _ => {}
    }
}
