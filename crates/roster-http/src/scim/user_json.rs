//! The SCIM User resource written straight from a Roster user, without an intermediate
//! `serde_json::Value`: a 100-user page is 100 of these, and building a map of maps for
//! each user and dropping it again cost more than the rest of the request together.
//!
//! [`UserJson`] is the one definition of the resource: [`super::user_resource::render`] is
//! this turned into a `Value` (for the paths that work on one: projections, PATCH).
//!
//! A user SCIM described keeps the attributes it was last sent, so an attribute a client
//! removed stays removed (`displayName`, `name`, `emails`, `active`); Roster's columns give
//! the values of those present. A user made elsewhere shows them all.
//! (A client that removed `active` no longer sees the status through SCIM; `/v1` shows it.)

use roster_core::group::{Group, Membership};
use roster_core::{User, UserStatus};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;
use serde_json::{Map, Value};

use super::etag;
use super::user_resource::{is_true, ATTRIBUTES_KEY, USER_SCHEMA};
use crate::time::rfc3339_micros as rfc3339;

/// A user as a SCIM User resource; `groups` are its current memberships, `base` the SCIM
/// endpoint's URL.
pub struct UserJson<'a> {
    pub user: &'a User,
    pub groups: &'a [(Group, Membership)],
    pub base: &'a str,
}

impl UserJson<'_> {
    /// What SCIM keeps of the user beyond Roster's columns, if SCIM described it.
    fn kept(&self) -> Option<&Map<String, Value>> {
        self.user
            .attributes
            .get(ATTRIBUTES_KEY)
            .and_then(Value::as_object)
    }
}

impl Serialize for UserJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let user = self.user;
        let kept = self.kept();
        let shows = |key: &str| kept.is_none_or(|k| k.contains_key(key));
        // The attributes written from Roster's columns; a kept one of the same name is
        // left out (it only marks the attribute's presence, or is merged in below).
        let mut written: Vec<&str> = vec!["schemas", "id", "userName", "meta"];
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("schemas", &Schemas(kept))?;
        map.serialize_entry("id", &user.id)?;
        if let Some(external_id) = &user.external_id {
            map.serialize_entry("externalId", external_id)?;
            written.push("externalId");
        }
        map.serialize_entry("userName", &user.user_name)?;
        if shows("displayName") {
            map.serialize_entry("displayName", &user.name)?;
            written.push("displayName");
        }
        if shows("name") || user.given_name.is_some() || user.family_name.is_some() {
            let kept_name = kept.and_then(|k| k.get("name")).and_then(Value::as_object);
            // `formatted` is the display name for a user made elsewhere, as sent otherwise.
            let set = [
                ("formatted", kept.is_none().then_some(user.name.as_str())),
                ("givenName", user.given_name.as_deref()),
                ("familyName", user.family_name.as_deref()),
            ];
            map.serialize_entry(
                "name",
                &Overlay {
                    kept: kept_name,
                    set: &set,
                    replaced: &["givenName", "familyName"],
                },
            )?;
            written.push("name");
        }
        if user.has_email() && shows("emails") {
            let kept_emails = kept
                .and_then(|k| k.get("emails"))
                .and_then(Value::as_array)
                .filter(|items| !items.is_empty());
            map.serialize_entry(
                "emails",
                &Emails {
                    kept: kept_emails,
                    email: &user.email,
                },
            )?;
            written.push("emails");
        }
        if shows("active") {
            map.serialize_entry("active", &(user.status == UserStatus::Active))?;
            written.push("active");
        }
        if !self.groups.is_empty() {
            map.serialize_entry("groups", &GroupRefs(self.groups, self.base))?;
            written.push("groups");
        }
        map.serialize_entry(
            "meta",
            &Meta {
                resource_type: "User",
                created: rfc3339(user.created_at),
                last_modified: rfc3339(user.updated_at),
                location: format!("{}/Users/{}", self.base, user.id),
                version: etag(user.version),
            },
        )?;
        for (key, value) in kept.into_iter().flatten() {
            if !written.contains(&key.as_str()) {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

/// `schemas`: the core User schema, then each extension the user was described with.
struct Schemas<'a>(Option<&'a Map<String, Value>>);

impl Serialize for Schemas<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        seq.serialize_element(USER_SCHEMA)?;
        for key in self.0.into_iter().flat_map(Map::keys) {
            if key.starts_with("urn:") {
                seq.serialize_element(key)?;
            }
        }
        seq.end()
    }
}

