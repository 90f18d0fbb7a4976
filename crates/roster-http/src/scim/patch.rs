//! PATCH (RFC 7644 §3.5.2): a `PatchOp` read through a compatibility layer, then applied to
//! a resource's JSON (a User, whose result is written like a PUT of only what changed) or
//! turned into a group's field and member changes (so a PATCH of thousands of members is
//! one write).
//!
//! The compatibility layer accepts, besides the RFC's form, what Okta and Microsoft Entra ID
//! really send:
//!
//! - operation names in any case (`"Replace"`, `"Add"`, `"Remove"`);
//! - booleans as strings (`"True"`, `"False"`) for `active` and `primary`;
//! - path-less values with dotted keys (`{"name.givenName": "Ann"}`) and URN-prefixed keys
//!   (`{"urn:…:enterprise:2.0:User:department": "Sales"}`);
//! - `Remove` on `members` with a `value` array naming the members to remove;
//! - `Add` (or `Replace`) on a filtered path whose element does not exist yet
//!   (`emails[type eq "work"].value`): the element is made from the filter's `eq` terms.
//! - a `path` of `""` as no path;
//! - read-only attributes (`id`, `meta`, `schemas`) inside a path-less value, ignored (Okta
//!   sends the group's `id` with a rename).

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, PatchPath, ValFilter};
use serde_json::{json, Map, Value};

use super::filter::val_matches;
use super::user_resource::{
    canonical, canonicalize, ENTERPRISE_SCHEMA, USER_ATTRIBUTES, USER_SCHEMA,
};
use super::{ScimError, ScimType};

pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The most operations one PATCH may hold.
pub const MAX_OPERATIONS: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

/// One operation, read.
#[derive(Debug, Clone)]
pub struct Operation {
    pub op: OpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

fn bad_path(detail: impl Into<String>) -> ScimError {
    ScimError::bad(ScimType::InvalidPath, detail)
}

fn bad_value(detail: impl Into<String>) -> ScimError {
    ScimError::bad(ScimType::InvalidValue, detail)
}

/// Read a `PatchOp` body.
pub fn read(body: &Value) -> Result<Vec<Operation>, ScimError> {
    super::check_schemas(body, PATCH_SCHEMA)?;
    let operations = body
        .as_object()
        .and_then(|b| b.iter().find(|(k, _)| k.eq_ignore_ascii_case("Operations")))
        .map(|(_, v)| v);
    let Some(Value::Array(operations)) = operations else {
        return Err(bad_value("A PatchOp needs an Operations array."));
    };
    if operations.is_empty() {
        return Err(bad_value("Operations is empty."));
    }
    if operations.len() > MAX_OPERATIONS {
        return Err(ScimError::bad(
            ScimType::TooMany,
            format!("A PATCH may hold at most {MAX_OPERATIONS} operations."),
        ));
    }
    operations.iter().map(read_operation).collect()
}

fn read_operation(raw: &Value) -> Result<Operation, ScimError> {
    let Some(raw) = raw.as_object() else {
        return Err(bad_value("Each operation is an object."));
    };
    let get = |key: &str| {
        raw.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    };
    let op = match get("op")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
    {
        Some(op) if op == "add" => OpKind::Add,
        Some(op) if op == "replace" => OpKind::Replace,
        Some(op) if op == "remove" => OpKind::Remove,
        _ => return Err(bad_value("op must be add, replace or remove.")),
    };
    let path = match get("path") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if p.trim().is_empty() => None,
        // A plain attribute path is read directly (the grammar's parser is slow to build).
        Some(Value::String(p)) => match super::filter::attr_path(p.trim()) {
            Some(path) => Some(PatchPath::Attr(path)),
            None => Some(
                p.parse::<PatchPath>()
                    .map_err(|e| bad_path(format!("The path '{p}' is not valid: {e}.")))?,
            ),
        },
        Some(_) => return Err(bad_path("path must be a string.")),
    };
    let value = get("value")
        .cloned()
        .map(|v| canonicalize(v, USER_ATTRIBUTES));
    if op != OpKind::Remove && value.is_none() {
        return Err(bad_value("add and replace need a value."));
    }
    if op == OpKind::Remove && path.is_none() {
        return Err(ScimError::bad(ScimType::NoTarget, "remove needs a path."));
    }
    let value = value.map(|v| booleans_from_strings(v, path.as_ref()));
    Ok(Operation { op, path, value })
}

