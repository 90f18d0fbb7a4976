//! SCIM filters (RFC 7644 §3.4.2.2): parsed by the `scim_v2` crate's grammar (the whole of
//! it: `eq ne co sw ew pr gt ge lt le`, `and or not`, grouping, value paths; nesting
//! bounded), then either translated into the core's [`Condition`] for user queries, which the
//! stores answer from their indexes, or evaluated on a resource's JSON (group lists, PATCH
//! value paths).
//!
//! User attributes a filter can name (case-insensitively, with or without the core schema's
//! URN): `id`, `userName`, `externalId`, `displayName`, `name.formatted`, `name.givenName`,
//! `name.familyName`, `emails` / `emails.value` (the user's email), `active`,
//! `meta.created`, `meta.lastModified`. Inside `emails[…]`, conditions on `value` filter the
//! email; `type`, `primary` and `display` hold for it (Roster keeps one email per user as
//! searchable). Any other attribute is `invalidFilter`.

use chrono::{DateTime, Utc};
use roster_core::query::{Condition, Operand, Operator, UserField};
use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};
use serde_json::Value;

use super::user_resource::USER_SCHEMA;
use super::{ScimError, ScimType};

/// The longest filter accepted.
pub const MAX_FILTER_CHARS: usize = 4_096;

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::bad(ScimType::InvalidFilter, detail)
}

/// Parse a filter.
pub fn parse(text: &str) -> Result<Filter, ScimError> {
    if text.chars().count() > MAX_FILTER_CHARS {
        return Err(invalid(format!(
            "A filter may be at most {MAX_FILTER_CHARS} characters."
        )));
    }
    if let Some(filter) = parse_single_comparison(text) {
        return Ok(filter);
    }
    text.parse::<Filter>()
        .map_err(|e| invalid(format!("The filter is not valid: {e}.")))
}

/// The one-comparison filters identity providers send on every provisioning step
/// (`userName eq "…"`, `externalId eq "…"`, `displayName eq "…"`, `id pr`), read by hand:
/// `scim_v2`'s parser compiles its lexer's regular expressions on every parse (about 0.3 ms,
/// more than a whole read by id), and its parser type is private, so it cannot be built
/// once. Anything else (and anything this reader is unsure of) goes to that parser; a unit
/// test holds the two to the same result.
fn parse_single_comparison(text: &str) -> Option<Filter> {
    let text = text.trim();
    let (path, rest) = text.split_once(' ')?;
    let path = attr_path(path)?;
    let rest = rest.trim_start_matches(' ');
    if rest.eq_ignore_ascii_case("pr") {
        return Some(Filter::Attr(AttrExp::Present(path)));
    }
    let (op, value) = rest.split_once(' ')?;
    let op = match op.to_ascii_lowercase().as_str() {
        "eq" => CompareOp::Eq,
        "ne" => CompareOp::Ne,
        "co" => CompareOp::Co,
        "sw" => CompareOp::Sw,
        "ew" => CompareOp::Ew,
        "gt" => CompareOp::Gt,
        "ge" => CompareOp::Ge,
        "lt" => CompareOp::Lt,
        "le" => CompareOp::Le,
        _ => return None,
    };
    let value = match value.trim_start_matches(' ') {
        "true" => CompValue::True,
        "false" => CompValue::False,
        "null" => CompValue::Null,
        quoted if quoted.starts_with('"') => CompValue::Str(serde_json::from_str(quoted).ok()?),
        _ => return None,
    };
    Some(Filter::Attr(AttrExp::Comparison(path, op, value)))
}

/// An attribute path in its plain forms: `name`, `name.sub`, `<URN>:name[.sub]`.
pub(super) fn attr_path(text: &str) -> Option<AttrPath> {
    let (uri, rest) = match text.rsplit_once(':') {
        Some((uri, rest)) if uri.to_ascii_lowercase().starts_with("urn:") => (Some(uri), rest),
        Some(_) => return None,
        None => (None, text),
    };
    let (name, sub) = match rest.split_once('.') {
        Some((name, sub)) => (name, Some(sub)),
        None => (rest, None),
    };
    let plain = |s: &str| {
        s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    let uri_ok = uri.is_none_or(|u| {
        u.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".:-_".contains(c))
    });
    (plain(name) && sub.is_none_or(plain) && uri_ok).then(|| AttrPath {
        uri: uri.map(str::to_owned),
        name: name.to_owned(),
        sub_attr: sub.map(str::to_owned),
    })
}

