//! A Roster user as a SCIM User resource (RFC 7643 §4.1), and back.
//!
//! | SCIM | Roster |
//! | --- | --- |
//! | `id` | the user's id (`usr_…`) |
//! | `externalId` | `external_id` |
//! | `userName` | `user_name` (unique per workspace, case-insensitively) |
//! | `displayName` | `name` (on input: `displayName`, else `name.formatted`, else given and family name, else `userName`) |
//! | `name.formatted` | as sent; `name` when none was sent |
//! | `name.givenName`, `name.familyName` | `given_name`, `family_name` |
//! | `emails` | the primary one (else the first) is `email`; all are kept as sent. Without `emails`, a `userName` that is an email address is the email; otherwise the user has none (identity providers provision users without a mailbox) |
//! | `active` | `status`: `true` is `active`, `false` is `inactive` (an invited user shows `false` until it accepts or is activated) |
//! | `password` | sets the password (write-only, never returned) |
//! | `groups` | read-only, from the user's current memberships |
//! | `meta` | `created`, `lastModified` (`updated_at`), `location`, `version` (`W/"<version>"`) |
//! | everything else (`nickName`, `title`, `phoneNumbers`, `addresses`, `roles`, `entitlements`, …, the Enterprise extension and any other extension) | kept under the user's `attributes.scim` and returned as sent |
//!
//! A user made through SCIM starts `active` (or `inactive` with `active: false`), with no
//! invitation (the identity provider signs it in), in the workspace's default role (the
//! last of its roles; change it on `/v1`).

use roster_core::group::{Group, Membership};
use roster_core::{NewUser, User, UserPatch, UserStatus, Workspace};
use serde_json::{json, Map, Value};

use super::user_json::{primary_index, UserJson};
use super::{ScimError, ScimType};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The key of the user's attributes that holds what SCIM sent and Roster has no column for.
pub const ATTRIBUTES_KEY: &str = "scim";

/// The User schema's attributes, as SCIM spells them (names match case-insensitively).
pub const USER_ATTRIBUTES: &[&str] = &[
    "schemas",
    "id",
    "externalId",
    "meta",
    "userName",
    "name",
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "active",
    "password",
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "groups",
    "entitlements",
    "roles",
    "x509Certificates",
];

/// Sub-attributes of the complex attributes, as SCIM spells them.
const SUB_ATTRIBUTES: &[&str] = &[
    "givenName",
    "familyName",
    "formatted",
    "middleName",
    "honorificPrefix",
    "honorificSuffix",
    "value",
    "type",
    "primary",
    "display",
    "$ref",
    "streetAddress",
    "locality",
    "region",
    "postalCode",
    "country",
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
    "manager",
    "displayName",
    "created",
    "lastModified",
    "location",
    "version",
    "resourceType",
];

/// Attributes Roster keeps only in its own columns, or derives, or never stores (the others
/// are kept as sent, those with a column as a mark of their presence).
const NOT_KEPT: &[&str] = &[
    "schemas",
    "id",
    "meta",
    "userName",
    "externalId",
    "password",
    "groups",
];

/// `name` spelled as the schema does, if it is one of `known`.
pub fn canonical<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    known.iter().copied().find(|k| k.eq_ignore_ascii_case(name))
}

/// `value` with its attribute names spelled as the schemas do, at every level (SCIM's
/// names are case-insensitive; Roster stores and compares the canonical spelling).
pub fn canonicalize(value: Value, top: &[&str]) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let key = if key.eq_ignore_ascii_case(ENTERPRISE_SCHEMA) {
                        ENTERPRISE_SCHEMA.to_owned()
                    } else {
                        canonical(&key, top)
                            .or_else(|| canonical(&key, SUB_ATTRIBUTES))
                            .map_or(key, str::to_owned)
                    };
                    (key, canonicalize(value, SUB_ATTRIBUTES))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|item| canonicalize(item, SUB_ATTRIBUTES))
                .collect(),
        ),
        other => other,
    }
}