/// `"True"`/`"False"` as booleans where the attribute is boolean (`active`, `primary`).
fn booleans_from_strings(value: Value, path: Option<&PatchPath>) -> Value {
    let leaf = path.map(|p| match p {
        PatchPath::Attr(a) => a.sub_attr.clone().unwrap_or_else(|| a.name.clone()),
        PatchPath::Value(v) => v.sub_attr.clone().unwrap_or_else(|| v.attr.name.clone()),
    });
    let boolean =
        |key: &str| key.eq_ignore_ascii_case("active") || key.eq_ignore_ascii_case("primary");
    match value {
        Value::String(s) if leaf.as_deref().is_some_and(boolean) => as_bool(s),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) if boolean(&k) => as_bool(s),
                        Value::Array(items) => Value::Array(
                            items
                                .into_iter()
                                .map(|i| booleans_from_strings(i, None))
                                .collect(),
                        ),
                        other => other,
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|i| booleans_from_strings(i, None))
                .collect(),
        ),
        other => other,
    }
}

fn as_bool(s: String) -> Value {
    if s.eq_ignore_ascii_case("true") {
        Value::Bool(true)
    } else if s.eq_ignore_ascii_case("false") {
        Value::Bool(false)
    } else {
        Value::String(s)
    }
}

/// Attributes a PATCH may not change.
const READ_ONLY: &[&str] = &["id", "meta", "groups", "schemas"];

/// Apply `operations` to a User resource's JSON, in order.
pub fn apply(resource: &mut Value, operations: &[Operation]) -> Result<(), ScimError> {
    for operation in operations {
        match (&operation.path, &operation.value) {
            (None, Some(Value::Object(values))) => {
                // Read-only attributes in a path-less value are ignored (Okta sends the id).
                for (key, value) in values
                    .iter()
                    .filter(|(k, _)| canonical(k, READ_ONLY).is_none())
                {
                    let path = key_path(key)?;
                    set(resource, &path, operation.op, value.clone())?;
                }
            }
            (None, _) => {
                return Err(bad_value(
                    "Without a path, the value is an object of attributes.",
                ))
            }
            (Some(PatchPath::Attr(path)), value) => {
                let path = resolve(path)?;
                match (operation.op, value) {
                    (OpKind::Remove, None) => remove(resource, &path),
                    (OpKind::Remove, Some(value)) => remove_values(resource, &path, value),
                    (op, Some(value)) => set(resource, &path, op, value.clone())?,
                    (_, None) => return Err(bad_value("add and replace need a value.")),
                }
            }
            (Some(PatchPath::Value(vp)), value) => {
                let path = resolve(&vp.attr)?;
                apply_value_path(
                    resource,
                    &path,
                    &vp.filter,
                    vp.sub_attr.as_deref(),
                    operation.op,
                    value.clone(),
                )?;
            }
        }
    }
    Ok(())
}

/// A resolved attribute path: the extension it lives in (none for the core schema), the
/// attribute and its sub-attribute.
#[derive(Debug, Clone)]
struct Target {
    extension: Option<String>,
    name: String,
    sub: Option<String>,
}

/// A path-less value's key (`userName`, `name.givenName`, `urn:…:User:userName`, an
/// extension URN, or `urn:…:enterprise:2.0:User:department`) as a target.
fn key_path(key: &str) -> Result<Target, ScimError> {
    if key.to_ascii_lowercase().starts_with("urn:") {
        if is_extension(key) {
            return Ok(Target {
                extension: Some(extension_name(key)),
                name: String::new(),
                sub: None,
            });
        }
        let parsed: PatchPath = key
            .parse()
            .map_err(|e| bad_path(format!("'{key}' is not an attribute path: {e}.")))?;
        return match parsed {
            PatchPath::Attr(path) => resolve(&path),
            PatchPath::Value(_) => Err(bad_path(format!("'{key}' is not an attribute path."))),
        };
    }
    let (name, sub) = match key.split_once('.') {
        Some((name, sub)) => (name, Some(sub)),
        None => (key, None),
    };
    resolve(&AttrPath {
        uri: None,
        name: name.to_owned(),
        sub_attr: sub.map(str::to_owned),
    })
}

