//! The SQL of a user query ([`UserQuery`]): its WHERE clause, order and keyset position,
//! written once over a backend's [`QuerySql`] (which binds values its own way and says how
//! it walks a prefix or a substring with its indexes).

use chrono::{DateTime, Utc};
use roster_core::query::{
    Condition, Operand, Operator, SortField, SortValue, UserField, UserQuery,
};

/// What a backend gives the query builder.
pub trait QuerySql {
    fn push(&mut self, sql: &str);
    fn bind_text(&mut self, value: String);
    fn bind_time(&mut self, value: DateTime<Utc>);
    fn bind_int(&mut self, value: i64);
    /// A term true when `column` (lower-cased unless the field is case-exact) contains
    /// `needle`, through the backend's trigram index for `field` where it has one.
    fn contains(&mut self, field: UserField, column: &str, needle: &str);
    /// A term true when `column` starts with `prefix`, as a range scan of its index.
    fn starts_with(&mut self, column: &str, prefix: &str);
    /// `column` as text comparisons and orderings use it: in byte order, the order its
    /// indexes keep.
    fn collated(&self, column: &str) -> String {
        column.to_owned()
    }
    /// What follows `FROM users` in a query of every live user (no condition): a backend
    /// whose planner needs it names the index of live users, whose entries alone (no
    /// table reads) walk and count them.
    fn every_live_user(&self) -> &'static str {
        ""
    }
    /// What follows `FROM users` in a count of `condition`'s matches: a backend names the
    /// index a count walks fastest when the condition checks every user anyway (a
    /// substring of common pieces), the one that holds the field's own column.
    fn counting_index(&self, _condition: &Condition) -> &'static str {
        ""
    }
}

/// The column (or expression) a field's comparisons use: the lower-cased forms the stores
/// keep for the case-insensitive fields.
pub fn column(field: UserField) -> &'static str {
    match field {
        UserField::Id => "id",
        UserField::UserName => "user_name_key",
        UserField::Email => "email_key",
        UserField::ExternalId => "external_id",
        UserField::Name => "lower(name)",
        UserField::GivenName => "lower(given_name)",
        UserField::FamilyName => "lower(family_name)",
        UserField::CreatedAt => "created_at",
        UserField::UpdatedAt => "updated_at",
        UserField::Active => "status",
    }
}

/// The upper bound of a prefix range: the prefix followed by the highest code point.
pub fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// `%` and `_` escaped (with `\`) for a LIKE pattern.
pub fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// `SELECT <what> FROM users WHERE` the workspace, live users and the condition.
fn push_from(q: &mut impl QuerySql, what: &str, query: &UserQuery) {
    q.push(&format!(
        "SELECT {what} FROM users{} WHERE ",
        hint(q, query)
    ));
    push_where(q, query);
}

fn hint(q: &impl QuerySql, query: &UserQuery) -> &'static str {
    if query.condition == Condition::All && query.sort == SortField::Key {
        q.every_live_user()
    } else {
        ""
    }
}

fn push_where(q: &mut impl QuerySql, query: &UserQuery) {
    q.push("workspace_pk = ");
    q.bind_int(query.workspace_key);
    q.push(" AND deleted_at IS NULL AND ");
    push_condition(q, &query.condition);
}

/// Whether the condition pins a unique field (`id`, `userName`, `externalId`, email) with
/// `eq`, alone or in an `and`: at most a few rows match, best found by that field's index
/// and then put in order, rather than by walking every user in key order.
fn pins_a_unique_field(condition: &Condition) -> bool {
    match condition {
        Condition::Compare(
            UserField::Id | UserField::UserName | UserField::Email | UserField::ExternalId,
            Operator::Eq,
            Operand::Text(_),
        ) => true,
        Condition::And(parts) => parts.iter().any(pins_a_unique_field),
        _ => false,
    }
}

/// The statement counting a query's matches.
pub fn count(q: &mut impl QuerySql, query: &UserQuery) {
    let hint = match hint(q, query) {
        "" => q.counting_index(&query.condition),
        hint => hint,
    };
    q.push(&format!("SELECT count(*) FROM users{hint} WHERE "));
    push_where(q, query);
}

