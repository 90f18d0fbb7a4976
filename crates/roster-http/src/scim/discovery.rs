//! Discovery (RFC 7644 §4): `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`, saying
//! exactly what this server supports. They need a SCIM credential like every other SCIM
//! route (RFC 7644 allows either; identity providers send theirs).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::groups::GROUP_SCHEMA;
use super::list::{self, DEFAULT_COUNT, MAX_COUNT};
use super::user_resource::{ENTERPRISE_SCHEMA, USER_SCHEMA};
use super::{base_url, bulk, ScimCaller, ScimError, MAX_PAYLOAD_BYTES};
use crate::AppState;

const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

pub async fn service_provider_config(
    State(_state): State<AppState>,
    ScimCaller(_caller): ScimCaller,
    headers: HeaderMap,
) -> Response {
    let base = base_url(&headers);
    super::resource(
        StatusCode::OK,
        json!({
            "schemas": [SPC_SCHEMA],
            "documentationUri": "https://github.com/roster-dev/roster/blob/main/docs/scim.md",
            "patch": {"supported": true},
            "bulk": {
                "supported": true,
                "maxOperations": bulk::MAX_OPERATIONS,
                "maxPayloadSize": MAX_PAYLOAD_BYTES,
            },
            "filter": {"supported": true, "maxResults": MAX_COUNT},
            "changePassword": {"supported": true},
            "sort": {"supported": true},
            "etag": {"supported": true},
            "pagination": {
                "cursor": true,
                "index": true,
                "defaultPaginationMethod": "index",
                "defaultPageSize": DEFAULT_COUNT,
                "maxPageSize": MAX_COUNT,
            },
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "Bearer secret key",
                "description": "A Roster secret key with the scim scope, sent as 'Authorization: Bearer sk_live_…'.",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "primary": true,
            }],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": format!("{base}/ServiceProviderConfig"),
            },
        }),
    )
}

fn resource_types_of(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "A Roster user.",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{"schema": ENTERPRISE_SCHEMA, "required": false}],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")},
        }),
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "A Roster group.",
            "schema": GROUP_SCHEMA,
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group")},
        }),
    ]
}

pub async fn resource_types(ScimCaller(_caller): ScimCaller, headers: HeaderMap) -> Response {
    let all = resource_types_of(&base_url(&headers));
    let total = all.len() as u64;
    axum::response::IntoResponse::into_response(super::scim_json(&list::response(
        all,
        total,
        Some(1),
        None,
    )))
}

pub async fn resource_type(
    ScimCaller(_caller): ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    resource_types_of(&base_url(&headers))
        .into_iter()
        .find(|r| r["id"] == id.as_str())
        .map(|r| super::resource(StatusCode::OK, r))
        .ok_or_else(|| ScimError::not_found(format!("No resource type '{id}'.")))
}

pub async fn schemas(ScimCaller(_caller): ScimCaller, headers: HeaderMap) -> Response {
    let all = all_schemas(&base_url(&headers));
    let total = all.len() as u64;
    axum::response::IntoResponse::into_response(super::scim_json(&list::response(
        all,
        total,
        Some(1),
        None,
    )))
}

pub async fn schema(
    ScimCaller(_caller): ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    all_schemas(&base_url(&headers))
        .into_iter()
        .find(|s| {
            s["id"]
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case(&id))
        })
        .map(|s| super::resource(StatusCode::OK, s))
        .ok_or_else(|| ScimError::not_found(format!("No schema '{id}'.")))
}

/// An attribute definition (RFC 7643 §7). `flags`: `r` required, `m` multi-valued, `x`
/// case-exact, `u` unique (server), `o` read-only, `w` write-only (never returned), `a`
/// always returned, `q` returned on request.
fn attr(name: &str, kind: &str, flags: &str, description: &str) -> Value {
    let mutability = if flags.contains('o') {
        "readOnly"
    } else if flags.contains('w') {
        "writeOnly"
    } else {
        "readWrite"
    };
    let returned = if flags.contains('w') {
        "never"
    } else if flags.contains('q') {
        "request"
    } else if flags.contains('a') {
        "always"
    } else {
        "default"
    };
    let mut out = json!({
        "name": name,
        "type": kind,
        "multiValued": flags.contains('m'),
        "description": description,
        "required": flags.contains('r'),
        "mutability": mutability,
        "returned": returned,
    });
    if kind == "string" || kind == "reference" {
        out["caseExact"] = json!(flags.contains('x'));
        out["uniqueness"] = json!(if flags.contains('u') {
            "server"
        } else {
            "none"
        });
    }
    out
}

/// A reference attribute to resources of `types` (`User`, `Group`, `external`).
fn reference(name: &str, flags: &str, description: &str, types: &[&str]) -> Value {
    let mut out = attr(name, "reference", flags, description);
    out["referenceTypes"] = json!(types);
    out
}

fn complex(name: &str, flags: &str, description: &str, subs: Vec<Value>) -> Value {
    let mut out = attr(name, "complex", flags, description);
    out["subAttributes"] = Value::Array(subs);
    out
}