/// A kept complex attribute with some sub-attributes replaced: `replaced` are left out of
/// `kept`, and each of `set` that has a value is written.
struct Overlay<'a> {
    kept: Option<&'a Map<String, Value>>,
    set: &'a [(&'a str, Option<&'a str>)],
    replaced: &'a [&'a str],
}

impl Serialize for Overlay<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in self.kept.into_iter().flatten() {
            let set_here = self.set.iter().any(|(k, v)| *k == key && v.is_some());
            if !set_here && !self.replaced.contains(&key.as_str()) {
                map.serialize_entry(key, value)?;
            }
        }
        for (key, value) in self.set {
            if let Some(value) = value {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

/// `emails`: as kept, with the primary (else the first) one's `value` the user's email;
/// the email alone, as the primary work address, when none was kept.
struct Emails<'a> {
    kept: Option<&'a Vec<Value>>,
    email: &'a str,
}

impl Serialize for Emails<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        let Some(items) = self.kept else {
            seq.serialize_element(&WorkEmail {
                value: self.email,
                kind: "work",
                primary: true,
            })?;
            return seq.end();
        };
        let at = primary_index(items);
        for (index, item) in items.iter().enumerate() {
            match item.as_object().filter(|_| index == at) {
                Some(primary) => seq.serialize_element(&Overlay {
                    kept: Some(primary),
                    set: &[("value", Some(self.email))],
                    replaced: &[],
                })?,
                None => seq.serialize_element(item)?,
            }
        }
        seq.end()
    }
}

/// The index of the primary element of a multi-valued attribute (else 0).
pub(super) fn primary_index(items: &[Value]) -> usize {
    items
        .iter()
        .position(|item| item.get("primary").is_some_and(is_true))
        .unwrap_or(0)
}

#[derive(Serialize)]
struct WorkEmail<'a> {
    value: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    primary: bool,
}

/// `groups`: the user's current memberships, read-only.
struct GroupRefs<'a>(&'a [(Group, Membership)], &'a str);

impl Serialize for GroupRefs<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for (group, _) in self.0 {
            seq.serialize_element(&GroupRef {
                value: &group.id,
                display: &group.name,
                reference: format!("{}/Groups/{}", self.1, group.id),
                kind: "direct",
            })?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct GroupRef<'a> {
    value: &'a str,
    display: &'a str,
    #[serde(rename = "$ref")]
    reference: String,
    #[serde(rename = "type")]
    kind: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    resource_type: &'static str,
    created: String,
    last_modified: String,
    location: String,
    version: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    const BASE: &str = "https://id.example/scim/v2";

    fn user(attributes: Value) -> User {
        let at = Utc
            .with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
            .single()
            .unwrap_or_default();
        User {
            key: 7,
            id: "usr_7".into(),
            uuid: uuid::Uuid::nil(),
            workspace_key: 1,
            external_id: None,
            user_name: "ada@example.com".into(),
            email: "ada@example.com".into(),
            name: "Ada Lovelace".into(),
            given_name: Some("Ada".into()),
            family_name: Some("Lovelace".into()),
            role: "member".into(),
            status: UserStatus::Active,
            attributes: attributes.as_object().cloned().unwrap_or_default(),
            created_at: at,
            updated_at: at,
            deleted_at: None,
            version: 3,
            sessions_limit: None,
            allow_authentication_token: false,
            has_authentication_token: false,
            current_sign_in_at: None,
            last_sign_in_at: None,
        }
    }