/// The statement selecting a query's page (`columns` is what the backend reads a user from).
pub fn page(q: &mut impl QuerySql, columns: &str, query: &UserQuery) {
    push_from(q, columns, query);
    let sort = sort_column(query.sort).map(|col| match query.sort {
        SortField::UserName => q.collated(col),
        _ => col.to_owned(),
    });
    let sort = sort.as_deref();
    let direction = if query.descending { "DESC" } else { "ASC" };
    if let Some((value, key)) = &query.after {
        let cmp = if query.descending { "<" } else { ">" };
        match (sort, value) {
            (None, _) | (_, SortValue::Key) => {
                q.push(&format!(" AND pk {cmp} "));
                q.bind_int(*key);
            }
            (Some(col), SortValue::Text(text)) => {
                q.push(&format!(" AND ({col}, pk) {cmp} ("));
                q.bind_text(text.clone());
                q.push(", ");
                q.bind_int(*key);
                q.push(")");
            }
            (Some(col), SortValue::Time(at)) => {
                q.push(&format!(" AND ({col}, pk) {cmp} ("));
                q.bind_time(*at);
                q.push(", ");
                q.bind_int(*key);
                q.push(")");
            }
        }
    }
    let by_key = if pins_a_unique_field(&query.condition) {
        // `+pk` is not the key's index: the few matches are found by the pinned field's.
        "+pk"
    } else {
        "pk"
    };
    let mut offset = query.offset;
    if let (None, true) = (sort, offset > 0) {
        // A page far down starts at the key `offset` matches along, found by a walk of
        // keys alone (the filter indexes end in the key): rows are read for the page only.
        let (cmp, order) = if query.descending {
            ("<=", "DESC")
        } else {
            (">=", "ASC")
        };
        let hint = hint(q, query);
        q.push(&format!(" AND pk {cmp} (SELECT pk FROM users{hint} WHERE "));
        push_where(q, query);
        q.push(&format!(" ORDER BY {by_key} {order} LIMIT 1 OFFSET "));
        q.bind_int(i64::try_from(offset).unwrap_or(i64::MAX));
        q.push(")");
        offset = 0;
    }
    match sort {
        Some(col) => q.push(&format!(
            " ORDER BY {col} {direction}, pk {direction} LIMIT "
        )),
        None => q.push(&format!(" ORDER BY {by_key} {direction} LIMIT ")),
    }
    q.bind_int(i64::from(query.limit));
    if offset > 0 {
        q.push(" OFFSET ");
        q.bind_int(i64::try_from(offset).unwrap_or(i64::MAX));
    }
}

fn sort_column(sort: SortField) -> Option<&'static str> {
    match sort {
        SortField::Key => None,
        SortField::UserName => Some("user_name_key"),
        SortField::CreatedAt => Some("created_at"),
        SortField::UpdatedAt => Some("updated_at"),
    }
}

/// A condition as one parenthesised SQL term.
pub fn push_condition(q: &mut impl QuerySql, condition: &Condition) {
    match condition {
        Condition::All => q.push("1 = 1"),
        Condition::Present(field) => push_present(q, *field),
        Condition::Compare(field, op, operand) => push_compare(q, *field, *op, operand),
        Condition::Not(inner) => {
            q.push("NOT (");
            push_condition(q, inner);
            q.push(")");
        }
        Condition::And(parts) | Condition::Or(parts) => {
            if parts.is_empty() {
                q.push(if matches!(condition, Condition::And(_)) {
                    "1 = 1"
                } else {
                    "1 = 0"
                });
                return;
            }
            let joiner = if matches!(condition, Condition::And(_)) {
                " AND "
            } else {
                " OR "
            };
            q.push("(");
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    q.push(joiner);
                }
                push_condition(q, part);
            }
            q.push(")");
        }
    }
}

fn push_present(q: &mut impl QuerySql, field: UserField) {
    if field.optional() {
        let col = column(field);
        q.push(&format!("({col} IS NOT NULL AND {col} <> '')"));
    } else {
        q.push("1 = 1");
    }
}

fn push_compare(q: &mut impl QuerySql, field: UserField, op: Operator, operand: &Operand) {
    let col = column(field);
    match operand {
        Operand::Bool(active) => {
            // `active eq true` / `active ne false` both mean the status is active.
            let wants_active = *active == (op == Operator::Eq);
            q.push(if wants_active {
                "status = 'active'"
            } else {
                "status <> 'active'"
            });
        }
        Operand::Time(at) => {
            q.push(&format!("({col} {} ", sql_operator(op)));
            q.bind_time(*at);
            q.push(")");
        }
        Operand::Text(text)
            if field == UserField::Email
                && matches!(
                    op,
                    Operator::Contains | Operator::StartsWith | Operator::EndsWith
                ) =>
        {
            // A user without an email has a placeholder key: no piece of it is an email's.
            q.push("(");
            push_text(q, field, col, op, text);
            q.push(&format!(
                " AND substr({col}, 1, {}) <> '{}')",
                roster_core::user::NO_EMAIL_KEY.len(),
                roster_core::user::NO_EMAIL_KEY
            ));
        }
        Operand::Text(text) => push_text(q, field, col, op, text),
    }
}

/// `col` compared with `text` by `op`.
fn push_text(q: &mut impl QuerySql, field: UserField, col: &str, op: Operator, text: &str) {
    match op {
        Operator::Contains => q.contains(field, col, text),
        Operator::StartsWith => q.starts_with(col, text),
        Operator::EndsWith => {
            // The length is a number this code counted, so it is written into the
            // statement (PostgreSQL's substr takes an integer, not a bound bigint).
            let n = text.chars().count();
            q.push(&format!(
                "(length({col}) >= {n} AND substr({col}, length({col}) - {n} + 1) = "
            ));
            q.bind_text(text.to_owned());
            q.push(")");
        }
        Operator::Ne => {
            let collated = q.collated(col);
            q.push(&format!("({col} IS NULL OR {collated} <> "));
            q.bind_text(text.to_owned());
            q.push(")");
        }
        _ => {
            let collated = q.collated(col);
            q.push(&format!("({collated} {} ", sql_operator(op)));
            q.bind_text(text.to_owned());
            q.push(")");
        }
    }
}

fn sql_operator(op: Operator) -> &'static str {
    match op {
        Operator::Eq => "=",
        Operator::Ne => "<>",
        Operator::Greater => ">",
        Operator::GreaterOrEqual => ">=",
        Operator::Less => "<",
        Operator::LessOrEqual => "<=",
        // Substring operators are written by `push_compare` itself.
        Operator::Contains | Operator::StartsWith | Operator::EndsWith => "=",
    }
}
