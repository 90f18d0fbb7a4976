//! What the handlers check that the Rust types cannot say, stated in the OpenAPI document so
//! that generated clients and fuzzers know it: ranges, enums, lengths, formats, required
//! fields, the statuses every operation can answer, the session credential of
//! `/v1/sessions/current*`, and links between operations.
//!
//! Each rule names the schema property or parameter it constrains; [`apply`] fails (and so
//! the OpenAPI test fails) when one names something the document no longer has, so the
//! rules cannot drift from the handlers unnoticed. The limits come from the core's
//! constants, so they cannot disagree with the checks either.

use roster_core::{audit::Action, group, invitation, keys, listing, password, roles, user};
use serde_json::{json, Value};

/// Printable text: no control characters (C0, DEL, C1), as every text field requires.
const PRINTABLE: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$";
/// Printable text with at least one character that is not white space (trimmed, non-empty).
const PRINTABLE_NON_BLANK: &str =
    "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$";
/// Text that may also hold newlines and tabs (mail messages and templates).
const MULTILINE: &str = "^[^\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f]*$";
/// A role name.
const ROLE: &str = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$";
/// A role name, or nothing (a filter left empty is no filter).
const ROLE_OR_EMPTY: &str = "^([A-Za-z0-9][A-Za-z0-9_.-]{0,63})?$";
/// A workspace name.
const WORKSPACE: &str = "^[a-z0-9][a-z0-9_-]{0,63}$";

fn text(max: usize) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": PRINTABLE_NON_BLANK})
}

fn optional_text(max: usize) -> Value {
    json!({"type": ["string", "null"], "maxLength": max, "pattern": PRINTABLE})
}

/// An external id: null, or printable text that is not blank.
fn external_id() -> Value {
    json!({"type": ["string", "null"], "minLength": 1, "maxLength": user::MAX_EXTERNAL_ID_CHARS,
           "pattern": PRINTABLE_NON_BLANK})
}

/// A user name: null (the default, or left alone), or printable text that is not blank.
fn user_name() -> Value {
    json!({"type": ["string", "null"], "minLength": 1, "maxLength": user::MAX_USER_NAME_CHARS,
           "pattern": PRINTABLE_NON_BLANK})
}

fn email() -> Value {
    json!({"type": "string", "format": "email", "minLength": 3, "maxLength": user::MAX_EMAIL_CHARS})
}

fn password() -> Value {
    json!({"type": "string", "minLength": password::MIN_PASSWORD_CHARS,
           "maxLength": password::MAX_PASSWORD_BYTES,
           "description": "8 characters (or the workspace's minimum) to 1,024 bytes."})
}

fn rate_limit(nullable: bool) -> Value {
    let kind = if nullable {
        json!(["integer", "null"])
    } else {
        json!("integer")
    };
    json!({"type": kind, "minimum": 1, "maximum": keys::MAX_RATE_LIMIT_PER_MINUTE})
}

fn sessions_limit() -> Value {
    json!({"type": ["integer", "null"], "minimum": 1, "maximum": user::MAX_SESSIONS_LIMIT})
}

fn scopes() -> Value {
    json!({"type": ["array", "null"], "minItems": 1, "description": "null: the default scopes (users:read and users:write) when creating, unchanged when updating.",
           "items": {"type": "string", "enum": ["users:read", "users:write", "audit:read",
                                                  "credentials:manage", "scim", "admin"]}})
}

/// A time filter: RFC 3339, or a date (its midnight, UTC); empty is no filter.
fn time_filter() -> Value {
    json!({"type": "string", "anyOf": [{"format": "date-time"}, {"format": "date"}, {"maxLength": 0}]})
}

/// An audit action, or empty for any.
fn actions() -> Value {
    let mut names: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
    names.push("");
    json!({"type": "string", "enum": names})
}

/// `(schema, property, rule)`: the property's schema is replaced by the rule.
fn properties() -> Vec<(&'static str, &'static str, Value)> {
    let mut all = user_properties();
    all.extend(group_and_session_properties());
    all.extend(settings_properties());
    all.extend(credential_properties());
    all
}