    fn written(user: &User, groups: &[(Group, Membership)]) -> Value {
        let text = serde_json::to_string(&UserJson {
            user,
            groups,
            base: BASE,
        });
        serde_json::from_str(&text.unwrap_or_default()).unwrap_or_default()
    }

    fn meta() -> Value {
        json!({
            "resourceType": "User",
            "created": "2026-01-02T03:04:05.000000Z",
            "lastModified": "2026-01-02T03:04:05.000000Z",
            "location": format!("{BASE}/Users/usr_7"),
            "version": "W/\"3\"",
        })
    }

    #[test]
    fn a_user_made_elsewhere_shows_every_attribute_from_its_columns() {
        let user = user(json!({"department": "legal"}));
        assert_eq!(
            written(&user, &[]),
            json!({
                "schemas": [USER_SCHEMA],
                "id": "usr_7",
                "userName": "ada@example.com",
                "displayName": "Ada Lovelace",
                "name": {"formatted": "Ada Lovelace", "givenName": "Ada", "familyName": "Lovelace"},
                "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
                "active": true,
                "meta": meta(),
            })
        );
    }

    #[test]
    fn a_user_scim_described_keeps_what_was_sent_with_its_columns_values() {
        let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let mut user = user(json!({"scim": {
            "name": {"formatted": "Countess Ada", "givenName": "Old", "middleName": "King"},
            "emails": [{"value": "old@example.com", "type": "home"},
                       {"value": "older@example.com", "type": "work", "primary": "True"}],
            "externalId": "kept-but-unset",
            "title": "Analyst",
            enterprise: {"department": "Engines"},
        }}));
        user.family_name = None;
        user.status = UserStatus::Inactive;
        let at = user.created_at;
        let group = Group {
            key: 1,
            id: "grp_1".into(),
            workspace_key: 1,
            name: "Engines".into(),
            description: None,
            external_id: None,
            created_at: at,
            updated_at: at,
        };
        let membership = Membership {
            group_key: 1,
            user_key: 7,
            added_at: at,
            expires_at: None,
        };
        assert_eq!(
            written(&user, &[(group, membership)]),
            json!({
                "schemas": [USER_SCHEMA, enterprise],
                "id": "usr_7",
                "externalId": "kept-but-unset",
                "userName": "ada@example.com",
                "name": {"formatted": "Countess Ada", "givenName": "Ada", "middleName": "King"},
                "emails": [{"value": "old@example.com", "type": "home"},
                           {"value": "ada@example.com", "type": "work", "primary": "True"}],
                "title": "Analyst",
                enterprise: {"department": "Engines"},
                "groups": [{"value": "grp_1", "display": "Engines",
                            "$ref": format!("{BASE}/Groups/grp_1"), "type": "direct"}],
                "meta": meta(),
            })
        );
    }

    #[test]
    fn a_page_writes_every_string_and_number_as_serde_json_reads_them() {
        let mut user = user(json!({"scim": {
            "title": "\"Chief\" \\ engineer\n\t\u{1} ünïcödé 𝄞 </script>",
            "x-score": 0.1, "x-big": 12345678901234567_i64, "x-small": -1e-7,
            "nickName": null,
        }}));
        user.name = "Zoë \u{7f} \u{2028} O'Brien".into();
        let page = crate::scim::scim_page_json(
            &UserJson {
                user: &user,
                groups: &[],
                base: BASE,
            },
            16,
        );
        let body = page.map(|page| page.0).unwrap_or_default();
        let read: Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(read, written(&user, &[]));
        assert_eq!(
            read["title"],
            json!("\"Chief\" \\ engineer\n\t\u{1} ünïcödé 𝄞 </script>")
        );
    }
}
