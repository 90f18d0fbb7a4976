//! User queries (SCIM filters) on PostgreSQL: the shared builder's SQL with this backend's
//! binds, byte-order (`COLLATE "C"`) comparisons its prefix indexes serve, and pg_trgm.

use chrono::{DateTime, Utc};
use roster_core::query::UserField;
use roster_store_rows::query::{like_escape, prefix_end, QuerySql};
use sqlx::{Postgres, QueryBuilder};

/// A query being built.
pub(crate) struct PgQuery(pub QueryBuilder<'static, Postgres>);

impl PgQuery {
    pub(crate) fn new() -> Self {
        Self(QueryBuilder::new(""))
    }
}

impl QuerySql for PgQuery {
    fn push(&mut self, sql: &str) {
        self.0.push(sql);
    }

    fn bind_text(&mut self, value: String) {
        self.0.push_bind(value);
    }

    fn bind_time(&mut self, value: DateTime<Utc>) {
        self.0.push_bind(value);
    }

    fn bind_int(&mut self, value: i64) {
        self.0.push_bind(value);
    }

    /// User names, emails and names are matched with `ILIKE` on the columns their trigram
    /// indexes cover (case-insensitive, as these fields compare); the rest with `strpos`.
    fn contains(&mut self, field: UserField, column: &str, needle: &str) {
        let indexed = match field {
            UserField::UserName => Some("user_name"),
            UserField::Email => Some("email"),
            UserField::Name => Some("name"),
            _ => None,
        };
        match indexed {
            Some(trigram_column) => {
                self.0.push(format!("({trigram_column} ILIKE "));
                self.0.push_bind(format!("%{}%", like_escape(needle)));
                self.0.push(")");
            }
            None => {
                self.0.push(format!("(strpos({column}, "));
                self.0.push_bind(needle.to_owned());
                self.0.push(") > 0)");
            }
        }
    }

    fn starts_with(&mut self, column: &str, prefix: &str) {
        let column = self.collated(column);
        self.0.push(format!("({column} >= "));
        self.0.push_bind(prefix.to_owned());
        self.0.push(format!(" AND {column} < "));
        self.0.push_bind(prefix_end(prefix));
        self.0.push(")");
    }

    fn collated(&self, column: &str) -> String {
        format!("({column} COLLATE \"C\")")
    }
}