/// Whether `key` is an extension schema's URN (an attribute holding a whole extension).
fn is_extension(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    lower.starts_with("urn:") && lower.contains(":extension:") && {
        // An extension URN ends in its resource type (`…:2.0:User`); an attribute of it has
        // one more segment.
        lower
            .rsplit(':')
            .next()
            .is_some_and(|last| last == "user" || last == "group")
    }
}

/// An extension's URN as it is stored (the Enterprise extension's spelled as its schema).
fn extension_name(uri: &str) -> String {
    if uri.eq_ignore_ascii_case(ENTERPRISE_SCHEMA) {
        ENTERPRISE_SCHEMA.to_owned()
    } else {
        uri.to_owned()
    }
}

fn resolve(path: &AttrPath) -> Result<Target, ScimError> {
    // `urn:…:enterprise:2.0:User` parses as the attribute `User` of `urn:…:2.0`: it is the
    // whole extension.
    let whole = path.to_string();
    if path.uri.is_some() && path.sub_attr.is_none() && is_extension(&whole) {
        return Ok(Target {
            extension: Some(extension_name(&whole)),
            name: String::new(),
            sub: None,
        });
    }
    let extension = match &path.uri {
        None => None,
        Some(uri) if uri.eq_ignore_ascii_case(USER_SCHEMA) => None,
        Some(uri) if is_extension(uri) => Some(extension_name(uri)),
        Some(uri) => return Err(bad_path(format!("No schema {uri} is known."))),
    };
    let name = if extension.is_some() {
        canonical_sub(&path.name)
    } else {
        let Some(name) = canonical(&path.name, USER_ATTRIBUTES) else {
            return Err(bad_path(format!("User has no attribute '{}'.", path.name)));
        };
        if READ_ONLY.contains(&name) {
            return Err(ScimError::bad(
                ScimType::Mutability,
                format!("{name} is read-only."),
            ));
        }
        name.to_owned()
    };
    Ok(Target {
        extension,
        name,
        sub: path.sub_attr.as_deref().map(canonical_sub),
    })
}

fn canonical_sub(name: &str) -> String {
    canonicalize(json!({ name: 0 }), &[])
        .as_object()
        .and_then(|m| m.keys().next().cloned())
        .unwrap_or_else(|| name.to_owned())
}

/// The object a target's attribute lives in (the resource, or its extension's object, made
/// when missing).
fn container<'a>(resource: &'a mut Value, target: &Target) -> Option<&'a mut Map<String, Value>> {
    let top = resource.as_object_mut()?;
    match &target.extension {
        None => Some(top),
        Some(ext) => {
            let slot = top.entry(ext.clone()).or_insert_with(|| json!({}));
            if !slot.is_object() {
                *slot = json!({});
            }
            slot.as_object_mut()
        }
    }
}

fn set(resource: &mut Value, target: &Target, op: OpKind, value: Value) -> Result<(), ScimError> {
    if target.name.is_empty() {
        // A whole extension object.
        let Some(map) = container(resource, target) else {
            return Err(bad_value("The resource is not an object."));
        };
        let Value::Object(values) = value else {
            return Err(bad_value("An extension's value is an object."));
        };
        if op == OpKind::Replace {
            map.clear();
        }
        map.extend(values);
        return Ok(());
    }
    let Some(map) = container(resource, target) else {
        return Err(bad_value("The resource is not an object."));
    };
    match &target.sub {
        Some(sub) => {
            let slot = map.entry(target.name.clone()).or_insert_with(|| json!({}));
            match slot {
                Value::Object(inner) => {
                    inner.insert(sub.clone(), value);
                }
                Value::Array(items) => {
                    // `emails.value`: every element's sub-attribute.
                    for item in items.iter_mut().filter_map(Value::as_object_mut) {
                        item.insert(sub.clone(), value.clone());
                    }
                }
                other => *other = json!({ sub.clone(): value }),
            }
        }
        None => {
            let existing = map.get_mut(&target.name);
            match (op, existing, value) {
                (OpKind::Add, Some(Value::Array(items)), Value::Array(new)) => {
                    for item in new {
                        if !items.contains(&item) {
                            items.push(item);
                        }
                    }
                }
                (OpKind::Add, Some(Value::Array(items)), item) => {
                    if !items.contains(&item) {
                        items.push(item);
                    }
                }
                (OpKind::Add, Some(Value::Object(inner)), Value::Object(new)) => {
                    inner.extend(new);
                }
                (_, _, value) => {
                    map.insert(target.name.clone(), value);
                }
            }
        }
    }
    Ok(())
}