/// A multi-valued attribute's usual sub-attributes (`value`, `display`, `type`, `primary`).
fn multi(name: &str, description: &str, types: &[&str]) -> Value {
    let mut kind = attr(
        "type",
        "string",
        "",
        "A label indicating the attribute's function.",
    );
    if !types.is_empty() {
        kind["canonicalValues"] = json!(types);
    }
    complex(
        name,
        "m",
        description,
        vec![
            attr("value", "string", "", "The value."),
            attr("display", "string", "", "A human-readable name."),
            kind,
            attr(
                "primary",
                "boolean",
                "",
                "Whether this is the primary value.",
            ),
        ],
    )
}

fn schema_resource(
    id: &str,
    name: &str,
    description: &str,
    attributes: Vec<Value>,
    base: &str,
) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")},
    })
}

fn user_schema(base: &str) -> Value {
    let mut attributes = vec![
        attr(
            "userName",
            "string",
            "ru",
            "Unique per workspace, case-insensitively.",
        ),
        name_attribute(),
        attr(
            "displayName",
            "string",
            "",
            "The name shown for the user (Roster's name).",
        ),
    ];
    attributes.extend(
        [
            "nickName",
            "profileUrl",
            "title",
            "userType",
            "preferredLanguage",
            "locale",
            "timezone",
        ]
        .iter()
        .map(|n| match *n {
            "profileUrl" => reference(n, "", "Kept as sent.", &["external"]),
            _ => attr(n, "string", "", "Kept as sent."),
        }),
    );
    attributes.extend([
        attr(
            "active",
            "boolean",
            "",
            "false deactivates the user: its sessions end.",
        ),
        attr(
            "password",
            "string",
            "w",
            "Sets the user's password (checked against the workspace's policy).",
        ),
        multi(
            "emails",
            "Email addresses; the primary (else the first) is the user's email.",
            &["work", "home", "other"],
        ),
        multi(
            "phoneNumbers",
            "Phone numbers.",
            &["work", "home", "mobile", "fax", "pager", "other"],
        ),
        multi("ims", "Instant messaging addresses.", &[]),
        multi("photos", "Photo URLs.", &["photo", "thumbnail"]),
        addresses_attribute(),
        groups_attribute(),
        multi("entitlements", "Entitlements.", &[]),
        multi(
            "roles",
            "Roles, kept as sent (Roster's role is set on /v1).",
            &[],
        ),
        multi("x509Certificates", "Certificates.", &[]),
    ]);
    schema_resource(USER_SCHEMA, "User", "User Account", attributes, base)
}

fn name_attribute() -> Value {
    complex(
        "name",
        "",
        "The user's name.",
        [
            "formatted",
            "familyName",
            "givenName",
            "middleName",
            "honorificPrefix",
            "honorificSuffix",
        ]
        .iter()
        .map(|n| attr(n, "string", "", "A part of the name."))
        .collect(),
    )
}

fn addresses_attribute() -> Value {
    complex(
        "addresses",
        "m",
        "Physical addresses.",
        [
            "formatted",
            "streetAddress",
            "locality",
            "region",
            "postalCode",
            "country",
            "type",
        ]
        .iter()
        .map(|n| attr(n, "string", "", "A part of the address."))
        .chain([attr(
            "primary",
            "boolean",
            "",
            "Whether this is the primary address.",
        )])
        .collect(),
    )
}

fn groups_attribute() -> Value {
    complex(
        "groups",
        "mo",
        "The groups the user belongs to (read-only; change them through Groups).",
        vec![
            attr("value", "string", "o", "The group's id."),
            reference("$ref", "o", "The group's URI.", &["Group"]),
            attr("display", "string", "o", "The group's name."),
            attr("type", "string", "o", "direct."),
        ],
    )
}

fn group_schema(base: &str) -> Value {
    let members = complex(
        "members",
        "m",
        "The group's members (users).",
        vec![
            attr("value", "string", "x", "The member's id."),
            reference(
                "$ref",
                "",
                "The member's URI (a user's; Roster's groups hold users).",
                &["User"],
            ),
            attr(
                "display",
                "string",
                "oq",
                "The member's name (returned on request).",
            ),
            attr("type", "string", "oq", "User (returned on request)."),
        ],
    );
    schema_resource(
        GROUP_SCHEMA,
        "Group",
        "Group",
        vec![
            attr(
                "displayName",
                "string",
                "ru",
                "Unique per workspace, case-insensitively.",
            ),
            members,
        ],
        base,
    )
}

fn enterprise_schema(base: &str) -> Value {
    let mut attributes: Vec<Value> = [
        "employeeNumber",
        "costCenter",
        "organization",
        "division",
        "department",
    ]
    .iter()
    .map(|n| attr(n, "string", "", "Kept as sent."))
    .collect();
    attributes.push(complex(
        "manager",
        "",
        "The user's manager.",
        vec![
            attr("value", "string", "", "The manager's id."),
            reference("$ref", "", "The manager's URI.", &["User"]),
            attr("displayName", "string", "o", "The manager's name."),
        ],
    ));
    schema_resource(
        ENTERPRISE_SCHEMA,
        "EnterpriseUser",
        "Enterprise User",
        attributes,
        base,
    )
}

fn all_schemas(base: &str) -> Vec<Value> {
    vec![
        user_schema(base),
        group_schema(base),
        enterprise_schema(base),
    ]
}
