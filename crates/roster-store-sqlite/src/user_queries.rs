//! User queries (SCIM filters) on SQLite: the shared builder's SQL with this backend's
//! placeholders, prefix ranges and trigram index.

use chrono::{DateTime, Utc};
use roster_core::query::UserField;
use roster_store_rows::query::{prefix_end, QuerySql};

use crate::rows::{micros, Sql};

impl QuerySql for Sql {
    fn push(&mut self, sql: &str) {
        Sql::push(self, sql);
    }

    fn bind_text(&mut self, value: String) {
        self.bind(value);
    }

    fn bind_time(&mut self, value: DateTime<Utc>) {
        self.bind(micros(value));
    }

    fn bind_int(&mut self, value: i64) {
        self.bind(value);
    }

    /// User names, emails and names go through the FTS5 trigram index (which matches
    /// case-insensitively, as these fields compare) when the needle holds a trigram; the
    /// rest, and shorter needles, are a scan with `instr`.
    fn contains(&mut self, field: UserField, column: &str, needle: &str) {
        let indexed = match field {
            UserField::UserName => Some("user_name"),
            UserField::Email => Some("email"),
            UserField::Name => Some("name"),
            _ => None,
        };
        match indexed {
            Some(fts_column) if needle.chars().count() >= 3 => {
                Sql::push(
                    self,
                    "pk IN (SELECT rowid FROM users_search WHERE users_search MATCH ",
                );
                self.bind(format!(
                    "{fts_column} : \"{}\"",
                    needle.replace('"', "\"\"")
                ));
                Sql::push(self, ")");
            }
            _ => {
                Sql::push(self, &format!("(instr({column}, "));
                self.bind(needle.to_owned());
                Sql::push(self, ") > 0)");
            }
        }
    }

    /// SQLite's planner, without statistics, takes the index of all users (deleted ones
    /// too) and reads every row to skip the deleted; the live users' index needs no row.
    fn every_live_user(&self) -> &'static str {
        " INDEXED BY users_live"
    }

    fn starts_with(&mut self, column: &str, prefix: &str) {
        Sql::push(self, &format!("({column} >= "));
        self.bind(prefix.to_owned());
        Sql::push(self, &format!(" AND {column} < "));
        self.bind(prefix_end(prefix));
        Sql::push(self, ")");
    }
}