fn remove(resource: &mut Value, target: &Target) {
    if let (Some(extension), true) = (&target.extension, target.name.is_empty()) {
        if let Some(top) = resource.as_object_mut() {
            top.remove(extension);
        }
        return;
    }
    let Some(map) = container(resource, target) else {
        return;
    };
    match &target.sub {
        None => {
            map.remove(&target.name);
        }
        Some(sub) => match map.get_mut(&target.name) {
            Some(Value::Object(inner)) => {
                inner.remove(sub);
            }
            Some(Value::Array(items)) => {
                for item in items.iter_mut().filter_map(Value::as_object_mut) {
                    item.remove(sub);
                }
            }
            _ => {}
        },
    }
}

/// `Remove` with a value: the elements of a multi-valued attribute equal to (or with the
/// same `value` as) the ones given.
fn remove_values(resource: &mut Value, target: &Target, value: &Value) {
    let Some(map) = container(resource, target) else {
        return;
    };
    let gone: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    if let Some(Value::Array(items)) = map.get_mut(&target.name) {
        items.retain(|item| {
            !gone.iter().any(|g| {
                *g == item || (g.get("value").is_some() && g.get("value") == item.get("value"))
            })
        });
    } else {
        map.remove(&target.name);
    }
}

fn apply_value_path(
    resource: &mut Value,
    target: &Target,
    filter: &ValFilter,
    sub: Option<&str>,
    op: OpKind,
    value: Option<Value>,
) -> Result<(), ScimError> {
    let Some(map) = container(resource, target) else {
        return Err(bad_value("The resource is not an object."));
    };
    let slot = map
        .entry(target.name.clone())
        .or_insert_with(|| Value::Array(Vec::new()));
    let Value::Array(items) = slot else {
        return Err(bad_path(format!(
            "{} is not multi-valued; a filter cannot select from it.",
            target.name
        )));
    };
    let sub = sub.map(canonical_sub);
    if op == OpKind::Remove {
        match &sub {
            None => items.retain(|item| !val_matches(filter, item)),
            Some(sub) => {
                for item in items.iter_mut().filter(|i| val_matches(filter, i)) {
                    if let Some(item) = item.as_object_mut() {
                        item.remove(sub);
                    }
                }
            }
        }
        return Ok(());
    }
    let Some(value) = value else {
        return Err(bad_value("add and replace need a value."));
    };
    if !items.iter().any(|item| val_matches(filter, item)) {
        // What Okta and Entra ID send for an element that does not exist yet: make it from
        // the filter's equality terms.
        let Some(made) = element_from(filter) else {
            return Err(ScimError::bad(
                ScimType::NoTarget,
                format!("No element of {} matches the filter.", target.name),
            ));
        };
        items.push(Value::Object(made));
    }
    for item in items.iter_mut().filter(|i| val_matches(filter, i)) {
        match (&sub, item) {
            (Some(sub), Value::Object(element)) => {
                element.insert(sub.clone(), value.clone());
            }
            (None, Value::Object(element)) => match &value {
                Value::Object(values) if op == OpKind::Add => element.extend(values.clone()),
                Value::Object(values) => *element = values.clone(),
                _ => return Err(bad_value("An element's value is an object.")),
            },
            _ => {}
        }
    }
    Ok(())
}