/// A user filter as the core's condition.
pub fn user_condition(filter: &Filter) -> Result<Condition, ScimError> {
    Ok(match filter {
        Filter::Attr(exp) => attr_condition(exp, None)?,
        Filter::ValuePath(vp) => {
            let field = user_field(&vp.attr, None)?;
            if field != UserField::Email {
                return Err(invalid(format!(
                    "{} has no sub-attributes to filter.",
                    vp.attr
                )));
            }
            val_condition(&vp.filter)?
        }
        Filter::Not(inner) => Condition::Not(Box::new(user_condition(inner)?)),
        Filter::And(a, b) => Condition::And(vec![user_condition(a)?, user_condition(b)?]),
        Filter::Or(a, b) => Condition::Or(vec![user_condition(a)?, user_condition(b)?]),
    })
}

/// The inside of `emails[…]`.
fn val_condition(filter: &ValFilter) -> Result<Condition, ScimError> {
    Ok(match filter {
        ValFilter::Attr(exp) => attr_condition(exp, Some("emails"))?,
        ValFilter::Not(inner) => Condition::Not(Box::new(val_condition(inner)?)),
        ValFilter::And(a, b) => Condition::And(vec![val_condition(a)?, val_condition(b)?]),
        ValFilter::Or(a, b) => Condition::Or(vec![val_condition(a)?, val_condition(b)?]),
    })
}

fn attr_condition(exp: &AttrExp, parent: Option<&str>) -> Result<Condition, ScimError> {
    let path = match exp {
        AttrExp::Present(path) | AttrExp::Comparison(path, _, _) => path,
    };
    if parent.is_some()
        && ["type", "primary", "display"]
            .iter()
            .any(|s| s.eq_ignore_ascii_case(&path.name))
    {
        // Roster's one searchable email is the user's primary work email.
        return Ok(Condition::All);
    }
    let field = user_field(path, parent)?;
    Ok(match exp {
        AttrExp::Present(_) => Condition::Present(field),
        AttrExp::Comparison(_, op, value) => comparison(field, op, value)?,
    })
}

fn comparison(field: UserField, op: &CompareOp, value: &CompValue) -> Result<Condition, ScimError> {
    let operator = match op {
        CompareOp::Eq => Operator::Eq,
        CompareOp::Ne => Operator::Ne,
        CompareOp::Co => Operator::Contains,
        CompareOp::Sw => Operator::StartsWith,
        CompareOp::Ew => Operator::EndsWith,
        CompareOp::Gt => Operator::Greater,
        CompareOp::Ge => Operator::GreaterOrEqual,
        CompareOp::Lt => Operator::Less,
        CompareOp::Le => Operator::LessOrEqual,
    };
    let operand = match value {
        CompValue::Null => {
            // `eq null` is "has no value", `ne null` "has one".
            return match operator {
                Operator::Eq => Ok(Condition::Not(Box::new(Condition::Present(field)))),
                Operator::Ne => Ok(Condition::Present(field)),
                _ => Err(invalid("null compares with eq and ne only.")),
            };
        }
        CompValue::True => Operand::Bool(true),
        CompValue::False => Operand::Bool(false),
        CompValue::Str(text) if field.is_time() => Operand::Time(parse_time(text)?),
        CompValue::Str(text) => Operand::Text(text.clone()),
        CompValue::Number(_) => {
            return Err(invalid("No filterable User attribute is a number."));
        }
    };
    Ok(Condition::Compare(field, operator, operand))
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, ScimError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| invalid(format!("'{text}' is not an RFC 3339 date-time.")))
}