/// The user bodies' properties.
fn user_properties() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("CreateUser", "name", text(user::MAX_NAME_CHARS)),
        ("CreateUser", "email", email()),
        (
            "CreateUser",
            "role",
            json!({"type": "string", "pattern": ROLE}),
        ),
        ("CreateUser", "external_id", external_id()),
        ("CreateUser", "user_name", user_name()),
        (
            "CreateUser",
            "given_name",
            optional_text(user::MAX_PART_NAME_CHARS),
        ),
        (
            "CreateUser",
            "family_name",
            optional_text(user::MAX_PART_NAME_CHARS),
        ),
        (
            "CreateUser",
            "message",
            json!({"type": ["string", "null"], "maxLength": invitation::MAX_MESSAGE_CHARS, "pattern": MULTILINE}),
        ),
        ("CreateUser", "password", password()),
        ("CreateUser", "sessions_limit", sessions_limit()),
        ("UpdateUser", "name", text(user::MAX_NAME_CHARS)),
        ("UpdateUser", "email", email()),
        (
            "UpdateUser",
            "role",
            json!({"type": "string", "pattern": ROLE}),
        ),
        (
            "UpdateUser",
            "status",
            json!({"type": "string", "enum": ["active", "inactive"]}),
        ),
        ("UpdateUser", "external_id", external_id()),
        ("UpdateUser", "user_name", user_name()),
        (
            "UpdateUser",
            "given_name",
            optional_text(user::MAX_PART_NAME_CHARS),
        ),
        (
            "UpdateUser",
            "family_name",
            optional_text(user::MAX_PART_NAME_CHARS),
        ),
        ("UpdateUser", "sessions_limit", sessions_limit()),
        ("UpdateUser", "remove_groups", json!({"type": "boolean"})),
        (
            "UpdateUser",
            "allow_authentication_token",
            json!({"type": "boolean"}),
        ),
    ]
}

/// Groups', invitations' and sessions' properties.
fn group_and_session_properties() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("CreateGroup", "name", text(group::MAX_GROUP_NAME_CHARS)),
        (
            "CreateGroup",
            "description",
            json!({"type": ["string", "null"], "maxLength": group::MAX_DESCRIPTION_CHARS}),
        ),
        (
            "UpdateGroup",
            "name",
            json!({"type": ["string", "null"], "minLength": 1, "maxLength": group::MAX_GROUP_NAME_CHARS, "pattern": PRINTABLE_NON_BLANK, "description": "null leaves the name as it is."}),
        ),
        (
            "UpdateGroup",
            "description",
            json!({"type": ["string", "null"], "maxLength": group::MAX_DESCRIPTION_CHARS}),
        ),
        (
            "PutMember",
            "expires_at",
            json!({"type": ["string", "null"], "format": "date-time", "description": "In the future."}),
        ),
        (
            "InvitationRequest",
            "message",
            json!({"type": ["string", "null"], "maxLength": invitation::MAX_MESSAGE_CHARS, "pattern": MULTILINE}),
        ),
        (
            "AcceptInvitation",
            "token",
            json!({"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9_-]+$"}),
        ),
        ("AcceptInvitation", "name", text(user::MAX_NAME_CHARS)),
        ("AcceptInvitation", "password", password()),
        (
            "SignInBody",
            "email",
            json!({"type": "string", "minLength": 1, "maxLength": user::MAX_EMAIL_CHARS}),
        ),
        (
            "SignInBody",
            "external_id",
            json!({"type": "string", "minLength": 1, "maxLength": user::MAX_EXTERNAL_ID_CHARS}),
        ),
        (
            "SignInBody",
            "password",
            json!({"type": "string", "minLength": 1, "maxLength": password::MAX_PASSWORD_BYTES}),
        ),
        (
            "SignInBody",
            "ip",
            json!({"type": ["string", "null"], "maxLength": 64}),
        ),
        (
            "SignInBody",
            "user_agent",
            json!({"type": ["string", "null"], "maxLength": 512}),
        ),
        ("PasswordBody", "password", password()),
    ]
}