/// What SCIM keeps of a user beyond Roster's columns.
fn extras(user: &User) -> Map<String, Value> {
    user.attributes
        .get(ATTRIBUTES_KEY)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// The user as a SCIM User resource, as a `Value` (see [`UserJson`], which writes it).
pub fn render(user: &User, groups: &[(Group, Membership)], base: &str) -> Value {
    render_json(UserJson { user, groups, base })
}

/// `json` as a `Value`.
pub fn render_json(json: UserJson<'_>) -> Value {
    // A resource is a map with string keys, which always converts.
    serde_json::to_value(json).unwrap_or_default()
}

/// SCIM's `true`, and what Entra ID sends for it (`"True"`).
pub fn is_true(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// A user as a SCIM client described it (a POST or PUT body, or a patched resource).
#[derive(Debug, Clone)]
pub struct UserInput {
    pub user_name: String,
    pub name: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// None: the user has no email.
    pub email: Option<String>,
    pub external_id: Option<String>,
    pub active: Option<bool>,
    pub password: Option<String>,
    pub extras: Map<String, Value>,
}

fn text(body: &Map<String, Value>, key: &str) -> Result<Option<String>, ScimError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ScimError::bad(
            ScimType::InvalidValue,
            format!("{key} must be a string."),
        )),
    }
}

fn sub_text(body: &Map<String, Value>, key: &str, sub: &str) -> Result<Option<String>, ScimError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(inner)) => text(inner, sub),
        Some(_) => Err(ScimError::bad(
            ScimType::InvalidValue,
            format!("{key} must be an object."),
        )),
    }
}

/// The primary (else first) `value` of a multi-valued attribute (the user's email).
fn primary_value(body: &Map<String, Value>, key: &str) -> Result<Option<String>, ScimError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) if items.is_empty() => Ok(None),
        Some(Value::Array(items)) => {
            if items.iter().any(|i| !i.is_object()) {
                return Err(ScimError::bad(
                    ScimType::InvalidValue,
                    format!("{key} must be an array of objects."),
                ));
            }
            match items[primary_index(items)].get("value") {
                Some(Value::String(s)) => Ok(Some(s.clone())),
                _ => Err(ScimError::bad(
                    ScimType::InvalidValue,
                    format!("Each of {key} needs a string value."),
                )),
            }
        }
        Some(_) => Err(ScimError::bad(
            ScimType::InvalidValue,
            format!("{key} must be an array."),
        )),
    }
}