/// The field an attribute path names (`parent` for a path inside a value path).
fn user_field(path: &AttrPath, parent: Option<&str>) -> Result<UserField, ScimError> {
    if let Some(uri) = &path.uri {
        if !uri.eq_ignore_ascii_case(USER_SCHEMA) {
            return Err(invalid(format!(
                "Attributes of {uri} cannot be filtered on."
            )));
        }
    }
    let (name, sub) = match parent {
        Some(parent) => (parent.to_owned(), Some(path.name.to_ascii_lowercase())),
        None => (
            path.name.to_ascii_lowercase(),
            path.sub_attr.as_ref().map(|s| s.to_ascii_lowercase()),
        ),
    };
    let field = match (name.to_ascii_lowercase().as_str(), sub.as_deref()) {
        ("id", None) => UserField::Id,
        ("username", None) => UserField::UserName,
        ("externalid", None) => UserField::ExternalId,
        ("displayname", None) | ("name", Some("formatted")) => UserField::Name,
        ("name", Some("givenname")) => UserField::GivenName,
        ("name", Some("familyname")) => UserField::FamilyName,
        ("emails", None | Some("value")) => UserField::Email,
        ("active", None) => UserField::Active,
        ("meta", Some("created")) => UserField::CreatedAt,
        ("meta", Some("lastmodified")) => UserField::UpdatedAt,
        _ => {
            return Err(invalid(format!(
            "'{path}' cannot be filtered on; see /scim/v2/ServiceProviderConfig and docs/scim.md."
        )))
        }
    };
    Ok(field)
}

/// Whether a resource (its JSON) matches `filter`.
pub fn matches(filter: &Filter, resource: &Value) -> bool {
    match filter {
        Filter::Attr(exp) => attr_matches(exp, resource),
        Filter::ValuePath(vp) => field_of(resource, &vp.attr.name)
            .and_then(Value::as_array)
            .is_some_and(|items| items.iter().any(|item| val_matches(&vp.filter, item))),
        Filter::Not(inner) => !matches(inner, resource),
        Filter::And(a, b) => matches(a, resource) && matches(b, resource),
        Filter::Or(a, b) => matches(a, resource) || matches(b, resource),
    }
}

/// Whether one element of a multi-valued attribute matches a value path's filter.
pub fn val_matches(filter: &ValFilter, item: &Value) -> bool {
    match filter {
        ValFilter::Attr(exp) => attr_matches(exp, item),
        ValFilter::Not(inner) => !val_matches(inner, item),
        ValFilter::And(a, b) => val_matches(a, item) && val_matches(b, item),
        ValFilter::Or(a, b) => val_matches(a, item) || val_matches(b, item),
    }
}

fn attr_matches(exp: &AttrExp, resource: &Value) -> bool {
    match exp {
        AttrExp::Present(path) => values_at(resource, &path.name, path.sub_attr.as_deref())
            .iter()
            .any(|v| !v.is_null() && *v != "" && v.as_array().is_none_or(|a| !a.is_empty())),
        AttrExp::Comparison(path, op, value) => {
            let case_exact = ["id", "externalId"]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&path.name));
            values_at(resource, &path.name, path.sub_attr.as_deref())
                .iter()
                .any(|v| compare(v, op, value, case_exact))
        }
    }
}

/// The attribute `key` of an object, its name matched case-insensitively.
fn field_of<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// The values an attribute (and sub-attribute) has in `resource`, looking through
/// multi-valued attributes; names match case-insensitively.
fn values_at<'a>(resource: &'a Value, name: &str, sub: Option<&str>) -> Vec<&'a Value> {
    let field = field_of;
    let Some(top) = field(resource, name) else {
        return Vec::new();
    };
    let items: Vec<&Value> = match top {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    match sub {
        None => items
            .into_iter()
            .map(|item| field(item, "value").unwrap_or(item))
            .collect(),
        Some(sub) => items
            .into_iter()
            .filter_map(|item| field(item, sub))
            .collect(),
    }
}

