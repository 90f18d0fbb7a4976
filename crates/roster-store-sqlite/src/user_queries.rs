//! User queries (SCIM filters) on SQLite: the shared builder's SQL with this backend's
//! placeholders, prefix ranges and trigram index.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use roster_core::query::{Condition, Operand, Operator, UserField};
use roster_store_rows::query::{prefix_end, QuerySql};
use roster_store_rows::search::Plan;

use crate::rows::{micros, Sql};
use crate::substring::{indexed_column, CONTAINS};
use crate::user_search::in_columns;

/// A user query's SQL, with the plan of each substring it looks for
/// ([`crate::substring::plans`]).
#[derive(Debug, Default)]
pub(crate) struct UserQuerySql {
    pub sql: Sql,
    pub substrings: HashMap<String, Plan>,
}

impl QuerySql for UserQuerySql {
    fn push(&mut self, sql: &str) {
        self.sql.push(sql);
    }

    fn bind_text(&mut self, value: String) {
        self.sql.bind(value);
    }

    fn bind_time(&mut self, value: DateTime<Utc>) {
        self.sql.bind(micros(value));
    }

    fn bind_int(&mut self, value: i64) {
        self.sql.bind(value);
    }

    /// User names, emails and names, with a needle of three characters or more, are found
    /// as the needle's plan says (see [`crate::substring`]): a check of each user in list
    /// order when every trigram is common (or no plan was made), else the index asked for
    /// the planned trigrams and each candidate checked. The other fields, and shorter
    /// needles, are a scan with `instr`.
    fn contains(&mut self, field: UserField, column: &str, needle: &str) {
        let indexed = indexed_column(field).filter(|_| needle.chars().count() >= 3);
        let Some(fts_column) = indexed else {
            self.sql.push(&format!("(instr({column}, "));
            self.sql.bind(needle.to_owned());
            self.sql.push(") > 0)");
            return;
        };
        let planned = self.substrings.get(needle);
        self.sql.push("(");
        if let Some(plan) = planned.filter(|p| asks_the_index(p)) {
            self.sql
                .push("pk IN (SELECT rowid FROM users_search WHERE users_search MATCH ");
            self.sql.bind(in_columns(fts_column, &plan.trigrams));
            self.sql.push(") AND ");
        }
        self.sql.push(&format!("{CONTAINS}({column}, "));
        self.sql.bind(needle.to_owned());
        self.sql.push("))");
    }

    /// SQLite's planner, without statistics, takes the index of all users (deleted ones
    /// too) and reads every row to skip the deleted; the live users' index needs no row.
    fn every_live_user(&self) -> &'static str {
        " INDEXED BY users_live"
    }

    /// A substring of common trigrams (or too short for them), an end or an inequality on
    /// the user name, email or name checks every live user: walking the field's own index
    /// reads its lower-cased column from the index's entries, a half to a quarter of the
    /// time of reading it from each user's row (by the creation-time index SQLite picks).
    fn counting_index(&self, condition: &Condition) -> &'static str {
        let Condition::Compare(field, op, Operand::Text(needle)) = condition else {
            return "";
        };
        let checks_everyone = match op {
            Operator::Contains => !self.substrings.get(needle).is_some_and(asks_the_index),
            Operator::EndsWith | Operator::Ne => true,
            _ => false,
        };
        match (checks_everyone, field) {
            (true, UserField::Email) => " INDEXED BY users_email_key",
            (true, UserField::UserName) => " INDEXED BY users_user_name_key",
            (true, UserField::Name) => " INDEXED BY users_name_lower",
            _ => "",
        }
    }

    fn starts_with(&mut self, column: &str, prefix: &str) {
        self.sql.push(&format!("({column} >= "));
        self.sql.bind(prefix.to_owned());
        self.sql.push(&format!(" AND {column} < "));
        self.sql.bind(prefix_end(prefix));
        self.sql.push(")");
    }
}

/// Whether a substring's plan narrows the users by the trigram index first; if not, every
/// user is checked (in list order for a page, all of them for a count).
fn asks_the_index(plan: &Plan) -> bool {
    !plan.scan_first && !plan.trigrams.is_empty()
}