/// The workspace settings' properties.
fn settings_properties() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "AuthSettingsBody",
            "min_password_length",
            json!({"type": ["integer", "null"], "minimum": 8, "maximum": 128}),
        ),
        (
            "AuthSettingsBody",
            "check_common_passwords",
            json!({"type": ["boolean", "null"]}),
        ),
        (
            "AuthSettingsBody",
            "session_idle_minutes",
            json!({"type": ["integer", "null"], "minimum": 5, "maximum": 129_600}),
        ),
        (
            "AuthSettingsBody",
            "session_lifetime_hours",
            json!({"type": ["integer", "null"], "minimum": 1, "maximum": 8_760, "description": "Not shorter than session_idle_minutes."}),
        ),
        (
            "AuthSettingsBody",
            "session_limit_policy",
            json!({"type": ["string", "null"], "enum": ["evict_oldest", "refuse", null]}),
        ),
        (
            "Roles",
            "roles",
            json!({"type": "array", "minItems": 1, "maxItems": roles::MAX_ROLES, "uniqueItems": true, "items": {"type": "string", "pattern": ROLE}}),
        ),
        (
            "InvitationSettingsBody",
            "expiry_hours",
            json!({"type": ["integer", "null"], "minimum": 1, "maximum": invitation::MAX_EXPIRY_HOURS}),
        ),
        (
            "InvitationSettingsBody",
            "subject",
            json!({"type": ["string", "null"], "minLength": 1, "maxLength": invitation::MAX_SUBJECT_CHARS, "pattern": PRINTABLE_NON_BLANK, "description": "Placeholders: {{name}} {{email}} {{workspace}} {{token}} {{message}} {{expires_at}}."}),
        ),
        (
            "InvitationSettingsBody",
            "text",
            json!({"type": ["string", "null"], "maxLength": invitation::MAX_TEXT_CHARS, "pattern": "\\{\\{token\\}\\}", "description": "Must hold {{token}}; the placeholders of subject."}),
        ),
    ]
}

/// Keys', clients', workspaces' and tokens' properties.
fn credential_properties() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "CreateApiKey",
            "name",
            json!({"type": ["string", "null"], "maxLength": 100, "pattern": PRINTABLE}),
        ),
        ("CreateApiKey", "scopes", scopes()),
        (
            "CreateApiKey",
            "expires_at",
            json!({"type": ["string", "null"], "format": "date-time", "description": "In the future."}),
        ),
        ("CreateApiKey", "rate_limit_per_minute", rate_limit(true)),
        (
            "CreateApiClient",
            "name",
            json!({"type": ["string", "null"], "maxLength": 100, "pattern": PRINTABLE}),
        ),
        ("CreateApiClient", "scopes", scopes()),
        (
            "CreateApiClient",
            "admin_api_enabled",
            json!({"type": ["boolean", "null"]}),
        ),
        ("CreateApiClient", "rate_limit_per_minute", rate_limit(true)),
        (
            "UpdateApiClient",
            "name",
            json!({"type": ["string", "null"], "maxLength": 100, "pattern": PRINTABLE}),
        ),
        ("UpdateApiClient", "scopes", scopes()),
        (
            "UpdateApiClient",
            "admin_api_enabled",
            json!({"type": ["boolean", "null"]}),
        ),
        ("UpdateApiClient", "rate_limit_per_minute", rate_limit(true)),
        (
            "CreateWorkspace",
            "name",
            json!({"type": "string", "pattern": WORKSPACE}),
        ),
        ("CreateWorkspace", "rate_limit_per_minute", rate_limit(true)),
        ("UpdateWorkspace", "rate_limit_per_minute", rate_limit(true)),
        (
            "UpdateWorkspace",
            "audit_retention_days",
            json!({"type": ["integer", "null"], "minimum": 1, "maximum": roster_core::audit_log::MAX_RETENTION_DAYS}),
        ),
        (
            "TokenRequestBody",
            "client_id",
            json!({"type": "string", "minLength": 1, "maxLength": 64, "pattern": PRINTABLE_NON_BLANK}),
        ),
        (
            "TokenRequestBody",
            "client_secret",
            json!({"type": "string", "minLength": 1, "maxLength": 256, "pattern": PRINTABLE_NON_BLANK}),
        ),
        (
            "TokenRequestBody",
            "type",
            json!({"type": "string", "enum": ["client"]}),
        ),
    ]
}