fn compare(value: &Value, op: &CompareOp, with: &CompValue, case_exact: bool) -> bool {
    match (value, with) {
        (Value::String(have), CompValue::Str(want)) => {
            let (have, want) = if case_exact {
                (have.clone(), want.clone())
            } else {
                (have.to_lowercase(), want.to_lowercase())
            };
            match op {
                CompareOp::Eq => have == want,
                CompareOp::Ne => have != want,
                CompareOp::Co => have.contains(&want),
                CompareOp::Sw => have.starts_with(&want),
                CompareOp::Ew => have.ends_with(&want),
                CompareOp::Gt => have > want,
                CompareOp::Ge => have >= want,
                CompareOp::Lt => have < want,
                CompareOp::Le => have <= want,
            }
        }
        (Value::Bool(have), CompValue::True | CompValue::False) => {
            let want = matches!(with, CompValue::True);
            match op {
                CompareOp::Eq => *have == want,
                CompareOp::Ne => *have != want,
                _ => false,
            }
        }
        (Value::Number(have), CompValue::Number(want)) => {
            let (Some(have), Some(want)) = (have.as_f64(), want.as_f64()) else {
                return false;
            };
            match op {
                CompareOp::Eq => have == want,
                CompareOp::Ne => have != want,
                CompareOp::Gt => have > want,
                CompareOp::Ge => have >= want,
                CompareOp::Lt => have < want,
                CompareOp::Le => have <= want,
                _ => false,
            }
        }
        (Value::Null, CompValue::Null) => *op == CompareOp::Eq,
        (_, CompValue::Null) => *op == CompareOp::Ne,
        _ => *op == CompareOp::Ne,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn user_filters_become_conditions() {
        let f =
            parse(r#"userName eq "Ann@X.io" and not (emails[type eq "work" and value co "@x"])"#)
                .unwrap();
        assert_eq!(
            user_condition(&f).unwrap(),
            Condition::And(vec![
                Condition::Compare(
                    UserField::UserName,
                    Operator::Eq,
                    Operand::Text("Ann@X.io".into())
                ),
                Condition::Not(Box::new(Condition::And(vec![
                    Condition::All,
                    Condition::Compare(
                        UserField::Email,
                        Operator::Contains,
                        Operand::Text("@x".into())
                    ),
                ]))),
            ])
        );
        let f = parse(r#"URN:ietf:params:scim:schemas:core:2.0:User:META.lastModified gt "2026-01-01T00:00:00Z""#)
            .unwrap();
        assert!(matches!(
            user_condition(&f).unwrap(),
            Condition::Compare(UserField::UpdatedAt, Operator::Greater, Operand::Time(_))
        ));
    }

    #[test]
    fn the_fast_reader_agrees_with_the_grammar() {
        for text in [
            r#"userName eq "Ann@X.io""#,
            r#"USERNAME EQ "a \"quoted\" name""#,
            r#"externalId eq "00ujl29u0le5T6Aj10h7""#,
            r#"name.givenName sw "An""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a""#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "7""#,
            r#"meta.lastModified gt "2026-01-01T00:00:00Z""#,
            "active eq true",
            "title pr",
            "nickName eq null",
        ] {
            let fast = parse_single_comparison(text).unwrap_or_else(|| panic!("{text} not read"));
            assert_eq!(Some(fast), text.parse::<Filter>().ok(), "{text}");
        }
        for text in [
            r#"userName eq "a" and active eq true"#,
            r#"userName eq "a" or userName eq "b""#,
            r#"emails[type eq "work"]"#,
            "userName eq 3",
            r#"userName eq "a"""#,
            r#"(userName eq "a")"#,
        ] {
            assert!(parse_single_comparison(text).is_none(), "{text}");
        }
    }

    #[test]
    fn bad_filters_are_invalid_filter() {
        for bad in [
            "userName eq",
            "userName xx \"a\"",
            "(userName eq \"a\"",
            "nickName eq \"a\"",
            "meta.created gt \"yesterday\"",
            "active eq 3",
        ] {
            let err = parse(bad).and_then(|f| user_condition(&f));
            let Err(ScimError::Request { scim_type, .. }) = err else {
                panic!("{bad} was accepted");
            };
            assert_eq!(scim_type, Some(ScimType::InvalidFilter), "{bad}");
        }
    }

    #[test]
    fn resources_are_matched_in_memory() {
        let group =
            json!({"displayName": "Sales EU", "members": [{"value": "usr_1"}, {"value": "usr_2"}]});
        for (filter, expected) in [
            (r#"displayName eq "sales eu""#, true),
            (
                r#"displayName sw "Sales" and not (displayName ew "US")"#,
                true,
            ),
            (r#"members[value eq "usr_2"]"#, true),
            (r#"members.value eq "usr_3""#, false),
            ("externalId pr", false),
        ] {
            assert_eq!(
                matches(&parse(filter).unwrap(), &group),
                expected,
                "{filter}"
            );
        }
    }
}