/// The element a filter of `eq` terms joined by `and` describes.
fn element_from(filter: &ValFilter) -> Option<Map<String, Value>> {
    match filter {
        ValFilter::Attr(AttrExp::Comparison(path, CompareOp::Eq, value)) => {
            let value = match value {
                CompValue::Str(s) => json!(s),
                CompValue::True => json!(true),
                CompValue::False => json!(false),
                CompValue::Number(n) => json!(n),
                CompValue::Null => return None,
            };
            let mut map = Map::new();
            map.insert(canonical_sub(&path.name), value);
            Some(map)
        }
        ValFilter::And(a, b) => {
            let mut map = element_from(a)?;
            map.extend(element_from(b)?);
            Some(map)
        }
        _ => None,
    }
}

/// The member ids a `members[…]` filter names: `value eq "…"` terms joined by `or`.
pub fn member_ids(filter: &ValFilter) -> Result<Vec<String>, ScimError> {
    match filter {
        ValFilter::Attr(AttrExp::Comparison(path, CompareOp::Eq, CompValue::Str(id)))
            if path.name.eq_ignore_ascii_case("value") =>
        {
            Ok(vec![id.clone()])
        }
        ValFilter::Or(a, b) => {
            let mut ids = member_ids(a)?;
            ids.extend(member_ids(b)?);
            Ok(ids)
        }
        _ => Err(ScimError::bad(
            ScimType::InvalidFilter,
            "A members filter selects members by value eq \"<id>\" (joined by or).",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(body: Value) -> Vec<Operation> {
        read(&body).unwrap()
    }

    #[test]
    fn rfc_operations_apply_in_order() {
        let mut user = json!({"userName": "ann", "emails": [{"value": "a@x.io", "type": "work", "primary": true}],
                              "name": {"givenName": "Ann"}});
        apply(&mut user, &ops(json!({"schemas": [PATCH_SCHEMA], "Operations": [
            {"op": "replace", "path": "name.familyName", "value": "Lee"},
            {"op": "add", "path": "emails", "value": [{"value": "ann@home.io", "type": "home"}]},
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ann@x.io"},
            {"op": "remove", "path": "emails[type eq \"home\"]"},
            {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Ops"},
        ]}))).unwrap();
        assert_eq!(
            user,
            json!({"userName": "ann", "emails": [{"value": "ann@x.io", "type": "work", "primary": true}],
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Ops"}})
        );
    }

    #[test]
    fn what_okta_and_entra_send_is_understood() {
        let mut user = json!({"userName": "ann", "active": true});
        apply(&mut user, &ops(json!({"Operations": [
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "value": {"name.givenName": "Ann", "urn:ietf:params:scim:schemas:core:2.0:User:displayName": "Ann L",
                                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "7"}},
            {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "ann@x.io"},
        ]}))).unwrap();
        assert_eq!(
            user,
            json!({"userName": "ann", "active": false, "name": {"givenName": "Ann"}, "displayName": "Ann L",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "7"},
            "emails": [{"type": "work", "value": "ann@x.io"}]})
        );
    }

    #[test]
    fn bad_operations_name_their_scim_type() {
        for (body, expected) in [
            (
                json!({"Operations": [{"op": "remove"}]}),
                ScimType::NoTarget,
            ),
            (
                json!({"Operations": [{"op": "replace", "path": "emails[type eq", "value": 1}]}),
                ScimType::InvalidPath,
            ),
            (
                json!({"Operations": [{"op": "move", "path": "userName"}]}),
                ScimType::InvalidValue,
            ),
            (json!({"Operations": []}), ScimType::InvalidValue),
        ] {
            let Err(ScimError::Request { scim_type, .. }) = read(&body) else {
                panic!("{body} was accepted");
            };
            assert_eq!(scim_type, Some(expected), "{body}");
        }
        let mut user = json!({"userName": "ann"});
        for (path, expected) in [
            ("nickNames", ScimType::InvalidPath),
            ("id", ScimType::Mutability),
        ] {
            let err = apply(
                &mut user,
                &ops(json!({"Operations": [{"op": "replace", "path": path, "value": "x"}]})),
            );
            let Err(ScimError::Request { scim_type, .. }) = err else {
                panic!("{path} was accepted");
            };
            assert_eq!(scim_type, Some(expected), "{path}");
        }
    }
}