/// `(schema, required properties)`.
fn required() -> Vec<(&'static str, &'static [&'static str])> {
    vec![
        ("CreateUser", &["name", "email", "role"]),
        ("CreateGroup", &["name"]),
        ("AcceptInvitation", &["token"]),
        ("SignInBody", &["password"]),
        ("PasswordBody", &["password"]),
        ("Roles", &["roles"]),
        ("CreateApiKey", &["scopes"]),
        ("CreateWorkspace", &["name"]),
        ("TokenRequestBody", &["client_id", "client_secret", "type"]),
    ]
}

/// `(schema, keyword, value)`: whole-schema rules, beyond single properties.
fn schema_rules() -> Vec<(&'static str, &'static str, Value)> {
    vec![(
        "SignInBody",
        "anyOf",
        json!([{"required": ["email"]}, {"required": ["external_id"]}]),
    )]
}

/// `(path or "*", parameter, rule, required)`.
fn parameters() -> Vec<(&'static str, &'static str, Value, bool)> {
    let limit = json!({"type": "integer", "minimum": 1, "maximum": listing::MAX_LIMIT, "default": listing::DEFAULT_LIMIT});
    // An empty filter is no filter.
    let user_status = json!({"type": "string", "enum": ["invited", "active", "inactive", ""]});
    let format = json!({"type": "string", "enum": ["ndjson", "csv"]});
    let search = json!({"type": "string", "anyOf": [
        {"minLength": listing::MIN_SEARCH_CHARS, "maxLength": listing::MAX_SEARCH_CHARS},
        {"maxLength": 0}]});
    vec![
        ("*", "limit", limit, false),
        ("/v1/users", "status", user_status.clone(), false),
        ("/v1/users", "search", search.clone(), false),
        ("/v1/users", "q", search, false),
        (
            "/v1/users",
            "email",
            json!({"type": "string", "description": "Exact email address (case-insensitive); empty for none."}),
            false,
        ),
        (
            "/v1/users",
            "role",
            json!({"type": "string", "pattern": ROLE_OR_EMPTY}),
            false,
        ),
        ("/v1/users/export", "status", user_status, false),
        (
            "/v1/users/export",
            "role",
            json!({"type": "string", "pattern": ROLE_OR_EMPTY}),
            false,
        ),
        ("/v1/users/export", "format", format.clone(), false),
        ("/v1/users/import", "format", format.clone(), false),
        ("/v1/users/lookup", "email", email(), true),
        ("/v1/users/email-taken", "email", email(), true),
        (
            "/v1/outbox",
            "status",
            json!({"type": "string", "enum": ["pending", "sent", "failed", "withdrawn", ""]}),
            false,
        ),
        ("/v1/audit-logs", "action", actions(), false),
        ("/v1/audit-logs", "start_time", time_filter(), false),
        ("/v1/audit-logs", "end_time", time_filter(), false),
        ("/v1/audit-logs/export", "action", actions(), false),
        ("/v1/audit-logs/export", "start_time", time_filter(), false),
        ("/v1/audit-logs/export", "end_time", time_filter(), false),
        ("/v1/audit-logs/export", "format", format, false),
    ]
}

/// `(operation, link name, target operation id, parameters)`: what a created record's id
/// leads to.
fn links() -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Value,
)> {
    let user = json!({"id": "$response.body#/id"});
    let group = json!({"id": "$response.body#/id"});
    let client = json!({"client_id": "$response.body#/client_id"});
    vec![
        ("/v1/users", "post", "201", "GetUser", user.clone()),
        ("/v1/users", "post", "201", "UpdateUser", user.clone()),
        ("/v1/users", "post", "201", "DeleteUser", user),
        ("/v1/groups", "post", "201", "GetGroup", group.clone()),
        ("/v1/groups", "post", "201", "DeleteGroup", group),
        (
            "/v1/api-keys",
            "post",
            "201",
            "RevokeApiKey",
            json!({"id": "$response.body#/id"}),
        ),
        (
            "/v1/api-clients",
            "post",
            "201",
            "GetApiClient",
            client.clone(),
        ),
        ("/v1/api-clients", "post", "201", "RevokeApiClient", client),
    ]
}

