//! SCIM 2.0 through the real router on SQLite and PostgreSQL: Okta's and Entra ID's requests
//! replayed from fixtures transcribed from their documentation, a SCIM user seen by every
//! other surface, deactivation ending sessions, bad input answered with its `scimType`,
//! versions, bulk, paging, and a group PATCH of thousands of members in one transaction.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

mod common;

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{App, Reply};
use roster_core::{AuditContext, NewUser};
use serde_json::{json, Value};

on_both_stores!(
    okta_requests_get_their_documented_answers,
    entra_id_requests_get_their_documented_answers,
    a_scim_user_shows_through_every_surface,
    a_scim_deactivation_ends_the_users_sessions,
    bad_input_gets_its_scim_type,
    versions_guard_reads_and_writes,
    bulk_resolves_bulk_ids_and_stops_after_errors,
    lists_filter_sort_and_page_by_index_and_cursor,
    thousands_of_members_change_in_one_transaction,
);

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

async fn scim(app: &App, method: Method, uri: &str, body: Option<Value>) -> Reply {
    scim_with(app, method, uri, body, &[]).await
}

async fn scim_with(
    app: &App,
    method: Method,
    uri: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Reply {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {}", app.key))
        .header(header::CONTENT_TYPE, "application/scim+json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    let reply = app.send(request.body(body).unwrap()).await;
    if reply.status != StatusCode::NO_CONTENT && reply.status != StatusCode::NOT_MODIFIED {
        assert_eq!(
            reply.headers[header::CONTENT_TYPE],
            "application/scim+json",
            "{uri}"
        );
    }
    reply
}

async fn create_user(app: &App, user_name: &str) -> Value {
    let reply = scim(
        app,
        Method::POST,
        "/scim/v2/Users",
        Some(json!({"schemas": [USER_SCHEMA], "userName": user_name,
                    "emails": [{"value": user_name, "type": "work", "primary": true}],
                    "name": {"givenName": "Ann", "familyName": "Lee"}})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body
}

/// Whether every key of `expected` has the same value in `actual` (arrays element by
/// element, of the same length).
fn contains(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => e
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|av| contains(av, v))),
        (Value::Array(a), Value::Array(e)) => {
            a.len() == e.len() && a.iter().zip(e).all(|(av, ev)| contains(av, ev))
        }
        (a, e) => a == e,
    }
}

fn fill(text: &str, captured: &HashMap<String, String>) -> String {
    captured
        .iter()
        .fold(text.to_owned(), |text, (name, value)| {
            text.replace(&format!("{{{{{name}}}}}"), value)
        })
}

/// Replay a fixture file's steps, each answer checked against its expectation.
async fn replay(app: &App, file: &str) {
    let text = std::fs::read_to_string(format!(
        "{}/tests/scim_fixtures/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let fixture: Value = serde_json::from_str(&text).unwrap();
    let mut captured: HashMap<String, String> = HashMap::new();
    for step in fixture["steps"].as_array().unwrap() {
        let name = step["name"].as_str().unwrap();
        let method = Method::from_bytes(step["method"].as_str().unwrap().as_bytes()).unwrap();
        let path = fill(step["path"].as_str().unwrap(), &captured);
        let body = step
            .get("body")
            .map(|b| serde_json::from_str(&fill(&b.to_string(), &captured)).unwrap());
        let reply = scim(app, method, &path, body).await;
        assert_eq!(
            reply.status.as_u16(),
            step["status"].as_u64().unwrap() as u16,
            "{file}: {name}: {}",
            reply.body
        );
        if let Some(expected) = step.get("expect") {
            let expected: Value =
                serde_json::from_str(&fill(&expected.to_string(), &captured)).unwrap();
            assert!(
                contains(&reply.body, &expected),
                "{file}: {name}:\n got {}\n want {expected}",
                reply.body
            );
        }
        for absent in step["absent"].as_array().into_iter().flatten() {
            assert!(
                reply.body.get(absent.as_str().unwrap()).is_none(),
                "{file}: {name}"
            );
        }
        for absent in step["absent_in_first_resource"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert!(
                reply.body["Resources"][0]
                    .get(absent.as_str().unwrap())
                    .is_none(),
                "{file}: {name}: {}",
                reply.body
            );
        }
        for (key, field) in step["capture"].as_object().into_iter().flatten() {
            let value = reply.body[field.as_str().unwrap()].as_str().unwrap();
            captured.insert(key.clone(), value.to_owned());
        }
    }
}

async fn okta_requests_get_their_documented_answers(app: App) {
    replay(&app, "okta.json").await;
}

async fn entra_id_requests_get_their_documented_answers(app: App) {
    replay(&app, "entra.json").await;
}

async fn a_scim_user_shows_through_every_surface(app: App) {
    let made = scim(
        &app,
        Method::POST,
        "/scim/v2/Users",
        Some(json!({"userName": "ann.lee@corp.example", "externalId": "okta-1", "active": true,
                    "emails": [{"value": "ann@example.com", "primary": true}],
                    "name": {"givenName": "Ann", "familyName": "Lee"},
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"}})),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let id = made.body["id"].as_str().unwrap();
    let native = app
        .call(Method::GET, &format!("/v1/users/{id}"), None)
        .await;
    assert_eq!(
        (
            native.body["user_name"].as_str(),
            native.body["email"].as_str(),
            native.body["status"].as_str(),
            native.body["external_id"].as_str(),
        ),
        (
            Some("ann.lee@corp.example"),
            Some("ann@example.com"),
            Some("active"),
            Some("okta-1")
        )
    );
    assert_eq!(
        native.body["attributes"]["scim"]
            ["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
        "Sales"
    );
    let ws = app.roster.find_workspace("default").await.unwrap();
    let user = app.roster.get_user(&ws, id).await.unwrap();
    let human_id = user.uuid.simple().to_string();
    let s000 = app
        .call(Method::GET, &format!("/api/v1/users/{human_id}"), None)
        .await;
    assert_eq!(s000.body["clientUserId"], "okta-1", "{}", s000.body);
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{}:", app.key),
    );
    let s001 = app
        .send(
            Request::builder()
                .uri(format!("/v1/apps/{}/users/{human_id}", ws.id))
                .header(header::AUTHORIZATION, format!("Basic {basic}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s001.body["externalId"], "okta-1", "{}", s001.body);
    let s003 = app
        .send(
            Request::builder()
                .uri("/users/get_user.json/?email=ann@example.com")
                .header("X-Holistics-Key", &app.key)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s003.body["id"], user.key, "{}", s003.body);
    let s004 = app
        .send(
            Request::builder()
                .uri("/integration-api/v1/dashboard/users?email=ann@example.com")
                .header("X-User-Token", &app.key)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(
        s004.body.to_string().contains(&user.uuid.to_string()),
        "{}",
        s004.body
    );
}

async fn a_scim_deactivation_ends_the_users_sessions(app: App) {
    let made = scim(
        &app,
        Method::POST,
        "/scim/v2/Users",
        Some(json!({"userName": "ann@example.com", "password": "correct horse battery"})),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert!(made.body.get("password").is_none());
    let signed_in = app
        .call(
            Method::POST,
            "/v1/sessions",
            Some(json!({"email": "ann@example.com", "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::CREATED, "{}", signed_in.body);
    let token = signed_in.body["token"].as_str().unwrap().to_owned();
    assert_eq!(current(&app, &token).await, StatusCode::OK);
    let id = made.body["id"].as_str().unwrap();
    let off = scim(
        &app,
        Method::PATCH,
        &format!("/scim/v2/Users/{id}"),
        Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]})),
    )
    .await;
    assert_eq!(
        (off.status, &off.body["active"]),
        (StatusCode::OK, &json!(false))
    );
    assert_eq!(current(&app, &token).await, StatusCode::UNAUTHORIZED);
    let native = app
        .call(Method::GET, &format!("/v1/users/{id}"), None)
        .await;
    assert_eq!(native.body["status"], "inactive");
}

async fn current(app: &App, token: &str) -> StatusCode {
    app.call_as(Some(token), Method::GET, "/v1/sessions/current", None)
        .await
        .status
}

#[track_caller]
fn assert_scim_error(reply: &Reply, status: StatusCode, scim_type: Option<&str>) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(
        reply.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(reply.body["status"], status.as_u16().to_string());
    assert_eq!(reply.body["scimType"].as_str(), scim_type, "{}", reply.body);
    assert!(reply.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

async fn bad_input_gets_its_scim_type(app: App) {
    let user = create_user(&app, "ann@example.com").await;
    let at = format!("/scim/v2/Users/{}", user["id"].as_str().unwrap());
    for filter in [
        "userName%20eq",
        "userName%20xx%20%22a%22",
        "nickName%20eq%20%22a%22",
        "((userName%20pr",
    ] {
        let reply = scim(
            &app,
            Method::GET,
            &format!("/scim/v2/Users?filter={filter}"),
            None,
        )
        .await;
        assert_scim_error(&reply, StatusCode::BAD_REQUEST, Some("invalidFilter"));
    }
    for (operations, scim_type) in [
        (
            json!([{"op": "replace", "path": "emails[type eq", "value": "x"}]),
            "invalidPath",
        ),
        (
            json!([{"op": "replace", "path": "favouriteColour", "value": "x"}]),
            "invalidPath",
        ),
        (
            json!([{"op": "replace", "path": "id", "value": "x"}]),
            "mutability",
        ),
        (json!([{"op": "remove"}]), "noTarget"),
        (
            json!([{"op": "replace", "path": "emails[type eq \"work\" or type eq \"home\"].value", "value": "b@x.io"}]),
            "noTarget",
        ),
        (
            json!([{"op": "replace", "path": "active", "value": "maybe"}]),
            "invalidValue",
        ),
    ] {
        let body = json!({"schemas": [PATCH_OP], "Operations": operations});
        let reply = scim(&app, Method::PATCH, &at, Some(body)).await;
        // `emails[type eq "work" or …]` matches the work email, so that one is a change.
        if reply.status == StatusCode::OK {
            continue;
        }
        assert_scim_error(&reply, StatusCode::BAD_REQUEST, Some(scim_type));
    }
    let stale = scim_with(
        &app,
        Method::PUT,
        &at,
        Some(json!({"userName": "ann@example.com"})),
        &[("If-Match", "W/\"99\"")],
    )
    .await;
    assert_scim_error(&stale, StatusCode::PRECONDITION_FAILED, None);
    let taken = scim(
        &app,
        Method::POST,
        "/scim/v2/Users",
        Some(json!({"userName": "ANN@example.com"})),
    )
    .await;
    assert_scim_error(&taken, StatusCode::CONFLICT, Some("uniqueness"));
    let reply = app
        .call_raw(Method::POST, "/scim/v2/Users", Some("{not json".into()))
        .await;
    assert_scim_error(&reply, StatusCode::BAD_REQUEST, Some("invalidSyntax"));
    let anonymous = app.call_as(None, Method::GET, "/scim/v2/Users", None).await;
    assert_scim_error(&anonymous, StatusCode::UNAUTHORIZED, None);
    let reader = app.key_with(&["users:read"]).await;
    let refused = app
        .call_as(Some(&reader), Method::GET, "/scim/v2/Users", None)
        .await;
    assert_scim_error(&refused, StatusCode::FORBIDDEN, None);
    let scim_key = app.key_with(&["scim"]).await;
    let allowed = app
        .call_as(Some(&scim_key), Method::GET, "/scim/v2/Users", None)
        .await;
    assert_eq!(allowed.status, StatusCode::OK);
    let native = app
        .call_as(Some(&scim_key), Method::GET, "/v1/users", None)
        .await;
    assert_eq!(
        native.status,
        StatusCode::FORBIDDEN,
        "the scim scope is SCIM's only"
    );
    let search = json!({"filter": "userName eq \"a\\u0000b\""});
    let reply = scim(&app, Method::POST, "/scim/v2/Users/.search", Some(search)).await;
    assert_scim_error(&reply, StatusCode::BAD_REQUEST, Some("invalidFilter"));
    let huge = json!({"userName": "big@example.com", "title": "x".repeat(1_100_000)});
    let reply = scim(&app, Method::POST, "/scim/v2/Users", Some(huge)).await;
    assert_scim_error(&reply, StatusCode::PAYLOAD_TOO_LARGE, None);
    let unknown = scim(&app, Method::GET, "/scim/v2/Widgets", None).await;
    assert_scim_error(&unknown, StatusCode::NOT_FOUND, None);
    let too_many: Vec<Value> = (0..1001)
        .map(|n| json!({"method": "DELETE", "path": format!("/Users/{n}")}))
        .collect();
    let reply = scim(
        &app,
        Method::POST,
        "/scim/v2/Bulk",
        Some(json!({"Operations": too_many})),
    )
    .await;
    assert_scim_error(&reply, StatusCode::PAYLOAD_TOO_LARGE, Some("tooMany"));
}

async fn versions_guard_reads_and_writes(app: App) {
    let user = create_user(&app, "ann@example.com").await;
    let at = format!("/scim/v2/Users/{}", user["id"].as_str().unwrap());
    let read = scim(&app, Method::GET, &at, None).await;
    let etag = read.headers[header::ETAG].to_str().unwrap().to_owned();
    assert_eq!(read.body["meta"]["version"], etag.as_str());
    let unchanged = scim_with(&app, Method::GET, &at, None, &[("If-None-Match", &etag)]).await;
    assert_eq!(unchanged.status, StatusCode::NOT_MODIFIED);
    let patch = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "Ann L"}]});
    let changed = scim_with(
        &app,
        Method::PATCH,
        &at,
        Some(patch.clone()),
        &[("If-Match", &etag)],
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let new_etag = changed.headers[header::ETAG].to_str().unwrap().to_owned();
    assert_ne!(new_etag, etag);
    let stale = scim_with(
        &app,
        Method::PATCH,
        &at,
        Some(patch),
        &[("If-Match", &etag)],
    )
    .await;
    assert_scim_error(&stale, StatusCode::PRECONDITION_FAILED, None);
    let stale = scim_with(&app, Method::DELETE, &at, None, &[("If-Match", &etag)]).await;
    assert_scim_error(&stale, StatusCode::PRECONDITION_FAILED, None);
    let deleted = scim_with(&app, Method::DELETE, &at, None, &[("If-Match", &new_etag)]).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_scim_error(
        &scim(&app, Method::GET, &at, None).await,
        StatusCode::NOT_FOUND,
        None,
    );
}

async fn bulk_resolves_bulk_ids_and_stops_after_errors(app: App) {
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "failOnErrors": 1, "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "ann", "data": {"userName": "ann@example.com"}},
        {"method": "POST", "path": "/Groups", "bulkId": "team", "data": {"displayName": "Team", "members": [{"value": "bulkId:ann"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "dup", "data": {"userName": "ANN@example.com"}},
        {"method": "POST", "path": "/Users", "bulkId": "never", "data": {"userName": "bob@example.com"}},
    ]});
    let reply = scim(&app, Method::POST, "/scim/v2/Bulk", Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let results = reply.body["Operations"].as_array().unwrap();
    assert_eq!(
        results.len(),
        3,
        "stopped after the first error: {}",
        reply.body
    );
    assert_eq!(
        results
            .iter()
            .map(|r| r["status"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["201", "201", "409"]
    );
    assert_eq!(results[2]["response"]["scimType"], "uniqueness");
    let group = scim(
        &app,
        Method::GET,
        results[1]["location"]
            .as_str()
            .unwrap()
            .trim_start_matches("http://localhost"),
        None,
    )
    .await;
    let ann = results[0]["location"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    assert_eq!(group.body["members"][0]["value"], ann, "{}", group.body);
    let bob = scim(
        &app,
        Method::GET,
        "/scim/v2/Users?filter=userName%20eq%20%22bob%40example.com%22",
        None,
    )
    .await;
    assert_eq!(bob.body["totalResults"], 0);
}

async fn lists_filter_sort_and_page_by_index_and_cursor(app: App) {
    for name in ["carol", "alice", "bob", "dave", "erin"] {
        create_user(&app, &format!("{name}@example.com")).await;
    }
    let page = scim(
        &app,
        Method::GET,
        "/scim/v2/Users?sortBy=userName&startIndex=2&count=2",
        None,
    )
    .await;
    let names = |body: &Value| {
        body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["userName"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&page.body), ["bob@example.com", "carol@example.com"]);
    assert_eq!(
        (
            page.body["totalResults"].as_u64(),
            page.body["startIndex"].as_u64(),
            page.body["itemsPerPage"].as_u64()
        ),
        (Some(5), Some(2), Some(2))
    );
    let mut seen = Vec::new();
    let mut uri = "/scim/v2/Users?sortBy=userName&sortOrder=descending&count=2&cursor=".to_owned();
    loop {
        let page = scim(&app, Method::GET, &uri, None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        seen.extend(names(&page.body));
        match page.body["nextCursor"].as_str() {
            Some(next) => {
                uri = format!(
                    "/scim/v2/Users?sortBy=userName&sortOrder=descending&count=2&cursor={next}"
                )
            }
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "erin@example.com",
            "dave@example.com",
            "carol@example.com",
            "bob@example.com",
            "alice@example.com"
        ]
    );
    let found = scim(&app, Method::GET, "/scim/v2/Users?filter=emails%5Btype%20eq%20%22work%22%20and%20value%20co%20%22ar%22%5D%20or%20userName%20sw%20%22ERI%22&attributes=userName", None).await;
    let mut got = names(&found.body);
    got.sort();
    assert_eq!(got, ["carol@example.com", "erin@example.com"]);
    assert!(
        found.body["Resources"][0].get("emails").is_none(),
        "{}",
        found.body
    );
    let search = scim(&app, Method::POST, "/scim/v2/Users/.search", Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName eq \"dave@example.com\"", "excludedAttributes": ["name"]}))).await;
    assert_eq!(
        (
            search.body["totalResults"].as_u64(),
            search.body["Resources"][0].get("name")
        ),
        (Some(1), None)
    );
    let counted = scim(&app, Method::GET, "/scim/v2/Users?count=0", None).await;
    assert_eq!(
        (
            counted.body["totalResults"].as_u64(),
            counted.body["Resources"].as_array().map(Vec::len)
        ),
        (Some(5), Some(0))
    );
}

async fn thousands_of_members_change_in_one_transaction(app: App) {
    let ws = app.roster.find_workspace("default").await.unwrap();
    let mut ids = Vec::new();
    for n in 0..2_000 {
        let user = app
            .roster
            .create_user(
                &ws,
                &AuditContext::operator(),
                NewUser {
                    name: Some(format!("U{n}")),
                    email: Some(format!("u{n}@example.com")),
                    role: Some("viewer".into()),
                    send_invitation: Some(false),
                    ..NewUser::default()
                },
            )
            .await
            .unwrap();
        ids.push(user.id);
    }
    let outsider = app
        .roster
        .create_user(
            &ws,
            &AuditContext::operator(),
            NewUser {
                name: Some("Outsider".into()),
                email: Some("outsider@example.com".into()),
                role: Some("viewer".into()),
                send_invitation: Some(false),
                ..NewUser::default()
            },
        )
        .await
        .unwrap();
    let group = scim(
        &app,
        Method::POST,
        "/scim/v2/Groups",
        Some(json!({"displayName": "Everyone"})),
    )
    .await;
    let at = format!("/scim/v2/Groups/{}", group.body["id"].as_str().unwrap());
    let events = app.roster.audit_event_count(&ws).await.unwrap();
    // One unknown member among 2,000: refused whole, nothing written.
    let mut members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    members.push(json!({"value": "usr_nobody"}));
    let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": members}]});
    let refused = scim(&app, Method::PATCH, &at, Some(body)).await;
    assert_scim_error(&refused, StatusCode::BAD_REQUEST, Some("invalidValue"));
    assert_eq!(app.roster.audit_event_count(&ws).await.unwrap(), events);
    members.pop();
    let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": members}]});
    let added = scim(
        &app,
        Method::PATCH,
        &format!("{at}?excludedAttributes=members"),
        Some(body),
    )
    .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert_eq!(
        app.roster.audit_event_count(&ws).await.unwrap(),
        events + 2_000
    );
    let read = scim(&app, Method::GET, &at, None).await;
    assert_eq!(read.body["members"].as_array().unwrap().len(), 2_000);
    // Adding members again and removing non-members write nothing and audit nothing.
    let again = json!({"schemas": [PATCH_OP], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": ids[0]}]},
        {"op": "remove", "path": format!("members[value eq \"{}\"]", outsider.id)}]});
    let reply = scim(
        &app,
        Method::PATCH,
        &format!("{at}?excludedAttributes=members"),
        Some(again),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        app.roster.audit_event_count(&ws).await.unwrap(),
        events + 2_000
    );
    let removals: Vec<Value> = ids[..1_500].iter().map(|id| json!({"value": id})).collect();
    let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "Remove", "path": "members", "value": removals}]});
    let removed = scim(&app, Method::PATCH, &at, Some(body)).await;
    assert_eq!(removed.body["members"].as_array().unwrap().len(), 500);
}