/// Read a User resource (already [`canonicalize`]d).
pub fn read(body: &Value) -> Result<UserInput, ScimError> {
    let Some(body) = body.as_object() else {
        return Err(ScimError::bad(
            ScimType::InvalidSyntax,
            "A User is a JSON object.",
        ));
    };
    let user_name = text(body, "userName")?
        .ok_or_else(|| ScimError::bad(ScimType::InvalidValue, "userName is required."))?;
    let given_name = sub_text(body, "name", "givenName")?;
    let family_name = sub_text(body, "name", "familyName")?;
    let joined = [given_name.as_deref(), family_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let name = text(body, "displayName")?
        .or(sub_text(body, "name", "formatted")?)
        .or((!joined.is_empty()).then_some(joined))
        .unwrap_or_else(|| user_name.clone());
    // Without emails, a user name that is an email address is the email (Okta's often is).
    let email = primary_value(body, "emails")?.or_else(|| {
        roster_core::user::validate_email(&user_name)
            .is_ok()
            .then(|| user_name.clone())
    });
    let active = match body.get("active") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
        Some(_) => {
            return Err(ScimError::bad(
                ScimType::InvalidValue,
                "active must be true or false.",
            ))
        }
    };
    let extras = body
        .iter()
        .filter(|(k, _)| !NOT_KEPT.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(UserInput {
        user_name,
        name,
        given_name,
        family_name,
        email,
        external_id: text(body, "externalId")?,
        active,
        password: text(body, "password")?,
        extras,
    })
}

impl UserInput {
    /// The core's input for a new user: active (or inactive) from the start, with no
    /// invitation (the identity provider signs the user in).
    pub fn into_new_user(self, workspace: &Workspace) -> NewUser {
        NewUser {
            name: Some(self.name),
            email: self.email,
            role: Some(workspace.default_role().to_owned()),
            send_invitation: Some(false),
            active: Some(self.active.unwrap_or(true)),
            external_id: self.external_id,
            user_name: Some(self.user_name),
            given_name: self.given_name,
            family_name: self.family_name,
            attributes: (!self.extras.is_empty())
                .then(|| json!({ ATTRIBUTES_KEY: Value::Object(self.extras) })),
            password: self.password,
            email_optional: true,
            ..NewUser::default()
        }
    }

    /// The core's partial update that makes `user` what this input describes: only the
    /// fields that differ, so a concurrent change of another field is kept.
    pub fn into_patch(self, user: &User, if_version: Option<i64>) -> UserPatch {
        let changed = |now: &str, next: &str| (now != next).then(|| Some(next.to_owned()));
        let changed_opt =
            |now: &Option<String>, next: Option<String>| (*now != next).then_some(next);
        let status = self.active.and_then(|active| {
            let next = if active {
                UserStatus::Active
            } else {
                UserStatus::Inactive
            };
            (user.status != next).then(|| Some(next.as_str().to_owned()))
        });
        let old_extras = Value::Object(extras(user));
        let new_extras = Value::Object(self.extras);
        UserPatch {
            name: changed(&user.name, &self.name),
            email: changed(&user.email, self.email.as_deref().unwrap_or("")),
            status,
            external_id: changed_opt(&user.external_id, self.external_id),
            user_name: (user.user_name != self.user_name).then_some(self.user_name),
            given_name: changed_opt(&user.given_name, self.given_name),
            family_name: changed_opt(&user.family_name, self.family_name),
            attributes: (old_extras != new_extras)
                .then(|| json!({ ATTRIBUTES_KEY: merge_diff(&old_extras, &new_extras) })),
            password: self.password,
            if_version,
            email_optional: true,
            ..UserPatch::default()
        }
    }
}

/// The JSON Merge Patch (RFC 7396) that turns `old` into `new`.
pub fn merge_diff(old: &Value, new: &Value) -> Value {
    match (old, new) {
        (Value::Object(old), Value::Object(new)) => {
            let mut patch = Map::new();
            for key in old.keys().filter(|k| !new.contains_key(*k)) {
                patch.insert(key.clone(), Value::Null);
            }
            for (key, value) in new {
                match old.get(key) {
                    Some(before) if before == value => {}
                    Some(before) => {
                        patch.insert(key.clone(), merge_diff(before, value));
                    }
                    None => {
                        patch.insert(key.clone(), value.clone());
                    }
                }
            }
            Value::Object(patch)
        }
        (_, new) => new.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_diffs_turn_old_into_new() {
        let old = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1]});
        let new = json!({"b": {"c": 2, "d": 4, "x": null}, "e": [2], "f": "g"});
        let patch = merge_diff(&old, &new);
        let merged = roster_core::attributes::merge(old.as_object().unwrap(), patch).unwrap();
        assert_eq!(
            Value::Object(merged),
            json!({"b": {"c": 2, "d": 4}, "e": [2], "f": "g"})
        );
    }

    #[test]
    fn names_are_canonicalised_at_every_level() {
        let body = json!({"USERNAME": "a", "Name": {"GIVENNAME": "A"}, "emails": [{"VALUE": "a@b.co", "Primary": true}],
                          "urn:ietf:params:scim:schemas:extension:Enterprise:2.0:User": {"EmployeeNumber": "7"}});
        let canonical = canonicalize(body, USER_ATTRIBUTES);
        assert_eq!(
            canonical,
            json!({"userName": "a", "name": {"givenName": "A"}, "emails": [{"value": "a@b.co", "primary": true}],
                   ENTERPRISE_SCHEMA: {"employeeNumber": "7"}})
        );
    }

    #[test]
    fn a_user_name_alone_is_a_user_without_email_unless_it_is_an_email() {
        let input = read(&json!({"userName": "ann"})).unwrap();
        assert_eq!((input.email, input.name.as_str()), (None, "ann"));
        let input = read(&json!({"userName": "ann", "emails": [{"value": "a@x.io"}, {"value": "b@x.io", "primary": "True"}]})).unwrap();
        assert_eq!(input.email.as_deref(), Some("b@x.io"));
        let input = read(&json!({"userName": "ann@x.io"})).unwrap();
        assert_eq!(input.email.as_deref(), Some("ann@x.io"));
    }
}