/// `(path, method, operation id)` for the link targets.
const OPERATION_IDS: &[(&str, &str, &str)] = &[
    ("/v1/users/{id}", "get", "GetUser"),
    ("/v1/users/{id}", "patch", "UpdateUser"),
    ("/v1/users/{id}", "delete", "DeleteUser"),
    ("/v1/groups/{id}", "get", "GetGroup"),
    ("/v1/groups/{id}", "delete", "DeleteGroup"),
    ("/v1/api-keys/{id}", "delete", "RevokeApiKey"),
    ("/v1/api-clients/{client_id}", "get", "GetApiClient"),
    ("/v1/api-clients/{client_id}", "delete", "RevokeApiClient"),
];

/// Operations whose body may be left out.
const OPTIONAL_BODIES: &[(&str, &str)] = &[
    ("/v1/users/{id}/invitation", "post"),
    ("/v1/users/import", "post"),
];

/// The streamed files: what the export answers and what the import takes (any content type
/// but CSV is read as NDJSON, so plain text is NDJSON too).
fn files() -> Value {
    json!({
        "application/x-ndjson": {"schema": {"type": "string"}},
        "text/csv": {"schema": {"type": "string"}},
    })
}

/// Paths whose credential is a session or personal token, not a key.
const SESSION_PATHS: &[&str] = &["/v1/sessions/current", "/v1/sessions/current/token"];

fn error_response(description: &str) -> Value {
    json!({"description": description,
           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}})
}

/// Apply every rule to `doc`. A rule that names something `doc` lacks is an error.
pub fn apply(doc: &mut Value) -> Result<(), String> {
    apply_to_schemas(doc)?;
    apply_to_paths(doc)?;
    add_common_responses(doc)?;
    let schemes = doc
        .pointer_mut("/components/securitySchemes")
        .and_then(Value::as_object_mut)
        .ok_or("the document has no security schemes")?;
    schemes.insert(
        "session".into(),
        json!({"type": "http", "scheme": "bearer", "bearerFormat": "ses_… or pat_…",
               "description": "A session token from POST /v1/sessions, or a personal token."}),
    );
    Ok(())
}

/// Property rules, required properties and schema keywords.
fn apply_to_schemas(doc: &mut Value) -> Result<(), String> {
    let schemas = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
        .ok_or("the document has no schemas")?;
    for (schema, property, rule) in properties() {
        let slot = schemas
            .get_mut(schema)
            .and_then(|s| s.pointer_mut(&format!("/properties/{property}")))
            .ok_or_else(|| format!("no property {schema}.{property}"))?;
        let description = slot.get("description").cloned();
        *slot = rule;
        if let (Some(description), Some(map)) = (description, slot.as_object_mut()) {
            map.entry("description").or_insert(description);
        }
    }
    for (schema, names) in required() {
        let target = schemas
            .get_mut(schema)
            .and_then(Value::as_object_mut)
            .ok_or_else(|| format!("no schema {schema}"))?;
        target.insert("required".into(), json!(names));
    }
    for (schema, keyword, value) in schema_rules() {
        let target = schemas
            .get_mut(schema)
            .and_then(Value::as_object_mut)
            .ok_or_else(|| format!("no schema {schema}"))?;
        target.insert(keyword.into(), value);
    }
    Ok(())
}

/// Query parameters, operation ids, optional bodies, file bodies and links.
fn apply_to_paths(doc: &mut Value) -> Result<(), String> {
    let paths = doc
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .ok_or("the document has no paths")?;
    for (path, rule_name, rule, is_required) in parameters() {
        let mut hit = false;
        for (at, item) in paths.iter_mut() {
            if path != "*" && path != at {
                continue;
            }
            for operation in operations(item) {
                for parameter in parameters_of(operation) {
                    if parameter.get("name") == Some(&json!(rule_name))
                        && parameter.get("in") == Some(&json!("query"))
                    {
                        parameter["schema"] = rule.clone();
                        parameter["required"] = json!(is_required);
                        hit = true;
                    }
                }
            }
        }
        if !hit {
            return Err(format!("no query parameter {rule_name} at {path}"));
        }
    }
    for (path, method, id) in OPERATION_IDS {
        let operation = paths
            .get_mut(*path)
            .and_then(|p| p.get_mut(*method))
            .ok_or_else(|| format!("no operation {method} {path}"))?;
        operation["operationId"] = json!(id);
    }
    for (path, method) in OPTIONAL_BODIES {
        let body = paths
            .get_mut(*path)
            .and_then(|p| p.get_mut(*method))
            .and_then(|o| o.get_mut("requestBody"))
            .ok_or_else(|| format!("no request body of {method} {path}"))?;
        body["required"] = json!(false);
    }
    for path in ["/v1/users/export", "/v1/audit-logs/export"] {
        let ok = paths
            .get_mut(path)
            .and_then(|p| p.pointer_mut("/get/responses/200"))
            .ok_or_else(|| format!("no 200 of get {path}"))?;
        ok["content"] = files();
    }
    let import = paths
        .get_mut("/v1/users/import")
        .and_then(|p| p.pointer_mut("/post/requestBody"))
        .ok_or("no request body of the import")?;
    let mut taken = files();
    taken["text/plain"] = json!({"schema": {"type": "string"}});
    import["content"] = taken;
    for (path, method, status, target, params) in links() {
        let response = paths
            .get_mut(path)
            .and_then(|p| p.get_mut(method))
            .and_then(|o| o.pointer_mut(&format!("/responses/{status}")))
            .ok_or_else(|| format!("no response {status} of {method} {path}"))?;
        response["links"][target] = json!({"operationId": target, "parameters": params});
    }
    Ok(())
}

/// The errors every operation may answer (guard refusals, rate limits, an unavailable
/// store; authentication for those with a credential), and the session scheme where it
/// applies.
fn add_common_responses(doc: &mut Value) -> Result<(), String> {
    let paths = doc
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .ok_or("the document has no paths")?;
    for (path, item) in paths.iter_mut() {
        let session = SESSION_PATHS.contains(&path.as_str());
        for operation in operations(item) {
            let open = operation.get("security").is_none();
            if session {
                operation["security"] = json!([{"session": []}]);
            }
            let responses = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
                .ok_or_else(|| format!("an operation of {path} has no responses"))?;
            let mut add = |status: &str, description: &str| {
                responses
                    .entry(status.to_owned())
                    .or_insert_with(|| error_response(description));
            };
            add("400", "Malformed input: a parameter, the path or the body");
            add("414", "The request URI is longer than 8 KiB");
            add("431", "The request headers are larger than 64 KiB");
            add("503", "The store is unavailable; retry later");
            add("413", "The request body is larger than 256 KiB");
            add(
                "408",
                "The request body paused for longer than the body timeout",
            );
            add(
                "429",
                "The credential's rate limit is used up, or this address failed too often; retry after Retry-After seconds",
            );
            if !open || session {
                add("401", "No credential, or one that is not valid");
            }
            if !open {
                add("403", "The credential lacks the scope");
            }
        }
    }
    Ok(())
}

fn operations(item: &mut Value) -> Vec<&mut Value> {
    match item.as_object_mut() {
        Some(map) => map
            .iter_mut()
            .filter(|(method, _)| {
                matches!(method.as_str(), "get" | "post" | "put" | "patch" | "delete")
            })
            .map(|(_, operation)| operation)
            .collect(),
        None => Vec::new(),
    }
}

fn parameters_of(operation: &mut Value) -> Vec<&mut Value> {
    match operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
    {
        Some(list) => list.iter_mut().collect(),
        None => Vec::new(),
    }
}
